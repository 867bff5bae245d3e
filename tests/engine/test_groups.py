"""Rows grouped by what they share, and texts numbered in order of first appearance."""

from __future__ import annotations

import numpy as np

from engine.groups import RowGroups, number_texts


def test_groups_list_their_rows_by_priority_and_skip_rows_in_none() -> None:
    groups = RowGroups(np.array([1, 0, -1, 1, 0, 1]), 2, priority=np.array([0, 0, 9, 5, 1, 5]))
    assert len(groups) == 2
    assert groups.rows_of(0).tolist() == [4, 1]  # higher priority first
    assert groups.rows_of(1).tolist() == [3, 5, 0]  # equal priority: by row
    rows, source = groups.of_many(np.array([1, 0]), 4)
    assert rows.tolist() == [3, 5, 0, 4]  # cut inside the second group
    assert source.tolist() == [0, 0, 0, 1]
    assert groups.of_many(np.array([0]), 10)[0].tolist() == [4, 1]
    assert len(groups.of_many(np.array([1]), 0)[0]) == 0


def test_texts_are_numbered_in_order_of_first_appearance() -> None:
    distinct, which = number_texts(["b", "", "a", "b", ""])
    assert distinct == ["b", "", "a"] and which.tolist() == [0, 1, 2, 0, 1]
    distinct, which = number_texts(["b", "", "a", "b", ""], empty=False)
    assert distinct == ["b", "a"] and which.tolist() == [0, -1, 1, 0, -1]
