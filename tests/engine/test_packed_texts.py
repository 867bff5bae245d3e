"""Texts packed into shared UTF-8 buffers read back as the list they replace."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.packed_texts import PackedTexts

# Any text a store can hold (no lone surrogates: they have no UTF-8), or None.
TEXTS = st.lists(st.none() | st.text(st.characters(blacklist_categories=("Cs",))), max_size=30)


@given(st.lists(TEXTS, max_size=12))
def test_texts_appended_in_chunks_read_back_in_order(chunks: list[list[str | None]]) -> None:
    packed = PackedTexts()
    for chunk in chunks:
        packed.extend(chunk)
    flat = [text for chunk in chunks for text in chunk]
    assert list(packed) == flat
    assert [packed[i] for i in range(len(flat))] == flat
    assert packed[1:4] == flat[1:4]
    assert packed == flat and len(packed) == len(flat)


@given(TEXTS, TEXTS)
def test_two_joined_read_as_the_lists_joined(
    first: list[str | None], then: list[str | None]
) -> None:
    assert PackedTexts.of(first) + PackedTexts.of(then) == first + then


def test_none_and_the_empty_text_stay_apart() -> None:
    packed = PackedTexts.of(["", None, "é", None])
    assert [packed[i] for i in range(4)] == ["", None, "é", None]
    assert packed[-1] is None and packed[-2] == "é"
    with pytest.raises(IndexError):
        packed[4]


def test_buffers_of_like_size_are_merged_so_few_remain() -> None:
    packed = PackedTexts()
    for chunk in range(100):
        packed.extend([f"id{chunk}"] * 7)
    assert len(packed._buffers) <= math.log2(100) + 1
    assert packed[7 * 63] == "id63"


def test_a_grown_sequence_shares_its_buffers_and_keeps_its_own_replacements() -> None:
    catalog = PackedTexts.of([f"F{i}" for i in range(1000)])
    grown = catalog + PackedTexts.of(["Fnew"])
    assert grown._buffers[0] is catalog._buffers[0]  # the big buffer is not copied
    grown[3] = "F3 newer"
    catalog[4] = None
    assert (grown[3], grown[4], grown[1000]) == ("F3 newer", "F4", "Fnew")
    assert (catalog[3], catalog[4]) == ("F3", None)
    assert list(grown)[3] == "F3 newer"
    with pytest.raises(IndexError):
        grown[1001] = "nowhere"
