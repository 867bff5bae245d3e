"""A lexical field in two segments: the rows as built, and the rows added live since.

A live growth used to rebuild every lexical field over the whole catalog, which is most of what
adding one pack to a 543,098-sticker catalog cost. The rows added live now go into a second,
small segment of their own, rebuilt alone at each growth, and the first stays as it was built.
A search asks both and counts every word's idf over the rows of both, so a word weighs the same
in either (as Lucene's segments share their statistics). `stickerbot build` makes one segment
again, and so does a growth whose live segment would outgrow TAIL_SHARE of the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.lexical import FieldIndex, LexicalHits

# The live segment is folded into the first when it would hold more rows than this share of
# it: each growth rebuilds the live segment, so its size is what a growth costs.
TAIL_SHARE = 0.1
TAIL_SUFFIX = "-live"  # the live segment's files: lexical-<field>-live.npz and .vocab.json


@dataclass(frozen=True)
class SegmentedField:
    """`built` holds rows 0..len(built)-1, `live` (if any) the rows after them."""

    built: FieldIndex
    live: FieldIndex | None = None

    def __len__(self) -> int:
        return len(self.built) + (len(self.live) if self.live is not None else 0)

    @property
    def nbytes(self) -> int:
        return self.built.nbytes + (self.live.nbytes if self.live is not None else 0)

    @property
    def documents(self) -> int:
        return self.built.documents + (self.live.documents if self.live is not None else 0)

    def search(self, query: str, k: int) -> LexicalHits:
        """Up to k rows of each segment (see FieldIndex.search), the built rows first."""
        if self.live is None:
            return self.built.search(query, k)
        built = self.built.search(query, k, others=(self.live,))
        live = self.live.search(query, k, others=(self.built,))
        return LexicalHits(
            np.concatenate([built.rows, live.rows + len(self.built)]).astype(np.int32),
            np.concatenate([built.bm25, live.bm25]),
            np.concatenate([built.coverage, live.coverage]),
            completed=built.completed or live.completed,
        )

    def save(self, stem: Path) -> None:
        """Write to `stem` (see FieldIndex.save), the live segment beside it."""
        self.built.save(stem)
        if self.live is not None:
            self.live.save(live_stem(stem))

    @classmethod
    def load(cls, stem: Path) -> SegmentedField:
        live = live_stem(stem)
        has_live = live.with_suffix(".npz").is_file()
        return cls(FieldIndex.load(stem), FieldIndex.load(live) if has_live else None)


def live_stem(stem: Path) -> Path:
    return stem.with_name(stem.name + TAIL_SUFFIX)
