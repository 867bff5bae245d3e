"""Which packs are drawn alike, so that taste reaches packs the user never opened.

Two kinds of evidence, each kept as every pack's NEIGHBOURS closest packs:
- pixels: the cosine of the packs' style vectors (engine/style.py), known from the catalog alone;
- people: the cosine of the packs' co-usage (item-to-item collaborative filtering). People who
  send one pack send others drawn the same way, which pixel features only approximate.
Averaged and normalised per pack, the two make a random walk over packs. A user's closeness to
a pack is where WALK_STEPS steps from their recent packs lead, relative to the pack reached
most: the second step reaches packs alike to the packs alike to theirs.

On the development sets, style@5 went from 0.773 to 0.801 (emoji-dev-sparse) and from 0.710 to
0.721 (emoji-dev) with half of style closeness from this walk. NEIGHBOURS between 8 and 12 scored
alike there; 4 and 16 or more scored lower: a long tail of weak neighbours flattens the walk.
Co-usage is counted anew in a worker thread (a sparse product of users by packs), at most every
REFRESH_SECONDS, or at once after a user's data is deleted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy import sparse

from engine.background import BackgroundWork
from engine.encoders import l2_normalise
from engine.usage import Usage

NEIGHBOURS = 10  # per pack, by pixels and by people each
WALK_STEPS = 2
REFRESH_SECONDS = 60.0  # co-usage moves slowly; counting it costs a sparse product of all uses
# Packs whose neighbours are found at once: bounds the dense (BLOCK, packs) scores and their
# temporaries (the partition's int64 indices among them). At 7,200 packs (543k stickers), 512
# at once made each index install the peak of a live growth: 1,486-1,510 MB, and 1,404 MB
# with 128 (measured in one process that opened the folder and grew it by 20 stickers).
BLOCK = 128


@dataclass(frozen=True)
class _Walk:
    """One step of the walk: from each pack to `targets[pack]` with `weights[pack]` (summing
    to 1 per pack, 0 in unused places)."""

    targets: np.ndarray  # (packs, 2 x NEIGHBOURS) int64
    weights: np.ndarray  # (packs, 2 x NEIGHBOURS) float32


class PackNeighbours:
    """The walk over one catalog's packs, kept up to date with the crowd's usage."""

    def __init__(
        self, pack_vectors: np.ndarray, pack_of_row: np.ndarray, row_of: Mapping[str, int]
    ) -> None:
        self._pack_of_row = pack_of_row
        self._row_of = row_of  # identifies the catalog the usage must be bound to
        self._pack_vectors = pack_vectors
        self._by_pixels: tuple[np.ndarray, np.ndarray] | None = None  # on the first count
        self._walk: _Walk | None = None
        self._seen = (-1, -1)  # usage (revision, clears) the walk counts
        self._pairs_seen = 0  # (user, sticker) pairs the walk counts
        self._counted_at = -math.inf
        self._counting = BackgroundWork()

    def follow(self, usage: Usage) -> None:
        """Count co-usage now if never counted, or if counted before anyone used the catalog;
        anew in the background when usage changed and REFRESH_SECONDS have passed, or at once
        after a clear (no deleted user's share stays)."""
        state = (usage.revision, usage.clears)
        if self._walk is None or self._pairs_seen == 0 < usage.pair_count:
            self._count(usage, state)  # cheap: few uses so far, or the first count at start-up
            return
        stale = time.monotonic() - self._counted_at > REFRESH_SECONDS
        if state != self._seen and (stale or state[1] != self._seen[1]):
            self._count_in_background(usage, state)

    def closeness(self, recent: Mapping[int, float]) -> np.ndarray | None:
        """0..1 per pack: where the walk from the packs `recent` (pack number -> weight) leads,
        relative to the most reached pack; None before the walk exists or without packs."""
        walk = self._walk
        if walk is None or not recent:
            return None
        packs: np.ndarray = np.fromiter(recent, np.int64, len(recent))
        mass: np.ndarray = np.fromiter(recent.values(), np.float32, len(recent))
        reached: np.ndarray = np.zeros(len(walk.targets), np.float64)
        for _ in range(WALK_STEPS):
            spread = walk.weights[packs] * mass[:, None]
            reached = np.bincount(walk.targets[packs].ravel(), spread.ravel(), len(walk.targets))
            packs = np.flatnonzero(reached)
            mass = reached[packs].astype(np.float32)
        top = float(reached.max(initial=0.0))
        return (reached / top).astype(np.float32) if top > 0 else None

    def _count_in_background(self, usage: Usage, state: tuple[int, int]) -> None:
        if self._counting.start(partial(self._count, usage, state)):
            self._counted_at = time.monotonic()  # one count per period, however many queries

    def _count(self, usage: Usage, state: tuple[int, int]) -> None:
        # All pairs, in this catalog or not: uses of stickers it lacks must not make every
        # query count again as if nobody had used anything yet.
        pair_count = usage.pair_count
        pairs = usage.pairs_by_row(self._row_of)
        if pairs is None:  # the usage follows another catalog: this one is being replaced
            return
        if self._by_pixels is None:
            unit = l2_normalise(self._pack_vectors)
            self._by_pixels = _closest(unit, unit)
        users, rows = pairs
        self._pairs_seen = pair_count
        by_people = _co_usage_closest(users, self._pack_of_row[rows], len(self._pack_vectors))
        self._walk = _combined(self._by_pixels, by_people)
        self._seen, self._counted_at = state, time.monotonic()


def _closest(
    rows: np.ndarray | sparse.csr_array, columns: np.ndarray | sparse.csr_array
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's NEIGHBOURS best columns of rows @ columns.T, negatives as 0:
    (indices, scores), each (rows, NEIGHBOURS), by blocks of rows."""
    count = rows.shape[0]
    keep = min(NEIGHBOURS, columns.shape[0])
    indices = np.zeros((count, keep), np.int64)
    scores = np.zeros((count, keep), np.float32)
    for start in range(0, count, BLOCK):
        block = rows[start : start + BLOCK] @ columns.T
        block = np.clip(block.toarray() if sparse.issparse(block) else block, 0.0, None)
        best = np.argpartition(-block, keep - 1, axis=1)[:, :keep]
        indices[start : start + BLOCK] = best
        scores[start : start + BLOCK] = np.take_along_axis(block, best, axis=1)
    return indices, scores


def _co_usage_closest(
    users: np.ndarray, packs: np.ndarray, pack_count: int
) -> tuple[np.ndarray, np.ndarray]:
    """`_closest` by co-usage cosine. Each user's uses are shares summing to 1, so a user of
    many packs does not outweigh everyone else."""
    if len(users) == 0:
        return np.zeros((pack_count, 1), np.int64), np.zeros((pack_count, 1), np.float32)
    _, user_numbers = np.unique(users, return_inverse=True)
    uses = sparse.csr_array(
        (np.ones(len(users), np.float32), (user_numbers, packs)),
        shape=(int(user_numbers.max()) + 1, pack_count),
    )  # duplicates add up: stickers of one pack a user used
    uses = sparse.csr_array(uses.multiply(1.0 / uses.sum(axis=1)[:, None]))
    norms = np.sqrt(np.asarray(uses.multiply(uses).sum(axis=0))).ravel()
    by_pack = sparse.csr_array(uses.multiply(1.0 / np.maximum(norms, 1e-12)[None, :]).T)
    return _closest(by_pack, by_pack)


def _combined(
    by_pixels: tuple[np.ndarray, np.ndarray], by_people: tuple[np.ndarray, np.ndarray]
) -> _Walk:
    """The two neighbour lists side by side, averaged and normalised to sum to 1 per pack."""
    targets = np.concatenate([by_pixels[0], by_people[0]], axis=1)
    weights = np.concatenate([by_pixels[1], by_people[1]], axis=1)
    totals = weights.sum(axis=1, keepdims=True)
    weights = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
    return _Walk(targets, weights.astype(np.float32))
