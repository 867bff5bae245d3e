"""The newest Telegram file_id seen for each sticker, so the bot can send a sticker by its id.

Engine ids are file_unique_ids, which cannot be sent; a file_id can. Bounded, LRU.
"""

from __future__ import annotations

from collections import OrderedDict

DEFAULT_CAPACITY = 50_000  # ~5 MB of short strings; far more stickers than a small bot sees


class FileIdCache:
    """Maps sticker ids (file_unique_id) to the newest file_id seen for them."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[str, str] = OrderedDict()

    def remember(self, sticker_id: str, file_id: str | None) -> None:
        """Keep `file_id` as the newest one for `sticker_id`."""
        if not file_id:
            return
        self._ids.pop(sticker_id, None)
        self._ids[sticker_id] = file_id
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)

    def get(self, sticker_id: str) -> str | None:
        return self._ids.get(sticker_id)
