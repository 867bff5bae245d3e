"""Recall's grouping of evidence by row (engine.recall._group_by_row), against a plain loop."""

from __future__ import annotations

import numpy as np
import pytest

from engine.recall import _group_by_row

ROWS = 50


def _by_loop(rows: np.ndarray, scores: np.ndarray) -> tuple[list[int], list[int]]:
    """Rows in order of first appearance, and each one's first entry at its best score."""
    order: list[int] = []
    best: dict[int, int] = {}
    for position, (row, score) in enumerate(zip(rows.tolist(), scores.tolist(), strict=True)):
        if row not in best:
            order.append(row)
            best[row] = position
        elif score > scores[best[row]]:
            best[row] = position
    return order, [best[row] for row in order]


@pytest.mark.parametrize("seed", range(5))
def test_rows_come_in_first_order_with_their_first_best_entry(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, ROWS, 200)
    scores = rng.integers(0, 4, 200) / 4  # many ties: the first of equal ones must win
    grouped = _group_by_row(rows, scores)
    best = grouped.best[grouped.seen]
    order, want = _by_loop(rows, scores)
    assert rows[best].tolist() == order
    assert best.tolist() == want


def test_each_rows_entries_come_together_in_input_order() -> None:
    rng = np.random.default_rng(7)
    rows = rng.integers(0, ROWS, 300)
    factors = rng.random(300)
    grouped = _group_by_row(rows, factors)
    product = np.multiply.reduceat(factors[grouped.order], grouped.starts)
    for group, value in enumerate(product.tolist()):
        row = rows[grouped.order[grouped.starts[group]]]
        expected = 1.0
        for factor in factors[rows == row].tolist():
            expected *= factor
        assert value == expected  # the same order of products: bit for bit


def test_no_entries_give_no_groups() -> None:
    grouped = _group_by_row(np.zeros(0, np.int64), np.zeros(0))
    assert len(grouped.starts) == 0 and len(grouped.best) == 0 and len(grouped.seen) == 0
