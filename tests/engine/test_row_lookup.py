"""Sticker ids to rows through sorted hashes (engine.row_lookup), against a dict's answers."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.packed_texts import PackedTexts
from engine.row_lookup import ONE_AT_A_TIME_BELOW, RowLookup

IDS = st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=20), unique=True)


@given(IDS, st.lists(st.text(max_size=20), max_size=10))
def test_every_id_finds_its_row_and_no_other_text_finds_one(
    ids: list[str], others: list[str]
) -> None:
    lookup = RowLookup(PackedTexts.of(ids))
    assert all(lookup[s] == row and s in lookup for row, s in enumerate(ids))
    assert all(lookup.get(s) is None and s not in lookup for s in others if s not in ids)
    assert len(lookup) == len(ids) and list(lookup) == ids
    asked = ids[::-1] + others
    expected = [lookup.get(s, -1) for s in asked]
    assert lookup.rows_of(asked).tolist() == expected


@given(IDS, IDS)
def test_a_grown_lookup_hashes_only_the_new_ids_and_finds_them_all(
    first: list[str], added: list[str]
) -> None:
    added = [s for s in added if s not in first]
    grown = RowLookup(PackedTexts.of(first)).grown(PackedTexts.of(first + added))
    assert all(grown[s] == row for row, s in enumerate(first + added))


def test_ids_whose_hashes_collide_are_told_apart_by_their_text() -> None:
    ids = PackedTexts.of(["a", "b", "c"])
    colliding = RowLookup(ids, hashes=np.full(3, hash("c"), np.int64))  # as if all hashed alike
    assert colliding.get("c") == 2
    assert colliding.get("a") is None  # its hash is not "a"'s: the text alone never matches
    # "c" meets row 0's "a" first under its hash, and searches on; "b" hashes elsewhere. Asked
    # one at a time, and enough at once to be searched together.
    assert colliding.rows_of(["c", "b", "a"]).tolist() == [2, -1, -1]
    together = ["c", "b", "a"] * ONE_AT_A_TIME_BELOW
    assert colliding.rows_of(together).tolist() == [2, -1, -1] * ONE_AT_A_TIME_BELOW


def test_a_lookup_is_never_pickled_to_a_process_whose_hashes_differ() -> None:
    with pytest.raises(TypeError, match="build one where it is used"):
        pickle.dumps(RowLookup(PackedTexts.of(["a"])))


def test_a_missing_id_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        RowLookup(PackedTexts.of(["a"]))["b"]
