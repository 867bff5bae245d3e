"""Encoding helpers shared by the index build."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.encoders import UniversalSentenceEncoder, encode_distinct


class CountingEncoder:
    """The real USE, counting which texts it was asked to encode."""

    name = UniversalSentenceEncoder.name
    dim = UniversalSentenceEncoder.dim

    def __init__(self, inner: UniversalSentenceEncoder) -> None:
        self._inner = inner
        self.asked: list[str] = []

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        self.asked.extend(texts)
        return self._inner.encode_text(texts)


def test_each_distinct_text_is_encoded_once_and_rows_stay_aligned(
    encoder: UniversalSentenceEncoder,
) -> None:
    texts = ["sleepy cat", "", "pizza", "sleepy cat", "pizza", "sleepy cat", ""]
    counting = CountingEncoder(encoder)
    progress: list[tuple[int, int]] = []
    vectors = encode_distinct(
        counting, texts, 1, lambda done, total: progress.append((done, total))
    )
    assert counting.asked == ["sleepy cat", "pizza"]
    assert progress == [(1, 2), (1, 2)]
    assert vectors.shape == (len(texts), encoder.dim)
    for row, text in enumerate(texts):
        if text:
            np.testing.assert_allclose(vectors[row], encoder.encode_text([text])[0], atol=1e-6)
        else:
            assert not vectors[row].any()  # no text, no meaning


def test_no_texts_give_no_rows(encoder: UniversalSentenceEncoder) -> None:
    assert encode_distinct(encoder, [], 8).shape == (0, encoder.dim)
    assert not encode_distinct(encoder, ["", ""], 8).any()
