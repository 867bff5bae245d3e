"""Relevant recall: which stickers mean what the text says, each with a 0..1 relevance.

Channels, each mapped to 0..1 evidence:
- lexical matches in the sticker's meaning (caption, OCR), its emoji's keywords in every
  language (weighted by how far the emoji agrees with the caption) and its pack title;
- dense similarity between the text and each sticker's meaning;
- the query log: stickers people picked after typing something that means the same;
- CLIP text-to-image similarity, when a CLIP model is configured.
Evidence is fused as a noisy-OR, then shared with stickers that mean the same thing (the same
concept drawn in another style), so one sticker's evidence finds its siblings in every pack.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from engine.crowd import Crowd
from engine.index import CatalogIndex

# Channel weights: how much a perfect match in that channel alone is trusted.
W_MEANING = 0.9
W_EMOJI = 0.85
W_TITLE = 0.4
W_DENSE = 0.8
W_CROWD = 0.95
W_CLIP = 0.6
# Similarity ranges mapped onto 0..1 evidence (below LOW nothing, above HIGH everything).
DENSE_LOW, DENSE_HIGH = 0.35, 0.85
CROWD_LOW, CROWD_HIGH = 0.55, 0.95
CLIP_LOW, CLIP_HIGH = 0.20, 0.35
PICK_EVIDENCE = 0.6  # one pick after a query is this sure; n picks: 1 - (1 - 0.6)^n
CROWD_NEIGHBOURS = 10  # past queries consulted per query
COVERAGE_POWER = 2.0  # a match of half the query's words counts a quarter
CONSENSUS = 0.5  # how far unanimous past picks for the exact words discount the alternatives


@dataclass(frozen=True, slots=True)
class Evidence:
    score: float
    reason: str


def ramp(value: float | np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip((np.asarray(value) - low) / (high - low), 0.0, 1.0)


class Recall:
    """Collects channel evidence per row, then fuses and propagates it."""

    def __init__(self, index: CatalogIndex) -> None:
        self._index = index
        self._miss: dict[int, float] = {}  # row -> product of (1 - evidence)
        self._best: dict[int, tuple[float, str]] = {}

    def add(self, rows: Iterable[int], scores: Iterable[float], reason: str) -> None:
        for row, score in zip(rows, scores, strict=True):
            if score <= 0 or row < 0 or row >= len(self._index):
                continue
            self._miss[row] = self._miss.get(row, 1.0) * (1.0 - min(score, 0.999))
            if score > self._best.get(row, (0.0, ""))[0]:
                self._best[row] = (score, reason)

    def result(self) -> dict[int, Evidence]:
        fused = {row: Evidence(1.0 - miss, self._best[row][1]) for row, miss in self._miss.items()}
        return _share_with_same_meaning(self._index, fused)


def _apply_consensus(
    evidence: dict[int, Evidence], chosen: set[int], picks: int
) -> dict[int, Evidence]:
    """People who typed exactly these words were shown the alternatives and chose `chosen`:
    the more often, the less the alternatives are worth."""
    if not chosen:
        return evidence
    keep = 1.0 - CONSENSUS * (1 - (1 - PICK_EVIDENCE) ** picks)
    return {
        row: ev if row in chosen else Evidence(ev.score * keep, ev.reason)
        for row, ev in evidence.items()
    }


def _share_with_same_meaning(
    index: CatalogIndex, fused: dict[int, Evidence]
) -> dict[int, Evidence]:
    """Each sticker also takes its same-meaning neighbours' relevance, scaled by similarity."""
    if not fused:
        return fused
    rows = np.fromiter(fused, dtype=np.int64, count=len(fused))
    scores = np.array([fused[int(r)].score for r in rows], dtype=np.float64)
    neighbours = index.neighbour_rows[rows]  # (m, K), -1 where there is no neighbour
    offered = scores[:, None] * index.neighbour_sims[rows].astype(np.float64)
    offered[(neighbours < 0) | (neighbours == rows[:, None])] = 0.0
    # For every neighbour, the best offer and which row made it (its reason travels along).
    best = _best_offers(neighbours.ravel(), offered.ravel(), np.repeat(rows, neighbours.shape[1]))
    shared = dict(fused)
    for other, (score, source) in best.items():
        if score > shared.get(other, Evidence(0.0, "")).score:
            shared[other] = Evidence(score, fused[source].reason)
    return shared


