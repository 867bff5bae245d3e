"""How fast this machine runs query-like work right now: a fixed workload, timed.

The project's machines are shared virtual ones, and their speed moves with the hour: on one
day every stage of a 543,098-sticker run took 25-30% longer than the run saved an hour before,
with the same code. A run that also times this workload tells the two apart: stage times that
grew by the same factor as this one are the machine's, not the code's.

The workload does, on one thread, the kinds of work a query does (a matrix-vector product over
candidate vectors, a partial sort, grouping ids, a Python loop over a dict), with fixed inputs.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

ROUNDS = 200  # the median of many rounds: one round is a fraction of a millisecond
CANDIDATES = 2_000  # as many as a query ranks at most
DIM = 512  # the text vectors' width
SEED = 11


def reference_ms(rounds: int = ROUNDS) -> float:
    """The median milliseconds of one round of the fixed workload."""
    rng = np.random.default_rng(SEED)
    vectors = rng.standard_normal((CANDIDATES, DIM)).astype(np.float32)
    query = rng.standard_normal(DIM).astype(np.float32)
    ids = rng.integers(0, CANDIDATES // 4, CANDIDATES)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        _one_round(vectors, query, ids)
        samples.append(time.perf_counter() - start)
    return round(statistics.median(samples) * 1000, 4)


def _one_round(vectors: np.ndarray, query: np.ndarray, ids: np.ndarray) -> int:
    scores = vectors @ query
    best = np.argpartition(-scores, 50)[:50]
    groups = np.unique(ids, return_counts=True)[1]
    weights = {int(i): float(scores[i]) for i in best.tolist()}
    return len(groups) + len(weights)
