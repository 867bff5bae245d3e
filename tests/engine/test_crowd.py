"""Crowd utility of many stickers at once agrees with the one-sticker figure; the popular
list is sorted off the query path and forgets deleted users."""

from __future__ import annotations

import math
import threading
from collections import Counter

import numpy as np
import pytest

import engine.crowd as crowd_module
from engine.crowd import Crowd
from engine.encoders import TextEncoder


def _busy_crowd(memo_encoder: TextEncoder, seed: int) -> tuple[Crowd, list[str], list[Use]]:
    """A crowd after 200 random events, one user of whom then left; with the events kept."""
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
    kept = [e for e in events if e[0] != "u3"]
    return crowd, [*stickers, "never-used"], kept


Use = tuple[str, str, str]  # (user, kind, sticker)


def _reference_utility(events: list[Use], sticker: str) -> float:
    """The utility formula, straight from the events."""
    users = {u for u, _, s in events if s == sticker}
    if not users:
        return 0.0
    widest = max(Counter(s for _, s in {(u, s) for u, _, s in events}).values())
    picks = sum(1 for _, k, s in events if s == sticker and k == "pick")
    sends = sum(1 for _, k, s in events if s == sticker and k == "send")
    reach = math.log1p(len(users)) / math.log1p(widest)
    return 0.8 * reach + 0.2 * (picks + 1) / (picks + sends + 2)


@pytest.mark.parametrize("seed", range(5))
def test_utilities_follow_the_formula_after_a_user_leaves(
    memo_encoder: TextEncoder, seed: int
) -> None:
    crowd, ids, events = _busy_crowd(memo_encoder, seed)
    many = crowd.utilities(ids)
    assert many.shape == (len(ids),)
    assert many.tolist() == pytest.approx([_reference_utility(events, s) for s in ids], rel=1e-12)
    assert [crowd.utility(s) for s in ids] == many.tolist()
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
    crowd, _, _ = _busy_crowd(memo_encoder, 0)
    popular = crowd.popular(10)
    utility = [crowd.utility(s) for s in popular]
    assert len(popular) == 10 and utility == sorted(utility, reverse=True)
    assert utility[0] == max(crowd.utility(s) for s in crowd.usage.used())
    alone = Crowd(memo_encoder)
    alone.add("loner", "send", "only-theirs", None)
    assert alone.popular(5) == ["only-theirs"]
    alone.forget([("send", "only-theirs", None)], "loner")
    assert alone.popular(5) == []  # not served from the list sorted before the deletion


class _HeldSort:
    """Replaces Crowd._sort_popular on one crowd: the background sort reads the crowd at once,
    then waits until released before handing its list over."""

    def __init__(self, crowd: Crowd) -> None:
        self.release = threading.Event()
        self._sort = crowd._sort_popular

    def __call__(self) -> list[str]:
        ordered = self._sort()
        self.release.wait(timeout=10)
        return ordered


def _stale_crowd(
    memo_encoder: TextEncoder, monkeypatch: pytest.MonkeyPatch
) -> tuple[Crowd, _HeldSort]:
    """A crowd whose popular list is stale at once, its next background sort held."""
    crowd = Crowd(memo_encoder)
    crowd.add("ann", "send", "a", None)
    assert crowd.popular(5) == ["a"]  # the first list is sorted at once
    for user in ("bob", "cy"):
        crowd.add(user, "send", "b", None)
    monkeypatch.setattr(crowd_module, "POPULAR_REFRESH_SECONDS", 0.0)
    held = _HeldSort(crowd)
    monkeypatch.setattr(crowd, "_sort_popular", held)
    return crowd, held


def _finish_sort(crowd: Crowd, held: _HeldSort) -> None:
    held.release.set()
    assert crowd._sorting is not None
    crowd._sorting.join(timeout=10)


def test_a_stale_popular_list_is_served_while_it_is_sorted_anew(
    memo_encoder: TextEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    crowd, held = _stale_crowd(memo_encoder, monkeypatch)
    assert crowd.popular(5) == ["a"]  # stale, and the query did not wait for the sort
    assert crowd.popular(5) == ["a"]  # a second query starts no second sort
    _finish_sort(crowd, held)
    assert crowd.popular(5) == ["b", "a"]


def test_a_sort_begun_before_a_deletion_is_discarded(
    memo_encoder: TextEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    crowd, held = _stale_crowd(memo_encoder, monkeypatch)
    crowd.popular(5)  # starts the background sort, which reads "a" as still used
    crowd.forget([("send", "a", None)], "ann")
    _finish_sort(crowd, held)
    assert crowd.popular(5) == ["b"]  # sorted anew after the deletion, without "a"


def test_mean_query_is_the_shrunk_average_and_forgets_a_leaving_user(
    memo_encoder: TextEncoder,
) -> None:
    crowd = Crowd(memo_encoder)
    np.testing.assert_array_equal(crowd.mean_query(), np.zeros(memo_encoder.dim))
    picks = [("u1", "sleepy"), ("u1", "Sleepy "), ("u2", "ciao"), ("u2", "happy birthday")]
    for user, query in picks:
        crowd.add(user, "pick", "s1", query)
    crowd.add("u2", "send", "s2", None)
    distinct = ["sleepy", "ciao", "happy birthday"]  # "Sleepy " is the same words again
    vectors = memo_encoder.encode_text(distinct)
    expected = vectors.sum(axis=0) / (len(distinct) + crowd_module.MEAN_QUERY_PRIOR)
    np.testing.assert_allclose(crowd.mean_query(), expected, atol=1e-6)
    crowd.forget([("pick", "s1", "ciao"), ("pick", "s1", "happy birthday")], "u2")
    expected = vectors[0] / (1 + crowd_module.MEAN_QUERY_PRIOR)
    np.testing.assert_allclose(crowd.mean_query(), expected, atol=1e-6)
