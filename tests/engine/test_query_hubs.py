"""Each logged query's density (mean cosine to its ten nearest others) follows the log as it
grows and shrinks, and a hub's closeness to a new query is marked down."""

from __future__ import annotations

import numpy as np

from engine.crowd import HUB_CORRECTION, Crowd
from engine.dense import DenseIndex
from engine.encoders import TextEncoder, l2_normalise
from engine.query_hubs import NEAREST, QueryDensity

DIM = 64


def _clustered(rows: int, seed: int) -> np.ndarray:
    """Unit vectors around 12 centres, spread as sentence vectors of a few topics are."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, DIM))
    return l2_normalise(centres[rng.integers(12, size=rows)] + 0.8 * rng.normal(size=(rows, DIM)))


def _true_densities(vectors: np.ndarray) -> np.ndarray:
    """Brute force: each row's mean cosine to its NEAREST nearest other rows."""
    cosines = vectors @ vectors.T
    np.fill_diagonal(cosines, -np.inf)
    return np.sort(cosines, axis=1)[:, -NEAREST:].mean(axis=1)


def _logged(vectors: np.ndarray, *, one_at_a_time: bool) -> tuple[DenseIndex, QueryDensity]:
    graph, density = DenseIndex(DIM, capacity=len(vectors), ef=200), QueryDensity()
    batches = (
        [np.array([row]) for row in range(len(vectors))]
        if one_at_a_time
        else [np.arange(len(vectors))]
    )
    for rows in batches:
        graph.add(vectors[rows], rows)
        density.logged(graph, rows, vectors[rows])
    return graph, density


def test_a_log_written_live_or_at_once_measures_every_query_exactly() -> None:
    vectors = _clustered(300, seed=1)
    truth = _true_densities(vectors)
    for one_at_a_time in (True, False):
        _, density = _logged(vectors, one_at_a_time=one_at_a_time)
        np.testing.assert_allclose(density.densities(np.arange(300)), truth, atol=1e-5)


def test_a_hub_is_marked_down_and_a_query_apart_is_marked_up() -> None:
    rng = np.random.default_rng(2)
    hub = l2_normalise(rng.normal(size=(1, DIM)))[0]
    crowded = l2_normalise(hub + 0.05 * rng.normal(size=(20, DIM)))  # all close to one another
    apart = l2_normalise(rng.normal(size=(20, DIM)))  # close to nothing
    vectors = np.vstack([crowded, apart]).astype(np.float32)
    _, density = _logged(vectors, one_at_a_time=False)
    corrections = density.corrections(np.arange(40))
    assert np.all(corrections[:20] > 0)
    assert np.all(corrections[20:] < 0)


def test_a_forgotten_query_leaves_no_trace_in_its_neighbours() -> None:
    vectors = _clustered(200, seed=3)
    graph, density = _logged(vectors, one_at_a_time=False)
    gone = [5, 17, 99]
    for row in gone:
        graph.remove(row)
    density.forgotten(graph, gone, vectors[gone])
    kept = np.setdiff1d(np.arange(200), gone)
    truth = _true_densities(vectors[kept])
    measured = density.densities(kept)
    # The rows nearest a forgotten one are measured anew, without it.
    cosines = vectors[gone] @ vectors[kept].T
    touched = np.unique(np.argsort(-cosines, axis=1)[:, :NEAREST])
    np.testing.assert_allclose(measured[touched], truth[touched], atol=1e-5)
    assert np.all(np.isnan(density.densities(np.array(gone))))  # none of their own left


def test_similar_queries_rank_past_queries_by_cosine_less_their_correction(
    memo_encoder: TextEncoder,
) -> None:
    crowd = Crowd(memo_encoder)
    words = ["sleepy", "tired", "good night", "party", "celebrate", "cake", "hungry", "pizza"]
    words += ["angry", "furious", "love", "heart", "cat", "kitten", "dog", "rain", "umbrella"]
    crowd.add_many([("u", "pick", f"s{i}", word) for i, word in enumerate(words)])
    query = memo_encoder.encode_text(["exhausted"])[0]
    similar = crowd.similar_queries(query, 5)
    vectors = memo_encoder.encode_text([text for text, _, _ in similar])
    rows = np.array([crowd._query_rows[text] for text, _, _ in similar])
    expected = vectors @ query - HUB_CORRECTION * crowd._density.corrections(rows)
    np.testing.assert_allclose([s for _, s, _ in similar], expected, atol=1e-4)
    assert [s for _, s, _ in similar] == sorted((s for _, s, _ in similar), reverse=True)
