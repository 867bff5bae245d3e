"""A text model that counts what it is asked to encode, shared by the engine and export tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.encoders import TextEncoder


class CountingEncoder:
    """Another text model (the real one in these tests), recording every text it is asked to
    encode, in order."""

    def __init__(self, inner: TextEncoder) -> None:
        self.name, self.dim, self._inner = inner.name, inner.dim, inner
        self.asked: list[str] = []

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        self.asked.extend(texts)
        return self._inner.encode_text(texts)
