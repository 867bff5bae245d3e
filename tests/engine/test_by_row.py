"""Entries grouped by row (engine.by_row), against a plain loop over the same entries."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from engine import by_row
from engine.by_row import group_by_row, product_by_row

SIZE = 50


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
    rows = rng.integers(0, SIZE, 200)
    scores = rng.integers(0, 4, 200) / 4  # many ties: the first of equal ones must win
    grouped = group_by_row(rows, scores, SIZE)
    order, best = _by_loop(rows, scores)
    assert grouped.rows.tolist() == order
    assert grouped.best.tolist() == best


def test_the_product_is_each_rows_factors_multiplied_in_entry_order() -> None:
    rng = np.random.default_rng(7)
    rows = rng.integers(0, SIZE, 300)
    factors = rng.random(300)
    grouped, product = product_by_row(rows, factors, factors, SIZE)
    for row, value in zip(grouped.rows.tolist(), product.tolist(), strict=True):
        expected = 1.0
        for factor in factors[rows == row].tolist():
            expected *= factor
        assert value == expected  # the same order of products: bit for bit


def test_a_call_leaves_nothing_behind_for_the_next() -> None:
    first = group_by_row(np.array([3, 3, 9]), np.array([0.9, 0.2, 0.5]), SIZE)
    assert first.rows.tolist() == [3, 9] and first.best.tolist() == [0, 2]
    rows, scores, factors = np.array([9, 3]), np.array([0.1, 0.2]), np.array([0.5, 0.25])
    for _ in range(2):  # the same answer twice: the products too start again from 1
        again, product = product_by_row(rows, scores, factors, SIZE)
        assert again.rows.tolist() == [9, 3] and again.best.tolist() == [0, 1]
        assert product.tolist() == [0.5, 0.25]


def test_no_entries_give_no_rows() -> None:
    grouped = group_by_row(np.zeros(0, np.int64), np.zeros(0), SIZE)
    assert len(grouped.rows) == 0 and len(grouped.best) == 0


def test_a_larger_catalog_gets_larger_arrays() -> None:
    group_by_row(np.array([1]), np.array([1.0]), SIZE)
    grown = group_by_row(np.array([SIZE * 4]), np.array([1.0]), SIZE * 4 + 1)
    assert grown.rows.tolist() == [SIZE * 4]


def test_threads_at_once_borrow_sets_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(by_row, "_free", [])
    both_holding = threading.Barrier(2, timeout=10)
    borrowed: list[object] = []

    def hold() -> None:
        with by_row._borrowed(SIZE) as scratch:
            borrowed.append(scratch)
            both_holding.wait()  # neither gives its set back before the other has one

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(borrowed) == 2 and borrowed[0] is not borrowed[1]
    assert len(by_row._free) == 2  # both given back, for the next queries
