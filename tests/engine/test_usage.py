"""Usage counts as arrays: growth, the top of the popular list, removal, reading by row."""

from __future__ import annotations

import numpy as np

from engine.usage import Usage


def _usage() -> Usage:
    usage = Usage(capacity=2)  # grows twice below
    for sticker, users in (("a", 1), ("b", 3), ("c", 2), ("d", 3), ("e", 1)):
        for user in range(users):
            usage.add(f"u{user}", "send", sticker)
    return usage


def test_the_top_is_by_utility_then_first_use() -> None:
    usage = _usage()
    assert usage.top(3) == ["b", "d", "c"]  # b and d tie: b was used first
    assert usage.top(10) == ["b", "d", "c", "a", "e"]
    assert usage.top(0) == []
    assert usage.max_users == 3


def test_cleared_stickers_leave_no_count_behind() -> None:
    usage = _usage()
    usage.add("u0", "pick", "a")
    assert "a" in usage.used_by("u0") and "a" not in usage.used_by("u1")
    usage.clear(["a"])
    assert "a" not in usage and usage.picks("a") == 0
    assert usage.utilities(["a", "never"]).tolist() == [0.0, 0.0]
    assert "a" not in usage.top(10) and "a" not in usage.used()
    assert "a" not in usage.used_by("u0")
    usage.clear(["b", "d", "never"])
    usage.rescale()
    assert usage.max_users == 2  # c's two users are now the widest reach
    assert usage.top(1) == ["c"]


def test_utilities_by_row_equal_those_by_id_and_follow_stickers_used_later() -> None:
    usage = _usage()
    row_of = {"c": 0, "nobody": 1, "a": 2, "later": 3, "b": 4}
    usage.bind_rows(row_of, len(row_of))
    rows = np.array([2, 0, 1, 3, 0, 4])
    ids = ["a", "c", "nobody", "later", "c", "b"]
    assert usage.utilities_by_row(row_of, rows).tolist() == usage.utilities(ids).tolist()
    usage.add("u7", "pick", "later")  # first used after the binding
    usage.add("u8", "send", "a")
    by_row = usage.utilities_by_row(row_of, rows)
    assert by_row.tolist() == usage.utilities(ids).tolist()
    assert by_row[3] > 0 and by_row[2] == 0  # "later" counts now; "nobody" still nothing


def test_rows_of_another_catalog_are_not_read() -> None:
    usage = _usage()
    usage.bind_rows({"a": 0}, 1)
    assert usage.utilities_by_row({"a": 0}, np.array([0])) is None  # an equal, other catalog


def test_pairs_are_counted_once_and_leave_with_the_users_data() -> None:
    usage = Usage(capacity=2)
    row_of = {"a": 0, "b": 1, "c": 2}
    usage.bind_rows(row_of, len(row_of))
    for user, sticker in [("ann", "a"), ("ann", "a"), ("ann", "b"), ("bob", "b"), ("bob", "zz")]:
        usage.add(user, "send", sticker)
    assert usage.pair_count == 4  # ann's repeat of "a" is no new pair
    pairs = sorted(_pairs(usage, row_of))
    assert len(pairs) == 3 and sorted(r for _, r in pairs) == [0, 1, 1]  # "zz" is not in it
    assert pairs[0][0] == pairs[1][0] != pairs[2][0]  # ann's two pairs, then bob's
    before = (usage.revision, usage.clears)
    usage.clear(["a", "b"])  # all of ann's uses
    assert usage.pair_count == 1 and usage.clears == before[1] + 1 and usage.revision > before[0]
    assert "ann" not in usage._pairs._number  # no id outlives its data
    assert usage.pairs_by_row({"a": 0}) is None  # another catalog is not read


def test_a_recount_keeps_each_users_uses_together() -> None:
    """Clearing some stickers and counting their other users' uses again (a deletion's recount)
    leaves each remaining user under one number, so co-usage still joins their packs."""
    usage = Usage()
    row_of = {"a": 0, "b": 1, "c": 2}
    usage.bind_rows(row_of, len(row_of))
    for user, sticker in [("ann", "a"), ("bob", "a"), ("bob", "b"), ("cy", "c")]:
        usage.add(user, "send", sticker)
    usage.clear(["a"])  # ann is forgotten; bob's use of "a" is counted again
    usage.add("bob", "send", "a")
    by_user: dict[int, set[int]] = {}
    for number, row in _pairs(usage, row_of):
        by_user.setdefault(number, set()).add(row)
    assert sorted(by_user.values(), key=min) == [{0, 1}, {2}]  # bob's two, cy's one
    assert set(usage._pairs._number) == {"bob", "cy"}


def _pairs(usage: Usage, row_of: dict[str, int]) -> list[tuple[int, int]]:
    """(user number, row) of every pair in the catalog bound with `row_of`."""
    found = usage.pairs_by_row(row_of)
    assert found is not None
    users, rows = found
    return list(zip(users.tolist(), rows.tolist(), strict=True))
