"""Usage counts as arrays: growth, the top of the popular list, removal."""

from __future__ import annotations

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


def test_a_removed_user_leaves_no_count_behind() -> None:
    usage = _usage()
    usage.add("u0", "pick", "a")
    usage.remove("u0", "send", "a")
    usage.remove("u0", "pick", "a")
    assert "a" not in usage and usage.picks("a") == 0
    assert usage.utilities(["a", "never"]).tolist() == [0.0, 0.0]
    assert "a" not in usage.top(10) and "a" not in usage.used()
    for user in ("u0", "u1", "u2"):
        for sticker in ("b", "d"):
            usage.remove(user, "send", sticker)
    usage.rescale()
    assert usage.max_users == 2  # c's two users are now the widest reach
    assert usage.top(1) == ["c"]
