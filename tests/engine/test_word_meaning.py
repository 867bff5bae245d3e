"""Word meaning vectors with the real USE model: copies of one meaning worded differently find
each other, where whole-sentence vectors find the wording."""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

from engine.build import SAME_WORDING, build_index
from engine.emoji import EmojiKeywords
from engine.encoders import UniversalSentenceEncoder
from engine.index import Encoders
from engine.types import StickerRecord
from engine.word_meaning import WORD_SHARE, WordCounts, recall_vectors, word_meaning_vectors

PngMaker = Callable[[str, int, int], Path]  # the `png` fixture of conftest.py
MEANINGS = [
    "cat face",
    "slice of pizza",
    "rocket",
    "hot coffee",
    "cloud with rain",
    "party popper",
    "crescent moon",
    "bed",
    "dog face",
    "hamburger",
    "red car",
    "guitar",
    "soccer ball",
    "sunflower",
    "stack of books",
    "fire",
    "ice cream cone",
    "turtle",
    "airplane",
    "wrist watch",
]
# Two packs, two ways a vision-language model words what it sees.
WORDING = {
    "flat": "A small icon of {} in a glossy 3D look.",
    "soft": "Clip art of {} with bold black outlines.",
}


FILLERS = 300  # other meanings, once each: word weights need a catalog of some size


def described(pack: str) -> list[str]:
    return [WORDING[pack].format(meaning) for meaning in MEANINGS]


@cache
def fillers() -> list[tuple[str, str]]:
    """(pack, caption) of other meanings: English emoji names sharing no word with MEANINGS."""
    taken = {word for meaning in MEANINGS for word in meaning.split()}
    emoji = EmojiKeywords.load()
    names = sorted({n[0] for e in emoji if (n := emoji.keywords(e, ["en"]))})
    rng = random.Random(0)
    rng.shuffle(names)
    chosen = [n for n in names if not taken & set(n.split())][:FILLERS]
    return [(pack := rng.choice(list(WORDING)), WORDING[pack].format(n)) for n in chosen]


def nearest_is_the_copy(vectors: np.ndarray) -> float:
    """Share of MEANINGS' captions (the first rows, both packs) whose nearest other caption is
    the other pack's copy of its meaning."""
    count = len(MEANINGS)
    similarity = vectors[: 2 * count] @ vectors.T
    similarity[np.arange(2 * count), np.arange(2 * count)] = -np.inf
    copy = np.r_[np.arange(count) + count, np.arange(count)]
    return float(np.mean(similarity.argmax(axis=1) == copy))


def test_copies_worded_differently_are_nearest_by_words_not_by_sentence(
    encoder: UniversalSentenceEncoder,
) -> None:
    texts = described("flat") + described("soft") + [caption for _, caption in fillers()]

    by_words, _ = word_meaning_vectors(texts, encoder)

    assert nearest_is_the_copy(by_words) == 1.0
    assert nearest_is_the_copy(encoder.encode_text(texts)) < 0.5
    np.testing.assert_allclose(np.linalg.norm(by_words, axis=1), 1.0, atol=1e-5)


def test_a_text_without_words_gets_a_zero_row(encoder: UniversalSentenceEncoder) -> None:
    vectors, _ = word_meaning_vectors(["cat face", "🙂 !", "a red car"], encoder)
    assert not vectors[1].any()
    assert vectors[0].any() and vectors[2].any()


def test_captions_added_later_get_the_vectors_they_would_have_got_at_first(
    encoder: UniversalSentenceEncoder,
) -> None:
    texts = described("flat") + described("soft")
    at_once, common = word_meaning_vectors(texts, encoder)
    assert common.shape == (2, encoder.dim) and common.any()

    counts = WordCounts.of(texts)
    later, kept = word_meaning_vectors(texts[-3:], encoder, counts=counts, common=common)

    np.testing.assert_allclose(later, at_once[-3:], atol=1e-5)
    assert kept is common
    # counted alone, the same captions weigh their words otherwise
    alone, _ = word_meaning_vectors(texts[-3:], encoder, common=common)
    assert np.abs(alone - at_once[-3:]).max() > 0.01


def test_recall_vectors_blend_sentence_and_words_and_keep_wordless_sentences(
    encoder: UniversalSentenceEncoder,
) -> None:
    texts = ["cat face", "🙂 !", "a red car"]
    words, _ = word_meaning_vectors(texts, encoder)
    sentences = encoder.encode_text(texts)

    blended = recall_vectors(sentences.copy(), words)

    expected = (1 - WORD_SHARE) * sentences + WORD_SHARE * words
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(blended[[0, 2]], expected[[0, 2]], atol=1e-6)
    np.testing.assert_array_equal(blended[1], sentences[1])  # "🙂 !" has no words
    np.testing.assert_allclose(np.linalg.norm(blended, axis=1), 1.0, atol=1e-5)


def test_the_index_makes_differently_worded_copies_neighbours_and_no_others(
    png: PngMaker, encoders: Encoders
) -> None:
    records = [
        StickerRecord(f"{pack}{i}", pack, caption=caption, path=str(png(pack, i % 6, 0)))
        for pack in WORDING
        for i, caption in enumerate(described(pack))
    ]
    records += [
        StickerRecord(f"other{i}", f"other_{pack}", caption=caption, path=str(png(pack, i % 6, 0)))
        for i, (pack, caption) in enumerate(fillers())
    ]

    built = build_index(records, encoders)
    index = built.index

    for i in range(len(MEANINGS)):
        flat, soft = index.row_of[f"flat{i}"], index.row_of[f"soft{i}"]
        neighbours = dict(index.neighbours(flat))
        assert soft in neighbours and neighbours[soft] >= SAME_WORDING
        tracked = {r for r in neighbours if not index.rows.sticker_ids[r].startswith("other")}
        assert tracked == {soft}, [built.records[r].caption for r in neighbours]
