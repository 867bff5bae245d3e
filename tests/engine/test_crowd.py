"""Crowd utility of many stickers at once agrees with the one-sticker figure."""

from __future__ import annotations

import numpy as np
import pytest

from engine.crowd import Crowd
from engine.encoders import TextEncoder


def _busy_crowd(memo_encoder: TextEncoder, seed: int) -> tuple[Crowd, list[str]]:
    rng = np.random.default_rng(seed)
    crowd = Crowd(memo_encoder)
    stickers = [f"s{i}" for i in range(30)]
    events = []
    for _ in range(200):
        user = f"u{rng.integers(12)}"
        kind = "pick" if rng.random() < 0.4 else "send"
        sticker = stickers[int(rng.integers(len(stickers)))]
        crowd.add(user, kind, sticker, None)
        events.append((user, kind, sticker))
    # one user leaves: stickers only they used drop out, the widest reach may shrink
    crowd.forget([(k, s, None) for u, k, s in events if u == "u3"], "u3")
    return crowd, [*stickers, "never-used"]


@pytest.mark.parametrize("seed", range(5))
def test_utilities_equal_utility_per_sticker(memo_encoder: TextEncoder, seed: int) -> None:
    crowd, ids = _busy_crowd(memo_encoder, seed)
    many = crowd.utilities(ids)
    assert many.shape == (len(ids),)
    assert many.tolist() == pytest.approx([crowd.utility(s) for s in ids], rel=1e-12, abs=0)
    assert many[-1] == 0.0
    assert many[:-1].max() > 0


def test_utilities_of_nothing_or_unknowns_are_zero(memo_encoder: TextEncoder) -> None:
    crowd = Crowd(memo_encoder)
    assert crowd.utilities([]).shape == (0,)
    crowd.add("ann", "send", "a", None)
    assert crowd.utilities(["x", "y"]).tolist() == [0.0, 0.0]
    assert crowd.utilities(["x", "a"]).tolist() == pytest.approx([0.0, crowd.utility("a")])


def test_popular_is_the_most_useful_first_and_forgets_a_leaving_user(
    memo_encoder: TextEncoder,
) -> None:
    crowd, _ = _busy_crowd(memo_encoder, 0)
    popular = crowd.popular(10)
    utility = [crowd.utility(s) for s in popular]
    assert len(popular) == 10 and utility == sorted(utility, reverse=True)
    assert utility[0] == max(crowd.utility(s) for s in crowd.stats)
    alone = Crowd(memo_encoder)
    alone.add("loner", "send", "only-theirs", None)
    assert alone.popular(5) == ["only-theirs"]
    alone.forget([("send", "only-theirs", None)], "loner")
    assert alone.popular(5) == []  # not served from the list sorted before the deletion