def _best_offers(
    targets: np.ndarray, offers: np.ndarray, sources: np.ndarray
) -> dict[int, tuple[float, int]]:
    keep = offers > 0
    targets, offers, sources = targets[keep], offers[keep], sources[keep]
    order = np.lexsort((-offers, targets))  # per target, the best offer first
    targets, offers, sources = targets[order], offers[order], sources[order]
    first = np.ones(len(targets), dtype=bool)
    first[1:] = targets[1:] != targets[:-1]
    return {
        int(t): (float(o), int(s))
        for t, o, s in zip(targets[first], offers[first], sources[first], strict=True)
    }


def recall_text(
    index: CatalogIndex,
    crowd: Crowd,
    text: str,
    vector: np.ndarray,
    depth: int,
    clip_vector: np.ndarray | None = None,
) -> dict[int, Evidence]:
    """Relevance of candidate rows for `text` (already embedded as `vector`)."""
    recall = Recall(index)
    _lexical(recall, index, text, depth)
    _dense(recall, index, vector, depth)
    _crowd(recall, index, crowd, text, vector)
    if clip_vector is not None and index.image_dense is not None:
        rows, sims = index.image_dense.search(clip_vector, depth)
        recall.add(rows, W_CLIP * ramp(sims, CLIP_LOW, CLIP_HIGH), "looks like it")
    chosen, picks = _chosen_for_exact_words(index, crowd, text)
    return _apply_consensus(recall.result(), chosen, picks)


def _chosen_for_exact_words(index: CatalogIndex, crowd: Crowd, text: str) -> tuple[set[int], int]:
    """Rows picked after these exact words, with their same-meaning siblings, and the picks."""
    picked = crowd.exact_query(text)
    rows = {index.row_of[s] for s, n in picked.items() if n > 0 and s in index.row_of}
    siblings = {other for row in rows for other, _ in index.neighbours(row)}
    return rows | siblings, sum(picked.values())


def _lexical(recall: Recall, index: CatalogIndex, text: str, depth: int) -> None:
    fields = index.fields
    meaning = fields["meaning"].search(text, depth)
    recall.add(
        [h.row for h in meaning],
        [W_MEANING * h.coverage**COVERAGE_POWER for h in meaning],
        "words of its caption",
    )
    emoji = fields["emoji"].search(text, depth)
    recall.add(
        [h.row for h in emoji],
        [W_EMOJI * float(index.trust[h.row]) * h.coverage**COVERAGE_POWER for h in emoji],
        "its emoji means that",
    )
    title = fields["title"].search(text, depth)
    recall.add(
        [h.row for h in title],
        [W_TITLE * h.coverage**COVERAGE_POWER for h in title],
        "its pack's title",
    )


def _dense(recall: Recall, index: CatalogIndex, vector: np.ndarray, depth: int) -> None:
    rows, sims = index.dense.search(vector, depth)
    recall.add(rows, W_DENSE * ramp(sims, DENSE_LOW, DENSE_HIGH), "its caption means that")


def _crowd(
    recall: Recall, index: CatalogIndex, crowd: Crowd, text: str, vector: np.ndarray
) -> None:
    similar = [
        (similarity, picked)
        for query, similarity, picked in crowd.similar_queries(vector, CROWD_NEIGHBOURS)
        if query != crowd.key(text)  # the exact words are counted once, below
    ]
    # The same words typed before (up to case and accents) count as a perfect match.
    for similarity, picked in [(1.0, crowd.exact_query(text)), *similar]:
        closeness = float(ramp(similarity, CROWD_LOW, CROWD_HIGH))
        if closeness <= 0:
            continue
        rows, scores = [], []
        for sticker_id, picks in picked.items():
            row = index.row_of.get(sticker_id)
            if row is not None and picks > 0:
                rows.append(row)
                scores.append(W_CROWD * closeness * (1 - (1 - PICK_EVIDENCE) ** picks))
        recall.add(rows, scores, "people picked it for that")
