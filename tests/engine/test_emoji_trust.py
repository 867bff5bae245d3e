"""Emoji trust with the real USE model: a rank among the catalog's meanings, for short captions
and long descriptions alike."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from engine.emoji import EmojiKeywords
from engine.emoji_trust import (
    REFERENCE_SIZE,
    ROUNDING,
    TRUST_FLOOR,
    _beaten,
    emoji_trust,
    reference_meanings,
)
from engine.encoders import UniversalSentenceEncoder
from engine.types import StickerRecord

# (emoji, what the sticker shows): a small catalog of distinct meanings.
SHOWN = [
    ("🐱", "cat face"),
    ("🍕", "pizza"),
    ("🚀", "rocket"),
    ("☕", "hot beverage"),
    ("🌧", "cloud with rain"),
    ("🎉", "party popper"),
    ("🌙", "crescent moon"),
    ("🛏", "bed"),
    ("🐶", "dog face"),
    ("🍔", "hamburger"),
    ("🚗", "automobile"),
    ("🎸", "guitar"),
    ("⚽", "soccer ball"),
    ("🌻", "sunflower"),
    ("📚", "books"),
    ("🔥", "fire"),
    ("🍦", "soft ice cream"),
    ("🐢", "turtle"),
    ("✈", "airplane"),
    ("⌚", "watch"),
]
# Pack authors' mistakes: the emoji of another meaning entirely.
WRONG = {"🚀": "🐢", "🎸": "🍕", "🌻": "🚗"}


def describe(shown: str) -> str:
    """What a vision-language model says: the meaning, wrapped in words about the drawing."""
    return f"A cute cartoon sticker of {shown}, drawn with bold outlines on a white background."


def catalog(caption_of: Callable[[str], str]) -> list[StickerRecord]:
    return [
        StickerRecord(f"s{i}", "pack", emoji=WRONG.get(emoji, emoji), caption=caption_of(shown))
        for i, (emoji, shown) in enumerate(SHOWN)
    ]


def trust_of(records: list[StickerRecord], encoder: UniversalSentenceEncoder) -> np.ndarray:
    text = encoder.encode_text([r.caption or "" for r in records])
    return emoji_trust(records, text, EmojiKeywords.load(), encoder, np.unique(text, axis=0))


@pytest.mark.parametrize("caption_of", [lambda shown: shown, describe], ids=["short", "described"])
def test_a_wrong_emoji_falls_to_the_floor_and_a_right_one_counts_fully(
    caption_of: Callable[[str], str], encoder: UniversalSentenceEncoder
) -> None:
    records = catalog(caption_of)
    trust = trust_of(records, encoder)
    wrong = np.array([r.emoji != emoji for r, (emoji, _) in zip(records, SHOWN, strict=True)])
    assert wrong.sum() == len(WRONG)
    # Twenty meanings are a small catalog, where a wrong emoji whose own meaning is absent
    # (🍕 on a guitar, with a hamburger nearby) still keeps a little more than the floor.
    assert trust[wrong].max() < 0.6 and TRUST_FLOOR in trust[wrong]
    assert np.median(trust[~wrong]) == 1.0  # most right ones are their name's closest meaning
    assert trust[~wrong].min() > trust[wrong].max()


def test_described_captions_sit_far_from_their_names_yet_keep_their_rank(
    encoder: UniversalSentenceEncoder,
) -> None:
    """Why a rank: a right emoji's name sits as far from a long description as a wrong name from
    a short caption (below 0.30, where the cosine rule this replaced gave the floor), yet the
    description still ranks first among the catalog's meanings for it."""
    short, described = catalog(lambda shown: shown), catalog(describe)
    right = np.array([r.emoji not in WRONG.values() for r in described])
    names = encoder.encode_text([shown for _, shown in SHOWN])
    texts = encoder.encode_text([r.caption or "" for r in described])
    cosine = np.einsum("ij,ij->i", names, texts)
    assert np.median(cosine[right]) < 0.30
    trust = trust_of(described, encoder)
    assert np.median(trust[right]) == 1.0
    np.testing.assert_allclose(trust, trust_of(short, encoder), atol=0.3)


def test_stickers_known_only_by_their_emoji_are_fully_trusted(
    encoder: UniversalSentenceEncoder,
) -> None:
    records = [StickerRecord("a", "p", emoji="🍕"), StickerRecord("b", "p", caption="a pizza")]
    trust = trust_of(records, encoder)
    assert trust.tolist() == [1.0, 1.0]


def test_beaten_counts_the_reference_no_closer_than_the_own_text() -> None:
    rng = np.random.default_rng(3)
    similarity = rng.uniform(-1, 1, (7, 50)).astype(np.float32)
    which = rng.integers(0, 7, 300)
    own = rng.uniform(-1, 1, 300).astype(np.float32)
    own[:7] = similarity[which[:7], 0]  # ties count as beaten
    # The own caption's similarity, computed by another product, may come out a rounding lower.
    own[7:14] = similarity[which[7:14], 1] - 1e-7
    expected = (similarity[which] <= own[:, None] + ROUNDING).sum(axis=1)
    np.testing.assert_array_equal(_beaten(similarity, which, own), expected)
    assert all(_beaten(similarity, which[7:14], own[7:14]) >= 1)


def test_reference_is_every_meaning_of_a_small_catalog_and_a_fixed_sample_of_a_large_one() -> None:
    assert reference_meanings(10).tolist() == list(range(10))
    large = reference_meanings(100_000)
    assert len(large) == REFERENCE_SIZE == len(np.unique(large))
    assert (np.diff(large) > 0).all() and large[-1] < 100_000
    np.testing.assert_array_equal(large, reference_meanings(100_000))  # a rebuild agrees
