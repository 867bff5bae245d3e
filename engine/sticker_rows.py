"""What serving keeps of each indexed sticker, a column each: its ids, its pack, its emoji and
its NSFW score.

Captions, OCR text, titles and paths stay in the store: only a build and live growth read them,
and they take them from their input or from the store. At 543,098 stickers, whole records held
in memory took 100-160 MB more than these columns (captions of 40 to 150 characters). The ids
are packed (engine.packed_texts): as lists of str, Telegram's ids took 117 MB, packed 53 MB.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.packed_texts import PackedTexts
from engine.types import StickerRecord


@dataclass
class StickerRows:
    sticker_ids: PackedTexts[str] = field(default_factory=PackedTexts)
    set_names: list[str] = field(default_factory=list)  # interned: one string per pack
    # what an inline answer sends
    file_ids: PackedTexts[str | None] = field(default_factory=PackedTexts)
    nsfw: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    # interned: thousands of stickers share one; what a match's language is read from
    emojis: list[str | None] = field(default_factory=list)

    @classmethod
    def of(cls, records: Iterable[StickerRecord]) -> StickerRows:
        rows = cls()
        rows.extend((r.sticker_id, r.set_name, r.file_id, r.nsfw, r.emoji) for r in records)
        return rows

    def extend(self, rows: Iterable[Sequence[Any]]) -> None:
        """Append (sticker_id, set_name, file_id, nsfw, emoji) rows. A store hands them over a
        chunk at a time: tuples for every sticker at once would leave their freed memory
        scattered between the ids that stay."""
        sticker_ids, file_ids, scores = [], [], []
        for sticker_id, set_name, file_id, score, emoji in rows:
            sticker_ids.append(sticker_id)
            self.set_names.append(sys.intern(set_name))
            file_ids.append(file_id)
            scores.append(score or 0.0)
            self.emojis.append(sys.intern(emoji) if emoji else None)
        self.sticker_ids.extend(sticker_ids)
        self.file_ids.extend(file_ids)
        self.nsfw = np.concatenate([self.nsfw, np.asarray(scores, np.float32)])

    def __len__(self) -> int:
        return len(self.sticker_ids)

    def __add__(self, other: StickerRows) -> StickerRows:
        return StickerRows(
            self.sticker_ids + other.sticker_ids,
            self.set_names + other.set_names,
            self.file_ids + other.file_ids,
            np.concatenate([self.nsfw, other.nsfw]),
            self.emojis + other.emojis,
        )

    def ordered_as(self, sticker_ids: Sequence[str]) -> tuple[StickerRows, int]:
        """These rows in the order of `sticker_ids`, and how many of those ids none holds
        (then no rows: the caller refuses them)."""
        if self.sticker_ids == sticker_ids:
            return self, 0  # the store lists stickers in the order the index was built
        position = {s: i for i, s in enumerate(self.sticker_ids)}
        order = [position.get(s, -1) for s in sticker_ids]
        missing = order.count(-1)
        if missing:
            return StickerRows(), missing
        picked = StickerRows(
            PackedTexts.of(self.sticker_ids.take(order)),
            [self.set_names[i] for i in order],
            PackedTexts.of(self.file_ids.take(order)),
            self.nsfw[np.asarray(order, np.int64)] if order else np.zeros(0, np.float32),
            [self.emojis[i] for i in order],
        )
        return picked, 0
