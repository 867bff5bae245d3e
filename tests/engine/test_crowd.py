"""Crowd utility of many stickers at once agrees with the one-sticker figure; the popular
list is sorted off the query path and forgets deleted users."""

from __future__ import annotations

import math
import threading
from collections import Counter

import numpy as np
import pytest

import engine.crowd as crowd_module
from engine.crowd import Crowd, CrowdRow
from engine.encoders import TextEncoder


def _random_rows(seed: int) -> list[CrowdRow]:
    """200 random events of 12 users on 30 stickers; picks follow one of 8 queries."""
    rng = np.random.default_rng(seed)
    rows: list[CrowdRow] = []
    for _ in range(200):
        user = f"u{rng.integers(12)}"
        kind = "pick" if rng.random() < 0.4 else "send"
        query = f"words {rng.integers(8)}" if kind == "pick" else None
        rows.append((user, kind, f"s{rng.integers(30)}", query))
    return rows


def _leave(crowd: Crowd, user: str, rows: list[CrowdRow]) -> list[CrowdRow]:
    """What the engine does once a user's events are deleted: recount the stickers they used
    from the events left. Returns those."""
    kept = [row for row in rows if row[0] != user]
    crowd.recount(crowd.used_by(user), kept)
    return kept


def _busy_crowd(memo_encoder: TextEncoder, seed: int) -> tuple[Crowd, list[str], list[Use]]:
    """A crowd after 200 random events, one user of whom then left; with the events kept."""
    crowd = Crowd(memo_encoder)
    rows = _random_rows(seed)
    for row in rows:
        crowd.add(*row)
    # one user leaves: stickers only they used drop out, the widest reach may shrink
    kept = _leave(crowd, "u3", rows)
    return crowd, [*[f"s{i}" for i in range(30)], "never-used"], [row[:3] for row in kept]


Use = tuple[str, str, str]  # (user, kind, sticker)


@pytest.mark.parametrize("seed", range(3))
def test_a_crowd_a_user_left_equals_one_counted_without_them(
    memo_encoder: TextEncoder, seed: int
) -> None:
    rows = _random_rows(seed)
    crowd = Crowd(memo_encoder)
    crowd.add_many(rows)
    kept = _leave(crowd, "u3", rows)
    fresh = Crowd(memo_encoder)
    fresh.add_many(kept)
    ids = [f"s{i}" for i in range(30)]
    assert crowd.used_by("u3") == []
    assert crowd.utilities(ids).tolist() == fresh.utilities(ids).tolist()
    for words in {row[3] for row in rows if row[3]}:
        assert crowd.exact_query(words) == fresh.exact_query(words)
    np.testing.assert_allclose(crowd.mean_query(), fresh.mean_query(), atol=1e-6)
    crowd.recount(None, kept)  # counting everything anew changes nothing
    assert crowd.utilities(ids).tolist() == fresh.utilities(ids).tolist()


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
    _leave(alone, "loner", [("loner", "send", "only-theirs", None)])
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
    crowd._sorting.wait(timeout=10)


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
    _leave(crowd, "ann", [("ann", "send", "a", None), ("bob", "send", "b", None)])
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
    _leave(crowd, "u2", [(user, "pick", "s1", query) for user, query in picks])
    expected = vectors[0] / (1 + crowd_module.MEAN_QUERY_PRIOR)
    np.testing.assert_allclose(crowd.mean_query(), expected, atol=1e-6)


def test_a_query_still_being_typed_finds_what_people_picked_after_its_completions(
    memo_encoder: TextEncoder,
) -> None:
    crowd = Crowd(memo_encoder)
    rows: list[CrowdRow] = [
        ("u1", "pick", "bed", "Sleepy"),
        ("u2", "pick", "bed", "sleepy"),
        ("u2", "pick", "zzz", "sleeping"),
        ("u3", "pick", "shirt", "sleeve"),
        ("u3", "pick", "moon", "slee"),  # typed in full once: a word of its own, not a start
        ("u3", "pick", "tired", "so sleepy"),
    ]
    crowd.add_many(rows)

    def completed(text: str) -> list[dict[str, int]]:
        return sorted((dict(c) for c in crowd.completed_queries(text)), key=str)

    # the exact words are not a completion of themselves
    assert completed("SLEE") == [{"bed": 2}, {"shirt": 1}, {"zzz": 1}]
    assert completed("so slee") == [{"tired": 1}]  # the whole query is what is completed
    assert completed("slee ") == []  # finished typing
    assert completed("sle") == []  # too short to complete
    # the words leave the log with the last pick behind them
    _leave(crowd, "u2", rows)
    assert completed("slee") == [{"bed": 1}, {"shirt": 1}]


def test_completions_read_midway_through_a_recount_skip_the_dropped_words(
    memo_encoder: TextEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queries run in worker threads while a deletion's recount drops words from the log: one
    that reads the completions in between must not fail on a word already dropped."""
    crowd = Crowd(memo_encoder)
    rows: list[CrowdRow] = [("u1", "pick", "bed", "sleepy"), ("u2", "pick", "zzz", "sleeping")]
    crowd.add_many(rows)
    seen: list[list[dict[str, int]]] = []
    remove = crowd._vectors.remove

    def remove_and_look(row: int) -> None:  # runs after "sleeping" left the word table
        seen.append([dict(c) for c in crowd.completed_queries("slee")])
        remove(row)

    monkeypatch.setattr(crowd._vectors, "remove", remove_and_look)
    _leave(crowd, "u2", rows)
    assert seen == [[{"bed": 1}]]
    assert [dict(c) for c in crowd.completed_queries("slee")] == [{"bed": 1}]
