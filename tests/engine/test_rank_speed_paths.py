"""The array paths of recall give what the per-row formulas give: noisy-OR fusion with the best
piece of evidence's reason, sharing with same-meaning neighbours, consensus and the cap."""

from __future__ import annotations

from collections import Counter
from typing import cast

import numpy as np
import pytest

from engine.index import CatalogIndex
from engine.packed_texts import PackedTexts
from engine.recall import (
    CONSENSUS,
    EMOJI_ONLY_SHARE,
    MAX_CANDIDATES,
    MAX_EVIDENCE,
    PICK_EVIDENCE,
    SHARE_FROM,
    Candidates,
    Evidence,
    Recall,
    _apply_consensus,
    _chosen_for_exact_words,
)
from engine.row_lookup import RowLookup

REASONS = ("words", "emoji", "dense", "crowd")
NOTHING_CHOSEN = np.zeros(0, np.int64)


class _Graph:
    """The parts of a CatalogIndex recall reads: its size, the meaning neighbours (here one
    list per row, as if every row had a meaning of its own) and which rows are known only by
    their emoji (none unless given)."""

    def __init__(
        self, rows: np.ndarray, sims: np.ndarray, emoji_only: np.ndarray | None = None
    ) -> None:
        self.neighbour_rows, self.neighbour_sims = rows, sims
        self.emoji_only = np.zeros(len(rows), bool) if emoji_only is None else emoji_only

    def __len__(self) -> int:
        return len(self.neighbour_rows)

    def neighbour_lists(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.neighbour_rows[rows], self.neighbour_sims[rows]  # a list per row


def _graph(rng: np.random.Generator, n: int, k: int, linked: bool) -> CatalogIndex:
    rows = rng.integers(0, n, size=(n, k)).astype(np.int32)
    rows[rng.random((n, k)) < 0.3] = -1
    rows[:, 0] = np.arange(n)  # a row is its own nearest neighbour, as in the real index
    if not linked:
        rows[:, 1:] = -1
    # Similarities on both sides of SHARE_FROM, where sharing starts.
    sims = rng.uniform(SHARE_FROM - 0.1, 1.0, size=(n, k)).astype(np.float32)
    return cast(CatalogIndex, _Graph(rows, sims, rng.random(n) < 0.3))


def _channels(rng: np.random.Generator, n: int) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Random channel evidence: repeated rows, zero and negative scores, rows out of range."""
    channels = []
    for reason in REASONS:
        size = int(rng.integers(0, 3 * n))
        rows = rng.integers(-2, n + 2, size=size)
        scores = rng.random(size) * 1.2 - 0.1
        channels.append((rows, scores, reason))
    return channels


def _scalar_fusion(
    n: int, channels: list[tuple[np.ndarray, np.ndarray, str]]
) -> dict[int, Evidence]:
    """Recall's fusion row by row: 1 - prod(1 - min(score, 0.999)), reason of the best piece."""
    miss: dict[int, float] = {}
    best: dict[int, tuple[float, str]] = {}
    for rows, scores, reason in channels:
        for row, score in zip(rows.tolist(), scores.tolist(), strict=True):
            if score <= 0 or row < 0 or row >= n:
                continue
            miss[row] = miss.get(row, 1.0) * (1.0 - min(score, MAX_EVIDENCE))
            if score > best.get(row, (0.0, ""))[0]:
                best[row] = (score, reason)
    return {row: Evidence(1.0 - m, best[row][1]) for row, m in miss.items()}


def _scalar_share(index: CatalogIndex, fused: dict[int, Evidence]) -> dict[int, Evidence]:
    """Each row takes a neighbour's relevance, scaled from nothing at SHARE_FROM to all of it at
    similarity 1, and by EMOJI_ONLY_SHARE when either is known only by its emoji, when that
    beats its own."""
    shared = dict(fused)
    for row, ev in fused.items():
        for other, sim in zip(index.neighbour_rows[row], index.neighbour_sims[row], strict=True):
            offer = ev.score * min(1.0, max(0.0, (float(sim) - SHARE_FROM) / (1 - SHARE_FROM)))
            if index.emoji_only[row] or (other >= 0 and index.emoji_only[other]):
                offer *= EMOJI_ONLY_SHARE
            if other < 0 or other == row or offer <= 0:
                continue
            if offer > shared.get(int(other), Evidence(0.0, "")).score:
                shared[int(other)] = Evidence(offer, ev.reason)
    return shared


def _recalled(
    index: CatalogIndex, channels: list[tuple[np.ndarray, np.ndarray, str]]
) -> Candidates:
    recall = Recall(index)
    for rows, scores, reason in channels:
        recall.add(rows, scores, reason)
    return recall.result()


def _assert_same(found: dict[int, Evidence], expected: dict[int, Evidence]) -> None:
    assert list(found) == list(expected)  # in the order evidence first named them
    for row, ev in expected.items():
        assert found[row].score == pytest.approx(ev.score, rel=1e-12, abs=1e-12)
        assert found[row].reason == ev.reason


@pytest.mark.parametrize("seed", range(20))
def test_fusion_matches_the_scalar_noisy_or(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    index = _graph(rng, n, 4, linked=False)
    channels = _channels(rng, n)
    _assert_same(_recalled(index, channels).as_evidence(), _scalar_fusion(n, channels))


@pytest.mark.parametrize("seed", range(20))
def test_sharing_matches_the_scalar_propagation(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 60))
    index = _graph(rng, n, 6, linked=True)
    channels = _channels(rng, n)
    expected = _scalar_share(index, _scalar_fusion(n, channels))
    _assert_same(_recalled(index, channels).as_evidence(), expected)


def test_equal_evidence_keeps_the_first_reason_and_a_row_keeps_its_own_on_a_tie() -> None:
    rows = np.array([[0, 1], [1, 0]], np.int32)
    index = cast(CatalogIndex, _Graph(rows, np.ones((2, 2), np.float32)))
    recall = Recall(index)
    for row, reason in ((0, "first"), (0, "second"), (1, "third"), (1, "fourth")):
        recall.add([row], [0.5], reason)
    found = recall.result().as_evidence()
    # each row fuses to 0.75 and offers the other exactly 0.75: neither takes the offer
    assert found == {0: Evidence(0.75, "first"), 1: Evidence(0.75, "third")}


def test_rows_come_in_the_order_evidence_first_named_them() -> None:
    rows = np.array([[0, 4], [1, -1], [2, -1], [3, 4], [4, -1]], np.int32)
    index = cast(CatalogIndex, _Graph(rows, np.full((5, 2), 0.9, np.float32)))
    recall = Recall(index)
    recall.add([3, 1], [0.2, 0.3], "words")
    recall.add([0, 3], [0.9, 0.4], "dense")
    # row 4 is only reached through sharing: it comes last
    assert recall.result().rows.tolist() == [3, 1, 0, 4]
    assert _apply_consensus(recall.result(), NOTHING_CHOSEN, 0).rows.tolist() == [3, 1, 0, 4]


def test_add_rejects_rows_and_scores_of_different_lengths() -> None:
    index = _graph(np.random.default_rng(0), 5, 2, linked=False)
    with pytest.raises(ValueError):
        Recall(index).add([1, 2], [0.5], "words")


def test_empty_recall_gives_no_evidence() -> None:
    index = _graph(np.random.default_rng(0), 5, 2, linked=True)
    recall = Recall(index)
    recall.add([], [], "words")
    assert len(_apply_consensus(recall.result(), NOTHING_CHOSEN, 0)) == 0


def _candidates(scores: np.ndarray) -> Candidates:
    rows = np.arange(len(scores), dtype=np.int64)
    reasons = np.zeros(len(scores), np.int64)
    return Candidates(rows, scores.astype(np.float64), reasons, ("words",))


def test_consensus_discounts_all_but_the_chosen() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    found = _apply_consensus(_candidates(scores), np.array([1, 3]), 2).as_evidence()
    keep = 1.0 - CONSENSUS * (1 - (1 - PICK_EVIDENCE) ** 2)
    assert [found[r].score for r in range(4)] == pytest.approx([0.9 * keep, 0.8, 0.7 * keep, 0.6])


def test_the_chosen_are_the_picked_rows_and_their_same_meaning_neighbours() -> None:
    rng = np.random.default_rng(3)
    graph = _graph(rng, 40, 5, linked=True)
    ids = [f"s{row}" for row in range(40)]
    index = cast(CatalogIndex, _WithIds(graph, RowLookup(PackedTexts.of(ids))))
    picked = Counter({"s3": 2, "s17": 1, "s30": 0, "unknown": 4})

    chosen, picks = _chosen_for_exact_words(index, picked)

    lists = graph.neighbour_rows  # type: ignore[attr-defined]
    expected = {3, 17} | {int(r) for row in (3, 17) for r in lists[row] if r >= 0}
    assert chosen.tolist() == sorted(expected)
    assert picks == 7  # every pick of the words counts, of a known sticker or not


class _WithIds:
    """A graph whose rows have sticker ids."""

    def __init__(self, graph: CatalogIndex, row_of: RowLookup) -> None:
        self.neighbour_lists, self.row_of = graph.neighbour_lists, row_of


def test_the_cap_keeps_the_most_relevant_after_consensus() -> None:
    rng = np.random.default_rng(7)
    scores = rng.random(MAX_CANDIDATES + 500)
    # just below the cut before consensus: it halves everyone else, so they make the cut
    chosen = np.argsort(-scores)[MAX_CANDIDATES : MAX_CANDIDATES + 10]
    # as recall_text cuts: after consensus
    found = _apply_consensus(_candidates(scores), chosen, 50).best(MAX_CANDIDATES).as_evidence()
    assert len(found) == MAX_CANDIDATES
    assert set(chosen.tolist()) <= found.keys()
    weakest_kept = min(ev.score for ev in found.values())
    dropped = [r for r in range(len(scores)) if r not in found]
    keep = 1.0 - CONSENSUS * (1 - (1 - PICK_EVIDENCE) ** 50)
    assert all(scores[r] * keep <= weakest_kept for r in dropped)


def test_best_breaks_ties_by_catalog_order() -> None:
    best = _candidates(np.array([0.5, 0.9, 0.5, 0.5, 0.1])).best(3)
    assert best.rows.tolist() == [0, 1, 2]  # row 3 ties with 0 and 2 but comes later; order kept


@pytest.mark.parametrize("seed", range(5))
def test_best_is_the_head_of_the_order_by_score_then_row(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = 3000
    rows = rng.permutation(10 * size)[:size].astype(np.int64)  # catalog order is not input order
    scores = rng.integers(0, 40, size) / 40  # many ties, also at the cut
    candidates = Candidates(rows, scores, np.arange(size, dtype=np.int64), ("words",))
    for n in (1, 500, 2000, size - 1):
        best = candidates.best(n)
        head = np.sort(np.lexsort((rows, -scores))[:n])  # by score, ties by row; in input order
        assert best.rows.tolist() == rows[head].tolist()
        assert best.reason_ids.tolist() == head.tolist()
