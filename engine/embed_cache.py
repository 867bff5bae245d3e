"""A content-addressed cache of what a build computes per sticker, so a rebuild only computes
what changed: text vectors, style features, CLIP image vectors, OCR text and NSFW scores.

Entries are keyed by (kind, model identity, sha256 of the input): the text itself for text
vectors, the image file's bytes for everything read off pixels. The model identity names the
model and fingerprints its weights or code, so changing either misses instead of serving stale
values. One small SQLite file in the data folder; losing it only costs time.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from engine.encoders import TextEncoder

CACHE_NAME = "embed-cache.sqlite"
CACHE_FORMAT = 1  # part of every identity: bump when a stored value's layout changes
FINGERPRINT_CHARS = 16  # of a sha256: plenty to tell model versions apart, short to read
READ_CHUNK = 1 << 20  # file hashing reads 1 MiB at a time
SQL_VARIABLES = 500  # keys per lookup query, well under SQLite's bound-parameter limit
SELECT = "SELECT key, value FROM entries WHERE kind = ? AND model = ? AND key IN"
SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    kind TEXT NOT NULL,
    model TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (kind, model, key)
) WITHOUT ROWID;
"""


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_key(path: Path) -> str:
    """sha256 of a file's bytes (raises OSError like `open` does)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def code_identity(name: str, files: Sequence[Path], packages: Sequence[str] = ()) -> str:
    """`name` plus a fingerprint of the source files and package versions that compute a value,
    so editing that code or upgrading the library invalidates what it cached."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}".encode())
    for path in files:
        digest.update(path.read_bytes())
    for package in packages:
        digest.update(f"{package}={_version(package)}".encode())
    return f"{name}@{digest.hexdigest()[:FINGERPRINT_CHARS]}"


def model_identity(encoder: Any) -> str:
    """An encoder's name and dimension, plus the hash of its exported folder's manifest (which
    lists every weight file's hash) or the version of the package that ships its weights."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}:{encoder.name}:{encoder.dim}".encode())
    folder = getattr(encoder, "folder", None)
    manifest = Path(folder) / "manifest.json" if folder is not None else None
    if manifest is not None and manifest.is_file():
        digest.update(manifest.read_bytes())
    else:
        digest.update(type(encoder).__module__.encode())
        digest.update(_version(type(encoder).__module__.split(".")[0]).encode())
    return f"{encoder.name}@{digest.hexdigest()[:FINGERPRINT_CHARS]}"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


class EmbedCache:
    """The cache file; thread-safe, since builds run in a worker thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One connection shared across threads behind a lock: a build is one writer at a time.
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # One small write per sticker: skip the fsync each; a lost tail only costs recomputing.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self.hits: Counter[str] = Counter()  # per kind: values served from the cache
        self.misses: Counter[str] = Counter()  # per kind: values that had to be computed

    @classmethod
    def in_folder(cls, data_dir: Path) -> EmbedCache:
        return cls(data_dir / CACHE_NAME)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- vectors --------------------------------------------------------------------------------

    def vectors(self, kind: str, model: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found = {k: np.frombuffer(v, dtype=np.float32) for k, v in self._get(kind, model, keys)}
        self._count(kind, len(found), len(set(keys)) - len(found))
        return found

    def put_vectors(self, kind: str, model: str, items: dict[str, np.ndarray]) -> None:
        rows = [(k, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in items.items()]
        self._put(kind, model, rows)

    # -- plain values (OCR text, NSFW score) ----------------------------------------------------

    def value(self, kind: str, model: str, key: str) -> tuple[bool, Any]:
        """(True, value) when cached, else (False, None); None is a value worth caching too."""
        found = self._get(kind, model, [key])
        self._count(kind, len(found), 1 - len(found))
        return (True, json.loads(found[0][1])) if found else (False, None)

    def put_value(self, kind: str, model: str, key: str, value: Any) -> None:
        self._put(kind, model, [(key, json.dumps(value).encode("utf-8"))])

    # -- storage --------------------------------------------------------------------------------

    def _get(self, kind: str, model: str, keys: Sequence[str]) -> list[tuple[str, bytes]]:
        unique = list(dict.fromkeys(keys))
        rows: list[tuple[str, bytes]] = []
        with self._lock:
            for start in range(0, len(unique), SQL_VARIABLES):
                chunk = unique[start : start + SQL_VARIABLES]
                marks = ",".join("?" * len(chunk))
                query = f"{SELECT} ({marks})"
                rows += self._db.execute(query, (kind, model, *chunk)).fetchall()
        return rows

    def _put(self, kind: str, model: str, rows: list[tuple[str, bytes]]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO entries (kind, model, key, value) VALUES (?, ?, ?, ?)",
                [(kind, model, key, value) for key, value in rows],
            )

    def _count(self, kind: str, hits: int, misses: int) -> None:
        self.hits[kind] += hits
        self.misses[kind] += misses


class CachedTextEncoder:
    """A TextEncoder that looks every text up first and encodes only the ones not cached."""

    KIND = "text"

    def __init__(self, inner: TextEncoder, cache: EmbedCache) -> None:
        self.name = inner.name
        self.dim = inner.dim
        self._inner = inner
        self._cache = cache
        self._model = model_identity(inner)

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        found = self._cache.vectors(self.KIND, self._model, keys)
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
        if missing:
            fresh = dict(zip(map(text_key, missing), self._inner.encode_text(missing), strict=True))
            self._cache.put_vectors(self.KIND, self._model, fresh)
            found |= fresh
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, key in enumerate(keys):
            out[row] = found[key]
        return out
