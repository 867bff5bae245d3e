"""Rows that share something (a text, a meaning), grouped: which rows a group holds, in order.

A large catalog repeats itself: every sticker with one emoji has the same emoji keywords, every
sticker of a pack the same title, and a quarter of captions recur. Indexes keep one entry per
group (a BM25 document, a vector in the dense graph) and hand back its rows through this.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def number_texts(texts: Sequence[str], *, empty: bool = True) -> tuple[list[str], np.ndarray]:
    """(the distinct texts in order of first appearance, each text's number among them).
    With `empty=False` empty texts get -1 instead of a number."""
    ids: dict[str, int] = {}
    which = np.fromiter(
        (ids.setdefault(t, len(ids)) if t or empty else -1 for t in texts), np.int64, len(texts)
    )
    return list(ids), which


class RowGroups:
    def __init__(
        self, group_of_row: np.ndarray, groups: int, priority: np.ndarray | None = None
    ) -> None:
        """`group_of_row[r]` is row r's group (-1: in none); `priority` orders the rows of a
        group (highest first, then by row)."""
        group_of_row = np.asarray(group_of_row, np.int64)
        rank = -np.asarray(priority, np.float64) if priority is not None else np.zeros(0)
        rows = np.arange(len(group_of_row))
        order = np.lexsort((rows, rank, group_of_row) if len(rank) else (rows, group_of_row))
        # Rows, group by group (int32: a catalog has fewer than 2^31 rows, and at 543k rows
        # each of the four groupings an index keeps is 2 MB smaller).
        self.members = order[group_of_row[order] >= 0].astype(np.int32)
        grouped = group_of_row[group_of_row >= 0]
        self.sizes = np.bincount(grouped, minlength=groups).astype(np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)])

    @classmethod
    def from_parts(cls, members: np.ndarray, sizes: np.ndarray) -> RowGroups:
        """Groups as saved: `members` (rows, group by group) and each group's `sizes`."""
        if int(np.sum(sizes)) != len(members):
            raise ValueError(f"{len(members)} rows but group sizes add up to {np.sum(sizes)}")
        groups = cls.__new__(cls)
        groups.members = np.asarray(members, np.int32)
        groups.sizes = np.asarray(sizes, np.int64)
        groups.starts = np.concatenate([[0], np.cumsum(groups.sizes)])
        return groups

    def __len__(self) -> int:
        return len(self.sizes)

    def rows_of(self, group: int) -> np.ndarray:
        return self.members[self.starts[group] : self.starts[group + 1]]

    def of_many(self, groups: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
        """The first `limit` rows of `groups` taken in order (each group's rows in priority
        order), and for each row the position in `groups` it came from."""
        groups = np.asarray(groups, np.int64)
        sizes = self.sizes[groups]
        needed = int(np.searchsorted(np.cumsum(sizes), limit)) + 1  # groups that reach it
        groups, sizes = groups[:needed], sizes[:needed]
        source = np.repeat(np.arange(len(groups)), sizes)[:limit]
        # Each row's place in `members`: its group's start plus its rank within it.
        first_of_source = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        within = np.arange(len(source)) - first_of_source[source]
        return self.members[self.starts[groups][source] + within], source
