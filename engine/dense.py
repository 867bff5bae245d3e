"""Approximate nearest neighbours over unit vectors with hnswlib (cosine space)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import hnswlib
import numpy as np

from engine.row_files import link_or_copy

HNSW_M = 16  # links per node: recall@10 >= 0.97 at 543k with ef=128 (FACTS.md)
HNSW_EF_CONSTRUCTION = 100
GROWTH = 1.5  # capacity grows geometrically so live additions rarely resize
# Vectors added since the graph was last written whole that a save keeps in a small file beside
# a link to that graph, to be added again when it is loaded (4,096: under two seconds), rather
# than writing the whole graph again: 702 MB and 1.4-1.8 s at 543k stickers, at each growth.
PENDING_MAX = 4096
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
        self._written: Path | None = None  # the graph as last written whole, if it still holds
        self._pending: list[int] = []  # rows added since it was written

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
            if self._written is not None:  # a graph never saved whole needs no list of them
                self._pending += np.asarray(rows).tolist()

    def remove(self, row: int) -> None:
        """Hide a row from searches (hnswlib marks it deleted; its slot is not reused)."""
        with self._lock:
            self._index.mark_deleted(row)
            self._deleted += 1
            self._written = None  # the next save writes the graph whole, with its mark

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
        """Batched search (neighbour tables, query densities); rows and similarities, best
        first."""
        k = min(k, len(self))
        self._index.set_ef(max(self._ef, k))
        labels, distances = self._index.knn_query(vectors, k=k)
        return labels.astype(np.int64), (1.0 - distances).astype(np.float32)

    def save(self, path: Path) -> None:
        """Write to `path` (a new file): the graph as last written, linked, with the rows added
        since beside it (PENDING_MAX at most), else the whole graph."""
        with self._lock:
            written, pending = self._written, list(self._pending)
            if written is not None and written.is_file() and len(pending) <= PENDING_MAX:
                link_or_copy(written, path)
                if pending:
                    rows = np.array(pending, np.int64)
                    np.savez(_pending_path(path), rows=rows, vectors=self.vectors(rows))
            else:
                self._index.save_index(str(path))
                self._pending = []
            self._written = path
        # hnswlib keeps deletion marks in its file but cannot count them back.
        _deleted_path(path).write_text(json.dumps({"deleted": self._deleted}), encoding="utf-8")

    def moved(self, path: Path) -> None:
        """The file last saved now lives at `path` (its folder was renamed into place)."""
        with self._lock:
            self._written = path

    @classmethod
    def load(cls, path: Path, dim: int, ef: int = 128) -> DenseIndex:
        index = cls.__new__(cls)
        index.dim, index._ef, index._lock, index._deleted = dim, ef, threading.Lock(), 0
        index._index = hnswlib.Index(space="cosine", dim=dim)
        index._index.load_index(str(path), allow_replace_deleted=False)
        index._index.set_ef(ef)
        index._written, index._pending = path, []
        pending = _pending_path(path)
        if pending.is_file():
            with np.load(pending) as saved:
                index.add(saved["vectors"], saved["rows"])
        sidecar = _deleted_path(path)
        if sidecar.exists():
            index._deleted = int(json.loads(sidecar.read_text(encoding="utf-8"))["deleted"])
        return index


def _deleted_path(path: Path) -> Path:
    return path.with_name(path.name + ".deleted.json")


def _pending_path(path: Path) -> Path:
    return path.with_name(path.name + ".pending.npz")
