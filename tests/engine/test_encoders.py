"""Encoding helpers shared by the index build."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from engine import encoders
from engine.encoders import UniversalSentenceEncoder, encode_distinct, per_row
from tests.counting import CountingEncoder


def test_each_distinct_text_is_encoded_once_and_rows_stay_aligned(
    encoder: UniversalSentenceEncoder,
) -> None:
    texts = ["sleepy cat", "", "pizza", "sleepy cat", "pizza", "sleepy cat", ""]
    counting = CountingEncoder(encoder)
    progress: list[tuple[int, int]] = []
    distinct, which = encode_distinct(counting, texts, 1, lambda *step: progress.append(step))
    assert which.tolist() == [0, -1, 1, 0, 1, 0, -1]
    vectors = per_row(distinct, which)
    assert counting.asked == ["sleepy cat", "pizza"]
    assert progress == [(1, 2), (1, 2)]
    assert vectors.shape == (len(texts), encoder.dim)
    for row, text in enumerate(texts):
        if text:
            np.testing.assert_allclose(vectors[row], encoder.encode_text([text])[0], atol=1e-6)
        else:
            assert not vectors[row].any()  # no text, no meaning


def test_no_texts_give_no_rows(encoder: UniversalSentenceEncoder) -> None:
    vectors, which = encode_distinct(encoder, [], 8)
    assert vectors.shape == (0, encoder.dim) and which.shape == (0,)
    vectors, which = encode_distinct(encoder, ["", ""], 8)
    assert len(vectors) == 0 and which.tolist() == [-1, -1]
    assert per_row(vectors, which).shape == (2, encoder.dim)
    assert not per_row(vectors, which).any()


def test_a_query_runs_on_one_core_and_a_build_chunk_on_all(
    encoder: UniversalSentenceEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve` answers queries side by side: a query is one run, not split between workers
    (it runs on onnxruntime's own thread while its caller reads the lexical fields)."""
    from engine.use_onnx import UseNetwork

    asked: list[int] = []
    encode = UseNetwork.encode

    def watched(self: UseNetwork, texts: Sequence[str], workers: int = 1) -> np.ndarray:
        asked.append(workers)
        return encode(self, texts, workers)

    monkeypatch.setattr(UseNetwork, "encode", watched)
    monkeypatch.setattr(encoders, "BUILD_WORKERS", 2)
    encoder.encode_text(["sleepy cat"])
    encoder.encode_text(["sleepy cat"] * (encoders.SHARED_TEXTS - 1))
    encoder.encode_text(["sleepy cat"] * encoders.SHARED_TEXTS)
    assert asked == [1, 1, 2]
