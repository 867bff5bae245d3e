"""Meaning vectors built from words, for finding one meaning in differently worded captions.

A sentence encoder reads a caption's wording as much as its meaning. Two packs' copies of "cat
face", captioned by a vision-language model as "A small icon of cat face in a glossy 3D look."
and "Clip art of cat face with bold black outlines.", sit further apart than two different
meanings worded alike. The nearest other caption was a copy of the same meaning for 15% of
such stickers. Averaging the text model's vectors of the words, each weighted by how rare the
word is among the catalog's captions, and removing the direction all captions share (smooth
inverse frequency, Arora, Liang and Ma, ICLR 2017), gives 97%: wording common to many captions
weighs little, and the words that name the meaning weigh most.

Dense recall searches a blend of both (recall_vectors): the sentence vector knows phrases, the
words' vector what a long caption is about.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

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
# The words' share of a recall vector, measured with dense recall's ramp re-fitted to the blend's
# cosine scale (engine.recall.DENSE_LOW/HIGH). nDCG@10, sentence vectors alone -> half and half:
# - the development sets, captioned with short emoji names: 0.815 -> 0.814 and 0.889 -> 0.886;
# - copies of them captioned as a vision-language model would (`stickerbot bench-describe`, two
#   seeds): 0.759 -> 0.781 and 0.851 -> 0.858; 0.759 -> 0.781 and 0.856 -> 0.864.
# Words alone scored 0.809 on emoji-dev.
WORD_SHARE = 0.5


@dataclass
class WordCounts:
    """How many of a catalog's distinct captions hold each word, and how many there are."""

    holding: Counter[str] = field(default_factory=Counter)
    captions: int = 0

    @classmethod
    def of(cls, captions: Sequence[str]) -> WordCounts:
        counts = cls()
        counts.add(captions)
        return counts

    def add(self, captions: Sequence[str]) -> None:
        """Count more distinct captions."""
        self.holding.update(word for caption in captions for word in set(tokens_of(caption)))
        self.captions += len(captions)


def word_meaning_vectors(
    texts: Sequence[str],
    encoder: TextEncoder,
    *,
    counts: WordCounts | None = None,
    common: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, common): (len(texts), encoder.dim) unit vectors from the words of each of
    `texts`, a zero row for a text without words; and the (2, dim) mean and direction removed
    from them. Word weights follow `counts` (default: counted over `texts`), the distinct
    captions of one catalog. `common` (from an earlier call) is removed as it is, so vectors
    added to a catalog later match its first ones; when absent or zero it is fitted here."""
    tokens = [tokens_of(text) for text in texts]
    counts = counts or WordCounts.of(texts)
    vocabulary = {word: i for i, word in enumerate(dict.fromkeys(w for ws in tokens for w in ws))}
    shares = np.fromiter(
        (counts.holding[word] for word in vocabulary), np.float64, len(vocabulary)
    ) / max(counts.captions, 1)
    weights = SMOOTHING / (SMOOTHING + shares)
    word_vectors = encode_in_chunks(encoder, list(vocabulary), WORDS_PER_CALL)
    counts = _word_counts(tokens, vocabulary)
    vectors = np.zeros((len(texts), encoder.dim), np.float32)
    weighted = counts @ sparse.diags(weights.astype(np.float32))
    for start in range(0, len(texts), ROWS_PER_CHUNK):
        vectors[start : start + ROWS_PER_CHUNK] = (
            weighted[start : start + ROWS_PER_CHUNK] @ word_vectors
        )
    if common is None or not common.any():
        common = _common_wording(vectors)
    _remove_common_wording(vectors, common)
    return l2_normalise(vectors), common


def _word_counts(tokens: list[tuple[str, ...]], vocabulary: dict[str, int]) -> sparse.csr_matrix:
    """(texts, vocabulary) how often each word occurs in each text."""
    columns = [vocabulary[word] for words in tokens for word in words]
    starts = np.cumsum([0] + [len(words) for words in tokens])
    ones = np.ones(len(columns), np.float32)
    return sparse.csr_matrix((ones, columns, starts), shape=(len(tokens), len(vocabulary)))


def _common_wording(vectors: np.ndarray) -> np.ndarray:
    """(2, dim): the mean of a sample of the vectors with words and their first principal
    direction, what every caption shares (grammar, frequent words) rather than what tells them
    apart; zeros for fewer than two."""
    found = vectors[vectors.any(axis=1)]
    if len(found) < 2:
        return np.zeros((2, vectors.shape[1]), np.float32)
    rng = np.random.default_rng(SAMPLE_SEED)
    sample = found[rng.choice(len(found), min(COMMON_SAMPLE, len(found)), replace=False)]
    mean = sample.mean(axis=0)
    direction = np.linalg.svd(sample - mean, full_matrices=False)[2][0]
    return np.stack([mean, direction]).astype(np.float32)


def _remove_common_wording(vectors: np.ndarray, common: np.ndarray) -> None:
    """Centre the vectors on `common`'s mean and take out its direction, in place. Rows without
    words stay zero."""
    empty = ~vectors.any(axis=1)
    mean, direction = common
    for start in range(0, len(vectors), ROWS_PER_CHUNK):
        chunk = vectors[start : start + ROWS_PER_CHUNK]
        chunk -= mean
        chunk -= np.outer(chunk @ direction, direction)
    vectors[empty] = 0.0


def recall_vectors(sentences: np.ndarray, words: np.ndarray) -> np.ndarray:
    """The unit vectors dense recall searches, one per meaning: the sentence vector and the
    words' vector (row-aligned, unit or zero) blended by WORD_SHARE. Overwrites and returns
    `sentences`, so a large catalog holds no third copy; a row without words keeps its sentence."""
    for start in range(0, len(sentences), ROWS_PER_CHUNK):
        chunk = sentences[start : start + ROWS_PER_CHUNK]
        word_part = words[start : start + ROWS_PER_CHUNK]
        has_words = word_part.any(axis=1)
        chunk[has_words] = (1 - WORD_SHARE) * chunk[has_words] + WORD_SHARE * word_part[has_words]
        chunk[:] = l2_normalise(chunk)
    return sentences
