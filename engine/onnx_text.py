"""Sentence-transformers text models exported to ONNX, run with onnxruntime and numpy only.

The ONNX file holds the transformer alone; pooling, the optional Dense projection and the
normalisation run here in numpy. They are cheap, and exporting them through sentence-transformers'
own ONNX path produces folders its loader cannot read back.

This module also holds the model-folder helpers shared with `engine.clip` (manifest, hashes,
sessions, tokenizer), so that module can import from here without a cycle.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from engine.encoders import l2_normalise
from engine.errors import ModelError

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1  # bump when the folder layout changes; older engines then refuse it
KIND_CLIP = "clip"
KIND_SENTENCE_TRANSFORMER = "sentence-transformer"
DEFAULT_THREADS = 2  # the bot shares two cores with the index and the Telegram loop
TEXT_BATCH = 64
HASH_CHUNK = 1 << 20
EXPORT_HINT = "rebuild it with `stickerbot export model clip|sentence-transformer SOURCE DIR`"

Manifest = dict[str, Any]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(folder: Path) -> Manifest:
    """The folder's manifest, after checking every listed file exists and matches its hash."""
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise ModelError(
            f"{folder}: no {MANIFEST_NAME}, not an exported model folder; {EXPORT_HINT}"
        )
    try:
        manifest: Manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelError(f"{path}: unreadable ({error}); {EXPORT_HINT}") from error
    if not isinstance(manifest, dict) or manifest.get("format_version") != MANIFEST_FORMAT:
        raise ModelError(f"{path}: not a format {MANIFEST_FORMAT} manifest; {EXPORT_HINT}")
    verify_files(folder, manifest)
    return manifest


def verify_files(folder: Path, manifest: Manifest) -> None:
    """Refuse a folder whose files went missing or changed since export (partial copy, edit)."""
    for name, expected in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            raise ModelError(f"{folder}: {name} is missing; {EXPORT_HINT}")
        if file_sha256(path) != expected:
            raise ModelError(f"{folder}: {name} does not match its manifest hash; {EXPORT_HINT}")


def session_options(threads: int) -> ort.SessionOptions:
    """Options of every session the engine opens: `threads` per run, on the CPU."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    # One request at a time per session: extra inter-op threads only fight the intra-op ones.
    options.inter_op_num_threads = 1
    # onnxruntime's own threads sleep when idle instead of spinning: on two cores a spinning
    # thread takes the core another query's thread is running on.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def open_session(path: Path, threads: int) -> ort.InferenceSession:
    options = session_options(threads)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def load_tokenizer(
    path: Path, max_length: int, pad_id: int, pad_token: str, pad_to_max: bool
) -> Tokenizer:
    """`tokenizers` copy of the export-time tokenizer, padded and truncated the same way."""
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(
        pad_id=pad_id, pad_token=pad_token, length=max_length if pad_to_max else None
    )
    return tokenizer


def tokenizer_from_manifest(folder: Path, manifest: Manifest, pad_to_max: bool) -> Tokenizer:
    spec = manifest["tokenizer"]
    return load_tokenizer(
        folder / spec["file"],
        int(manifest["max_length"]),
        int(spec["pad_id"]),
        str(spec["pad_token"]),
        pad_to_max,
    )


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Average of the token vectors the attention mask keeps (sentence-transformers' "mean")."""
    weights = mask.astype(np.float32)[..., None]
    summed = (hidden * weights).sum(axis=1)
    # Same floor as sentence-transformers, so an all-masked row gives zeros, not NaN.
    counts = np.clip(weights.sum(axis=1), 1e-9, None)
    return (summed / counts).astype(np.float32)


def cls_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.asarray(hidden[:, 0], dtype=np.float32)


POOLERS = {"mean": mean_pool, "cls": cls_pool}
ACTIVATIONS = {"identity": lambda x: x, "tanh": np.tanh}


class OnnxTextModel:
    """A sentence-transformers text encoder exported by `export.onnx_sentence`."""

    def __init__(self, folder: Path, manifest: Manifest, threads: int = DEFAULT_THREADS) -> None:
        pipeline = manifest["text_pipeline"]
        if pipeline["pooling"] not in POOLERS:
            raise ModelError(
                f"{folder}: pooling {pipeline['pooling']!r} is not supported; "
                "export a model with mean or cls pooling"
            )
        self.folder = folder
        self.name = f"{manifest['kind']}:{manifest['source']}"
        self.dim = int(manifest["dim"])
        self._manifest = manifest
        self._threads = threads
        self._pool = POOLERS[pipeline["pooling"]]
        self._dense = self._load_dense(pipeline.get("dense"))
        self._tokenizer = tokenizer_from_manifest(folder, manifest, pad_to_max=False)
        self._session: ort.InferenceSession | None = None
        self._lock = threading.Lock()

    def _load_dense(self, spec: dict[str, Any] | None) -> tuple[np.ndarray, np.ndarray, Any] | None:
        if not spec:
            return None
        if spec["activation"] not in ACTIVATIONS:
            raise ModelError(
                f"{self.folder}: Dense activation {spec['activation']!r} is not "
                "supported; export a model with identity or tanh"
            )
        weight = np.load(self.folder / spec["weight"], allow_pickle=False).astype(np.float32)
        bias = (
            np.load(self.folder / spec["bias"], allow_pickle=False).astype(np.float32)
            if spec.get("bias")
            else np.zeros(weight.shape[0], dtype=np.float32)
        )
        return weight, bias, ACTIVATIONS[spec["activation"]]

    def _get_session(self) -> ort.InferenceSession:
        with self._lock:
            if self._session is None:
                model = self.folder / self._manifest["text_pipeline"]["model"]
                self._session = open_session(model, self._threads)
            return self._session

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self._encode_batch(list(texts[i : i + TEXT_BATCH]))
            for i in range(0, len(texts), TEXT_BATCH)
        ]
        return np.concatenate(parts)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        session = self._get_session()
        wanted = {i.name for i in session.get_inputs()}
        hidden = session.run(None, {k: v for k, v in feed.items() if k in wanted})[0]
        vectors = self._pool(hidden, feed["attention_mask"])
        if self._dense is not None:
            weight, bias, activation = self._dense
            vectors = activation(vectors @ weight.T + bias)
        # The encoder interface promises unit rows whether or not the model ends in Normalize.
        return l2_normalise(vectors)
