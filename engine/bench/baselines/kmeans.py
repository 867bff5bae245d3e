"""A small seeded k-means (Lloyd's algorithm, k-means++ start) on numpy.

scikit-learn would do the same, but it is not a runtime dependency of the project and a user's
history holds tens of points, so forty lines of numpy are enough.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_ITERATIONS = 100  # Lloyd's converges in a handful of steps on tens of points
# Centroid movement below this (squared, summed) counts as converged: far under any style gap.
TOLERANCE = 1e-10


@dataclass(frozen=True)
class Clusters:
    """Centroids (k, dim), each point's cluster (n,), and each cluster's radius (k,).

    The radius is the largest distance from a centroid to one of its members, the threshold
    PerSRV keeps per cluster."""

    centroids: np.ndarray
    labels: np.ndarray
    radii: np.ndarray


def kmeans(points: np.ndarray, k: int, seed: int = 0) -> Clusters:
    """Cluster `points` (n, dim) into at most `k` clusters (fewer when fewer distinct points)."""
    data = np.asarray(points, dtype=np.float64)
    k = min(k, len(np.unique(data, axis=0)))
    if k < 1:
        raise ValueError("k-means needs at least one point")
    rng = np.random.default_rng(seed)
    centroids = _plus_plus(data, k, rng)
    labels = _assign(data, centroids)
    for _ in range(MAX_ITERATIONS):
        moved = _update(data, labels, centroids)
        labels = _assign(data, centroids)
        if moved < TOLERANCE:
            break
    return Clusters(centroids, labels, _radii(data, labels, centroids))


def _sq_distances(data: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    return ((data[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)


def _plus_plus(data: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++: each next centre drawn with probability proportional to squared distance."""
    centroids = [data[rng.integers(len(data))]]
    for _ in range(1, k):
        nearest = _sq_distances(data, np.asarray(centroids)).min(axis=1)
        total = nearest.sum()
        if total <= 0:  # every point already sits on a centre
            break
        centroids.append(data[rng.choice(len(data), p=nearest / total)])
    return np.asarray(centroids)


def _assign(data: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    return np.asarray(_sq_distances(data, centroids).argmin(axis=1))


def _update(data: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> float:
    """Move each centroid to its members' mean in place; returns the total squared movement.

    An emptied cluster keeps its centroid (it cannot happen at the first step, since every
    centre is a data point, and rarely later on such small inputs)."""
    moved = 0.0
    for cluster in range(len(centroids)):
        members = data[labels == cluster]
        if len(members):
            mean = members.mean(axis=0)
            moved += float(((mean - centroids[cluster]) ** 2).sum())
            centroids[cluster] = mean
    return moved


def _radii(data: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    distances = np.sqrt(_sq_distances(data, centroids)[np.arange(len(data)), labels])
    radii = np.zeros(len(centroids))
    np.maximum.at(radii, labels, distances)
    return radii
