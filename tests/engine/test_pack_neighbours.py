"""The walk over packs alike: pixels, co-usage, refresh and deletion."""

from __future__ import annotations

import numpy as np
import pytest

import engine.pack_neighbours as pack_neighbours_module
from engine.pack_neighbours import PackNeighbours
from engine.usage import Usage

# Packs 0 and 1 are drawn differently (orthogonal pixels) but used together; 2 and 3 are drawn
# alike, so pixels alone lead from one to the other.
PACK_VECTORS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [-0.1, 0, 1]], np.float32)
ROW_OF = {f"p{pack}s{i}": pack * 2 + i for pack in range(4) for i in range(2)}
PACK_OF_ROW = np.repeat(np.arange(4), 2)


def _bound_usage() -> Usage:
    usage = Usage()
    usage.bind_rows(ROW_OF, len(ROW_OF))
    return usage


def _co_use(usage: Usage, users: range, packs: tuple[int, ...]) -> None:
    for user in users:
        for pack in packs:
            usage.add(f"u{user}", "send", f"p{pack}s{user % 2}")


def _neighbours(usage: Usage) -> PackNeighbours:
    neighbours = PackNeighbours(PACK_VECTORS, PACK_OF_ROW, ROW_OF)
    neighbours.follow(usage)
    return neighbours


def _walk_from(neighbours: PackNeighbours, pack: int) -> np.ndarray:
    closeness = neighbours.closeness({pack: 1.0})
    assert closeness is not None
    return closeness


def test_packs_used_together_reach_each_other_though_drawn_differently() -> None:
    usage = _bound_usage()
    _co_use(usage, range(6), (0, 1))
    _co_use(usage, range(6, 9), (2,))
    walk = _walk_from(_neighbours(usage), 0)
    assert walk.max() == 1.0 and walk.min() >= 0.0
    assert walk[1] > 0.5  # people send both
    assert walk[2] == walk[3] == 0.0  # nobody sends them with pack 0, nor are they drawn alike
    by_pixels = _walk_from(_neighbours(usage), 2)
    assert by_pixels[3] > 0.5 and by_pixels[0] == by_pixels[1] == 0.0


def test_without_uses_the_walk_follows_pixels_only() -> None:
    walk = _walk_from(_neighbours(_bound_usage()), 0)
    assert walk.tolist() == [1.0, 0.0, 0.0, 0.0]


def test_no_recent_packs_or_no_packs_give_no_closeness() -> None:
    assert _neighbours(_bound_usage()).closeness({}) is None
    empty = PackNeighbours(np.zeros((0, 3), np.float32), np.zeros(0, np.int64), {})
    empty.follow(Usage())
    assert empty.closeness({}) is None


def _settle(neighbours: PackNeighbours) -> None:
    """Wait for a count begun in the background."""
    neighbours._counting.wait(timeout=10)


def test_new_uses_count_after_the_refresh_period(monkeypatch: pytest.MonkeyPatch) -> None:
    usage = _bound_usage()
    _co_use(usage, range(2), (2,))
    neighbours = _neighbours(usage)
    _co_use(usage, range(6), (0, 1))
    neighbours.follow(usage)
    _settle(neighbours)
    assert _walk_from(neighbours, 0)[1] == 0.0  # counted within the period: not yet
    monkeypatch.setattr(pack_neighbours_module, "REFRESH_SECONDS", 0.0)
    neighbours.follow(usage)
    _settle(neighbours)
    assert _walk_from(neighbours, 0)[1] > 0.5


def test_a_deleted_users_co_usage_leaves_at_the_next_query() -> None:
    usage = _bound_usage()
    _co_use(usage, range(1), (0, 1))  # one user links packs 0 and 1
    _co_use(usage, range(1, 3), (2,))
    neighbours = _neighbours(usage)
    assert _walk_from(neighbours, 0)[1] > 0.0
    usage.clear(["p0s0", "p1s0"])  # their data deleted (the crowd then counts the rest anew)
    neighbours.follow(usage)
    _settle(neighbours)
    assert _walk_from(neighbours, 0)[1] == 0.0


def test_uses_outside_the_catalog_are_counted_once() -> None:
    usage = _bound_usage()
    usage.add("ann", "send", "a sticker of another catalog")
    neighbours = _neighbours(usage)
    counted = neighbours._counted_at
    neighbours.follow(usage)  # nothing new: no count, though no use is in this catalog
    assert neighbours._counted_at == counted
