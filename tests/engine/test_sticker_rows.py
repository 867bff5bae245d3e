"""The columns serving keeps of each sticker."""

from __future__ import annotations

import numpy as np

from engine.sticker_rows import StickerRows
from engine.types import StickerRecord

RECORDS = [
    StickerRecord("a", "pk", emoji="😴", caption="sleepy", file_id="Fa", nsfw=0.9),
    StickerRecord("b", "".join(["p", "k"]), emoji="".join(["😴"]), file_id=None),
    StickerRecord("c", "other", file_id="Fc"),
]


def test_rows_of_records_keep_ids_packs_emoji_and_scores_only() -> None:
    rows = StickerRows.of(RECORDS)
    assert len(rows) == 3
    assert rows.sticker_ids == ["a", "b", "c"]
    assert rows.set_names == ["pk", "pk", "other"]
    assert rows.set_names[0] is rows.set_names[1]
    assert rows.file_ids == ["Fa", None, "Fc"]
    assert rows.emojis == ["😴", "😴", None]
    np.testing.assert_allclose(rows.nsfw, [0.9, 0.0, 0.0])
    assert rows.nsfw.dtype == np.float32


def test_rows_added_together_keep_their_order() -> None:
    both = StickerRows.of(RECORDS[:1]) + StickerRows.of(RECORDS[1:])
    assert both.sticker_ids == ["a", "b", "c"]
    assert both.emojis == ["😴", "😴", None]
    np.testing.assert_allclose(both.nsfw, [0.9, 0.0, 0.0])


def test_ordered_as_follows_the_ids_given_and_counts_the_unknown() -> None:
    rows = StickerRows.of(RECORDS)
    picked, missing = rows.ordered_as(["c", "a"])
    assert missing == 0
    assert (picked.sticker_ids, picked.file_ids) == (["c", "a"], ["Fc", "Fa"])
    assert picked.emojis == [None, "😴"]
    np.testing.assert_allclose(picked.nsfw, [0.0, 0.9])
    lacking, missing = rows.ordered_as(["c", "zz", "yy"])
    assert missing == 2 and len(lacking) == 0
    same, missing = rows.ordered_as(["a", "b", "c"])
    assert same is rows and missing == 0  # already in order: nothing copied
    empty, missing = rows.ordered_as([])
    assert missing == 0 and len(empty) == 0 and len(empty.nsfw) == 0
