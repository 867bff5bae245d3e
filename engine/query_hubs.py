"""How crowded each logged query's neighbourhood is, so that a hub lends less.

A sentence encoder puts some texts close to nearly everything. On emoji-dev the past query
"ensnare" was among the nearest of "insaponare", "asno", "otarie" and "voltereta" (words the
bundled model hardly knows), and lent each of them what people had picked after it: a hook.
CSLS (Conneau et al., 2018, "Word translation without parallel data") reads a neighbour's
cosine less how close that neighbour is, on average, to its own nearest neighbours: a hub is
close to everything, so its closeness to one more text says less.

Each logged query keeps the cosines to its NEAREST nearest other logged queries. A query
logged later offers its cosine to the older ones it finds among its own nearest (OFFERED_TO),
so the figures follow the log as it grows without the log being searched again.
"""

from __future__ import annotations

import numpy as np

from engine.dense import DenseIndex

NEAREST = 10  # neighbours whose mean cosine is a query's density (as in CSLS)
# The older queries a new one offers its cosine to: those among its own nearest this many.
# Nearness is not mutual, so offering to its ten nearest alone left half of the densities of a
# log written one query at a time a little low (on 300 clustered vectors); forty left none.
OFFERED_TO = 4 * NEAREST
INITIAL_ROWS = 1024


class QueryDensity:
    """Per query row of a DenseIndex: the mean cosine to its NEAREST nearest other rows.

    Writes (`logged`, `forgotten`) are the caller's to serialise; reads may run alongside."""

    def __init__(self) -> None:
        # Free slots hold -inf, below any cosine.
        self._nearest = np.full((INITIAL_ROWS, NEAREST), -np.inf, np.float32)
        self._density = np.full(INITIAL_ROWS, np.nan, np.float64)
        self._sum = 0.0  # of the rows' densities, for their mean
        self._counted = 0  # rows that have one

    def logged(self, graph: DenseIndex, rows: np.ndarray, vectors: np.ndarray) -> None:
        """`rows` were just added to `graph` with `vectors`: find their nearest, and offer
        each older row found among them the new cosine."""
        if len(rows) == 0:
            return
        self._make_room(int(rows.max()) + 1)
        found, cosines = graph.search_many(vectors, OFFERED_TO + 1)
        first_new = int(rows.min())
        for row, neighbours, sims in zip(rows.tolist(), found, cosines, strict=True):
            others = neighbours != row
            self._set(row, sims[others][:NEAREST])
            for other, cosine in zip(
                neighbours[others].tolist(), sims[others].tolist(), strict=True
            ):
                if other < first_new:  # a new row found among these finds this one itself
                    self._offer(other, cosine)

    def forgotten(self, graph: DenseIndex, rows: list[int], vectors: np.ndarray) -> None:
        """`rows` (with `vectors`) were just removed from `graph`: they lose their density, and
        the rows nearest them are measured again without them."""
        for row in rows:
            self._set(row, np.zeros(0, np.float32))
        if len(graph) == 0 or not rows:
            return
        found, _ = graph.search_many(vectors, NEAREST)
        self._measure(graph, np.unique(found))

    def _measure(self, graph: DenseIndex, rows: np.ndarray) -> None:
        """Measure `rows` (still in `graph`) anew, from a search of their own."""
        found, cosines = graph.search_many(graph.vectors(rows), NEAREST + 1)
        for row, neighbours, sims in zip(rows.tolist(), found, cosines, strict=True):
            self._set(row, sims[neighbours != row][:NEAREST])

    def corrections(self, rows: np.ndarray) -> np.ndarray:
        """How much more crowded each row's neighbourhood is than the log's average (0 for a
        row with no neighbours yet): what to take off its cosine to a query."""
        return np.nan_to_num(self.densities(rows) - self.mean(), nan=0.0)

    def densities(self, rows: np.ndarray) -> np.ndarray:
        """Each row's mean cosine to its nearest others; NaN for a row with none."""
        density = self._density  # one read: a growth may replace the array meanwhile
        values = np.full(len(rows), np.nan)
        inside = rows < len(density)
        values[inside] = density[rows[inside]]
        return values

    def mean(self) -> float:
        """The average density over the rows that have one (NaN while none has)."""
        return self._sum / self._counted if self._counted else np.nan

    def _set(self, row: int, cosines: np.ndarray) -> None:
        self._nearest[row] = -np.inf
        self._nearest[row, : len(cosines)] = cosines
        self._update(row)

    def _offer(self, row: int, cosine: float) -> None:
        """One more neighbour of `row`: kept if it is nearer than its farthest (or a slot is
        free)."""
        slots = self._nearest[row]
        farthest = int(np.argmin(slots))
        if cosine > slots[farthest]:
            slots[farthest] = cosine
            self._update(row)

    def _update(self, row: int) -> None:
        before = self._density[row]
        if not np.isnan(before):
            self._sum -= before
            self._counted -= 1
        kept = self._nearest[row][np.isfinite(self._nearest[row])]
        after = float(kept.mean()) if len(kept) else np.nan
        self._density[row] = after
        if not np.isnan(after):
            self._sum += after
            self._counted += 1

    def _make_room(self, rows: int) -> None:
        if rows <= len(self._density):
            return
        size = max(rows, 2 * len(self._density))
        nearest = np.full((size, NEAREST), -np.inf, np.float32)
        nearest[: len(self._nearest)] = self._nearest
        density = np.full(size, np.nan, np.float64)
        density[: len(self._density)] = self._density
        self._nearest, self._density = nearest, density
