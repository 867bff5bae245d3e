"""A word's focus: picks of one meaning score 1, picks as spread as chance 0, and the weight
keeps a word seen a few times near its full weight."""

from __future__ import annotations

import numpy as np
import pytest

from engine.word_focus import FOCUSED, PICKS_PRIOR, _mean_square, focus, weight

AXES = np.eye(8)
MEAN_SQUARE = 1 / 8  # |μ|² of the eight axes: their mean is 1/8 along each


def _spread(picks: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`picks` picks drawn at random among the eight axes (one row per distinct axis)."""
    drawn = np.bincount(rng.integers(0, len(AXES), picks), minlength=len(AXES))
    return AXES[drawn > 0], drawn[drawn > 0].astype(float)


def test_picks_of_one_meaning_are_fully_focused() -> None:
    assert focus(AXES[:1], np.array([7.0]), MEAN_SQUARE) == pytest.approx(1.0)


def test_one_pick_cannot_be_spread() -> None:
    assert focus(AXES[:1], np.array([1.0]), 0.2) == 1.0


def test_picks_at_random_score_about_zero() -> None:
    """Averaged over many draws: κ's expectation is 0 by construction."""
    rng = np.random.default_rng(0)
    kappas = [focus(*_spread(40, rng), MEAN_SQUARE) for _ in range(300)]
    assert abs(float(np.mean(kappas))) < 0.02
    assert max(kappas) < FOCUSED / 2


def test_picks_mostly_of_one_meaning_score_between() -> None:
    vectors, counts = AXES[:3], np.array([30.0, 5.0, 5.0])
    assert 0.3 < focus(vectors, counts, MEAN_SQUARE) < 0.9


def test_the_catalogs_mean_leaves_out_rows_with_no_meaning() -> None:
    rows = np.vstack([AXES * 3, np.zeros((5, 8))])
    assert _mean_square(rows) == pytest.approx(MEAN_SQUARE)
    assert _mean_square(np.zeros((3, 8))) == 0.0


@pytest.mark.parametrize("kappa", [FOCUSED, 0.6, 1.0])
def test_a_focused_word_weighs_in_full(kappa: float) -> None:
    assert weight(kappa, 500) == 1.0


def test_an_unfocused_word_weighs_less_the_more_picks_show_it() -> None:
    weights = [weight(0.0, picks) for picks in (2, PICKS_PRIOR, 100, 1000)]
    assert weights == sorted(weights, reverse=True)
    assert weights[1] == pytest.approx(0.5)
    assert weights[-1] < 0.02
    assert weight(-0.3, 100) == weight(0.0, 100)  # spread beyond chance is no less than none
    assert weight(FOCUSED / 2, PICKS_PRIOR) == pytest.approx(0.75)
