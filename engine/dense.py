"""Approximate nearest neighbours over unit vectors with hnswlib (cosine space)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import hnswlib
import numpy as np

HNSW_M = 16  # links per node: recall@10 >= 0.97 at 543k with ef=128 (FACTS.md)
HNSW_EF_CONSTRUCTION = 100
GROWTH = 1.5  # capacity grows geometrically so live additions rarely resize
MIN_SHIFTED_NORM = 1e-6  # below it a shifted query has no direction left to search along


class DenseIndex:
    """Rows are the caller's integer ids; vectors must be L2-normalised float32."""

    def __init__(self, dim: int, capacity: int = 1024, ef: int = 128) -> None:
        self.dim = dim
        self._ef = ef
        self._index = hnswlib.Index(space="cosine", dim=dim)
        self._index.init_index(
            max_elements=max(capacity, 16), ef_construction=HNSW_EF_CONSTRUCTION, M=HNSW_M
        )
        self._index.set_ef(ef)
        self._lock = threading.Lock()  # hnswlib add/resize is not safe against concurrent adds
        self._deleted = 0

    def set_ef(self, ef: int) -> None:
        """Search breadth: candidates kept while walking the graph (at least k per search)."""
        self._ef = ef
        self._index.set_ef(ef)

    def __len__(self) -> int:
        """Searchable rows (added minus removed)."""
        return int(self._index.get_current_count()) - self._deleted

    def add(self, vectors: np.ndarray, rows: np.ndarray, *, threads: int = 1) -> None:
        """Insert rows; `threads=-1` uses every core (offline builds), 1 keeps a serving
        process's other core free for queries."""
        if len(rows) == 0:
            return
        with self._lock:
            needed = int(self._index.get_current_count()) + len(rows)
            if needed > self._index.get_max_elements():
                self._index.resize_index(int(needed * GROWTH))
            vectors = np.asarray(vectors, dtype=np.float32)
            self._index.add_items(vectors, rows, num_threads=threads)

    def remove(self, row: int) -> None:
        """Hide a row from searches (hnswlib marks it deleted; its slot is not reused)."""
        with self._lock:
            self._index.mark_deleted(row)
            self._deleted += 1

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cosine similarities), best first."""
        k = min(k, len(self))
        if k == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        self._index.set_ef(max(self._ef, k))
        labels, distances = self._index.knn_query(vector.reshape(1, -1), k=k, num_threads=1)
        return labels[0].astype(np.int64), (1.0 - distances[0]).astype(np.float32)

    def search_beyond(
        self, vector: np.ndarray, typical: np.ndarray, baseline: float, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows best first by how much closer they are to `vector` than to `typical`:
        (rows, v·c - t·c + baseline). Searching with v - t gives that order straight from the
        graph (cosine space divides by |v - t|, the same for every row); scaling back gives
        the value on the cosine's own scale when `baseline` is the rows' average t·c."""
        shifted = np.asarray(vector, np.float32) - np.asarray(typical, np.float32)
        norm = float(np.linalg.norm(shifted))
        if norm < MIN_SHIFTED_NORM:  # `vector` is the typical one: nothing stands out
            return self.search(vector, k)
        rows, sims = self.search(shifted, k)
        return rows, (sims * norm + baseline).astype(np.float32)

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored (unit) vectors of `rows`."""
        return np.asarray(self._index.get_items(np.asarray(rows).tolist()), np.float32)

    def search_many(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Batched search (for offline neighbour tables); rows and similarities, best first."""
        k = min(k, len(self))
        self._index.set_ef(max(self._ef, k))
        labels, distances = self._index.knn_query(vectors, k=k)
        return labels.astype(np.int64), (1.0 - distances).astype(np.float32)

    def save(self, path: Path) -> None:
        self._index.save_index(str(path))
        # hnswlib keeps deletion marks in its file but cannot count them back.
        _deleted_path(path).write_text(json.dumps({"deleted": self._deleted}), encoding="utf-8")

    @classmethod
    def load(cls, path: Path, dim: int, ef: int = 128) -> DenseIndex:
        index = cls.__new__(cls)
        index.dim, index._ef, index._lock, index._deleted = dim, ef, threading.Lock(), 0
        index._index = hnswlib.Index(space="cosine", dim=dim)
        index._index.load_index(str(path), allow_replace_deleted=False)
        index._index.set_ef(ef)
        sidecar = _deleted_path(path)
        if sidecar.exists():
            index._deleted = int(json.loads(sidecar.read_text(encoding="utf-8"))["deleted"])
        return index


def _deleted_path(path: Path) -> Path:
    return path.with_name(path.name + ".deleted.json")
