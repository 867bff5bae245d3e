"""Meaning vectors built from words, for finding one meaning in differently worded captions.

A sentence encoder reads a caption's wording as much as its meaning. Two packs' copies of "cat
face", captioned by a vision-language model as "A small icon of cat face in a glossy 3D look."
and "Clip art of cat face with bold black outlines.", sit further apart than two different
meanings worded alike. The nearest other caption was a copy of the same meaning for 15% of
such stickers. Averaging the text model's vectors of the words, each weighted by how rare the
word is among the catalog's captions, and removing the direction all captions share (smooth
inverse frequency, Arora, Liang and Ma, ICLR 2017), gives 97%: wording common to many captions
weighs little, and the words that name the meaning weigh most.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from engine.encoders import TextEncoder, encode_in_chunks, l2_normalise
from engine.tokens import tokens_of

# A word's weight is SMOOTHING / (SMOOTHING + its share of captions): a word in 1 caption of
# 1,000 weighs 0.5, one in every tenth 0.01 (the paper's recommended 1e-3).
SMOOTHING = 1e-3
WORDS_PER_CALL = 256  # words per encoder call
ROWS_PER_CHUNK = 65536  # captions combined at a time: bounds the sparse product's temporaries
COMMON_SAMPLE = 65536  # captions the shared direction is estimated from
SAMPLE_SEED = 0


def word_meaning_vectors(texts: Sequence[str], encoder: TextEncoder) -> np.ndarray:
    """(len(texts), encoder.dim) unit vectors, from the words of each of `texts` (distinct
    captions of one catalog: the word weights are read from them). A text without words gets a
    zero row."""
    tokens = [tokens_of(text) for text in texts]
    captions_with = Counter(word for words in tokens for word in set(words))
    vocabulary = {word: i for i, word in enumerate(captions_with)}
    shares = np.fromiter(captions_with.values(), np.float64, len(captions_with)) / len(texts)
    weights = SMOOTHING / (SMOOTHING + shares)
    word_vectors = encode_in_chunks(encoder, list(vocabulary), WORDS_PER_CALL)
    counts = _word_counts(tokens, vocabulary)
    vectors = np.zeros((len(texts), encoder.dim), np.float32)
    weighted = counts @ sparse.diags(weights.astype(np.float32))
    for start in range(0, len(texts), ROWS_PER_CHUNK):
        vectors[start : start + ROWS_PER_CHUNK] = (
            weighted[start : start + ROWS_PER_CHUNK] @ word_vectors
        )
    _remove_common_direction(vectors)
    return l2_normalise(vectors)


def _word_counts(tokens: list[tuple[str, ...]], vocabulary: dict[str, int]) -> sparse.csr_matrix:
    """(texts, vocabulary) how often each word occurs in each text."""
    columns = [vocabulary[word] for words in tokens for word in words]
    starts = np.cumsum([0] + [len(words) for words in tokens])
    ones = np.ones(len(columns), np.float32)
    return sparse.csr_matrix((ones, columns, starts), shape=(len(tokens), len(vocabulary)))


def _remove_common_direction(vectors: np.ndarray) -> None:
    """Centre the vectors and subtract, in place, their part along the first principal
    direction of a sample: what every caption shares (grammar, frequent words) rather than
    what tells them apart. Rows without words stay zero."""
    if len(vectors) < 2:
        return
    empty = ~vectors.any(axis=1)
    rng = np.random.default_rng(SAMPLE_SEED)
    sample = vectors[rng.choice(len(vectors), min(COMMON_SAMPLE, len(vectors)), replace=False)]
    mean = sample.mean(axis=0)
    direction = np.linalg.svd(sample - mean, full_matrices=False)[2][0]
    for start in range(0, len(vectors), ROWS_PER_CHUNK):
        chunk = vectors[start : start + ROWS_PER_CHUNK]
        chunk -= mean
        chunk -= np.outer(chunk @ direction, direction)
    vectors[empty] = 0.0
