"""A lexical field in segments: the rows as built, then the rows added live, in levels.

A live growth used to rebuild every lexical field over the whole catalog, which is most of what
adding one pack to a 543,098-sticker catalog cost. The rows added live go into segments of
their own, and the built one stays as it was built. A search asks every segment and counts
every word's idf over the rows of all, so a word weighs the same in any (as Lucene's segments
share their statistics).

The live segments are levels, oldest and largest first, as in a log-structured merge tree: a
growth builds a segment over its new rows, merged with the newest live segments while the
merged one would be at least half the size of the one before it (`merge_start`). So a growth
reads the stored records of about as many rows as it adds, on average, there are never more
than about log2(live rows) live segments, and no growth rebuilds the built segment: that took
every stored sticker's record in memory (2.1 GB at its peak at 543,098 stickers), more than a
1.5 GB machine has. `stickerbot build` makes one segment again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

import numpy as np

from engine.lexical import FieldIndex, LexicalHits, WordCounts

LIVE_SUFFIX = "-live"  # live segment i's files: lexical-<field>-live[i+1].npz and .vocab.json


@dataclass(frozen=True)
class SegmentedField:
    """`built` holds rows 0..len(built)-1; `live` the rows added since, oldest first."""

    built: FieldIndex
    live: tuple[FieldIndex, ...] = ()

    @property
    def segments(self) -> tuple[FieldIndex, ...]:
        return (self.built, *self.live)

    def __len__(self) -> int:
        return sum(len(segment) for segment in self.segments)

    @property
    def nbytes(self) -> int:
        return sum(segment.nbytes for segment in self.segments)

    @property
    def documents(self) -> int:
        return sum(segment.documents for segment in self.segments)

    def live_starts(self) -> list[int]:
        """The first row of each live segment, oldest first."""
        starts = list(accumulate((len(s) for s in self.live), initial=len(self.built)))
        return starts[:-1]

    def merge_start(self, adding: int) -> int:
        """The first row of the live segments that a growth by `adding` rows merges with them:
        the newest ones, while the merged segment would be at least half the one before it.
        len(self) when the new rows make a segment of their own."""
        merged, start = adding, len(self)
        for segment in reversed(self.live):
            if 2 * merged < len(segment):
                break
            merged += len(segment)
            start -= len(segment)
        return start

    def kept_before(self, start: int) -> SegmentedField:
        """The segments wholly before row `start` (a live segment's first row, or the end)."""
        kept = [s for s, first in zip(self.live, self.live_starts(), strict=True) if first < start]
        return SegmentedField(self.built, tuple(kept))

    def search(
        self,
        query: str,
        k: int,
        counted: Sequence[WordCounts] = (),
        focus: Mapping[str, float] | None = None,
    ) -> LexicalHits:
        """Up to k rows of each segment (see FieldIndex.search), the built rows first."""
        segments = self.segments
        if len(segments) == 1:
            return self.built.search(query, k, counted=counted, focus=focus)
        parts, first = [], 0
        for i, segment in enumerate(segments):
            others = segments[:i] + segments[i + 1 :]
            hits = segment.search(query, k, others=others, counted=counted, focus=focus)
            parts.append((hits, first))
            first += len(segment)
        return LexicalHits(
            np.concatenate([hits.rows + first for hits, first in parts]).astype(np.int32),
            np.concatenate([hits.bm25 for hits, _ in parts]),
            np.concatenate([hits.coverage for hits, _ in parts]),
            completed=any(hits.completed for hits, _ in parts),
        )

    def save(self, stem: Path) -> None:
        """Write to `stem` (see FieldIndex.save), the live segments beside it."""
        self.built.save(stem)
        for level, segment in enumerate(self.live):
            segment.save(live_stem(stem, level))

    @classmethod
    def load(cls, stem: Path) -> SegmentedField:
        live: list[FieldIndex] = []
        while live_stem(stem, len(live)).with_suffix(".npz").is_file():
            live.append(FieldIndex.load(live_stem(stem, len(live))))
        return cls(FieldIndex.load(stem), tuple(live))


def live_stem(stem: Path, level: int) -> Path:
    """The files of live segment `level` (0: the oldest; an index of format 6 had only it)."""
    return stem.with_name(stem.name + LIVE_SUFFIX + (str(level + 1) if level else ""))
