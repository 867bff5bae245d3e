"""best_first gives the head of a stable sort by descending score, however the scores tie."""

from __future__ import annotations

import numpy as np
import pytest

from engine.selection import best_first, best_positions


@pytest.mark.parametrize("seed", range(20))
def test_best_first_is_the_head_of_a_stable_sort_by_descending_score(seed: int) -> None:
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 300))
    scores = rng.integers(0, 6, count).astype(np.float32)  # few values: many ties
    n = int(rng.integers(1, count + 5))
    expected = np.argsort(-scores, kind="stable")[:n]
    assert best_first(scores, n).tolist() == expected.tolist()


@pytest.mark.parametrize("seed", range(20))
def test_ties_go_by_the_given_key(seed: int) -> None:
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 300))
    scores = rng.integers(0, 4, count).astype(np.float64)
    rows = rng.permutation(count * 3)[:count]
    n = int(rng.integers(1, count + 1))
    expected = np.lexsort((rows, -scores))[:n]
    assert best_first(scores, n, ties=rows).tolist() == expected.tolist()


def test_nothing_asked_gives_nothing() -> None:
    assert best_first(np.array([0.3, 0.9]), 0).tolist() == []
    assert best_first(np.zeros(0), 5).tolist() == []


@pytest.mark.parametrize("seed", range(20))
def test_best_positions_are_the_best_first_in_position_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 300))
    scores = rng.integers(0, 5, count).astype(np.float64)
    rows = rng.permutation(count)
    n = int(rng.integers(1, count + 3))
    expected = np.sort(best_first(scores, n, ties=rows))
    assert best_positions(scores, n, ties=rows).tolist() == expected.tolist()
