"""Each sticker id's row in a catalog, from the ids' hashes in sorted order.

A dict from id to row wants every id as a str object: at 543,098 stickers the ids took 46 MB
that way and the dict 31 MB more. With the ids packed (engine.packed_texts), the hashes (by
row, and sorted) and their rows take 11 MB, and a catalog grown live hashes only the ids it
adds. A look-up is a binary search, then a comparison of the id at each row with that hash
(hashes may collide). Python's str hash is seeded per process, so a look-up is never pickled:
each process builds its own.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np

from engine.packed_texts import PackedTexts

# Fewer ids than this are looked up one at a time: a pass costs about 8 us and 0.5 us an id,
# one look-up 1.2 us (at 543,098 stickers; they break even at 12).
ONE_AT_A_TIME_BELOW = 12


def _hashes(ids: Iterable[str], count: int) -> np.ndarray:
    return np.fromiter((hash(s) for s in ids), np.int64, count)


class RowLookup(Mapping[str, int]):
    def __init__(self, ids: PackedTexts[str], hashes: np.ndarray | None = None) -> None:
        """The rows of `ids` (unique); `hashes` of them when known (a grown catalog's)."""
        self._ids = ids
        self._hashes = _hashes(ids, len(ids)) if hashes is None else hashes
        order = np.argsort(self._hashes, kind="stable")
        # Python arrays: a look-up reads a few values one at a time, where numpy's scalars
        # cost more than the search.
        self._sorted = array("q", self._hashes[order].tobytes())
        self._rows = array("i", order.astype(np.intc).tobytes())

    def grown(self, ids: PackedTexts[str]) -> RowLookup:
        """The look-up of `ids`, which start with this one's ids: only the rest are hashed (at
        543,098 stickers, hashing them all took 0.4 s of a live growth)."""
        added = ids[len(self._ids) :]
        fresh = _hashes(added, len(added))
        return RowLookup(ids, np.concatenate([self._hashes, fresh]))

    def get(self, sticker_id: str, default: int | None = None) -> int | None:  # type: ignore[override]
        wanted = hash(sticker_id)
        at = bisect_left(self._sorted, wanted)
        while at < len(self._sorted) and self._sorted[at] == wanted:
            row = self._rows[at]
            if self._ids[row] == sticker_id:
                return row
            at += 1
        return default

    def rows_of(self, sticker_ids: Sequence[str]) -> np.ndarray:
        """Each id's row (-1: none) as int64, the searches done together, as a query needs for
        the user's stickers and the crowd's picks: 30 at 543,098 stickers took 23 us, one at a
        time 36 (a dict: 1)."""
        if len(sticker_ids) < ONE_AT_A_TIME_BELOW:
            each = (self.get(sticker_id) for sticker_id in sticker_ids)
            return np.fromiter((-1 if r is None else r for r in each), np.int64, len(sticker_ids))
        rows = np.full(len(sticker_ids), -1, np.int64)
        if not len(self._sorted):
            return rows
        wanted = np.fromiter(map(hash, sticker_ids), np.int64, len(sticker_ids))
        hashes = np.frombuffer(self._sorted, np.int64)
        at = np.minimum(np.searchsorted(hashes, wanted), len(hashes) - 1)
        found = np.flatnonzero(hashes[at] == wanted)
        rows[found] = np.frombuffer(self._rows, np.intc)[at[found]]
        for i, text in zip(found.tolist(), self._ids.take(rows[found].tolist()), strict=True):
            if text != sticker_ids[i]:  # another id of the same hash came first: search on
                row = self.get(sticker_ids[i])
                rows[i] = -1 if row is None else row
        return rows

    def __reduce__(self) -> tuple[()]:
        raise TypeError("a RowLookup holds this process's str hashes; build one where it is used")

    def __getitem__(self, sticker_id: str) -> int:
        row = self.get(sticker_id)
        if row is None:
            raise KeyError(sticker_id)
        return row

    def __contains__(self, sticker_id: object) -> bool:
        return isinstance(sticker_id, str) and self.get(sticker_id) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)
