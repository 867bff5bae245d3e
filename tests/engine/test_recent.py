"""The bounded map of recently used per-user state."""

from __future__ import annotations

import pytest

from engine.recent import Recent


def test_the_least_recently_used_entry_goes_first() -> None:
    recent: Recent[str, int] = Recent(2)
    recent.put("a", 1)
    recent.put("b", 2)
    assert recent.get("a") == 1  # "a" is now newer than "b"
    recent.put("c", 3)
    assert (recent.get("a"), recent.get("b"), recent.get("c")) == (1, None, 3)
    recent.put("a", 4)  # replacing refreshes too
    recent.put("d", 5)
    assert (recent.get("a"), recent.get("c"), len(recent)) == (4, None, 2)
    recent.pop("a")
    recent.pop("never")
    assert (recent.get("a"), len(recent)) == (None, 1)


def test_a_cache_holds_at_least_one_entry() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Recent(0)
