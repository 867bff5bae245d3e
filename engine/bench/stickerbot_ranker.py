"""Stickerbot itself as a benchmark ranker: a fresh engine in a scratch data folder."""

from __future__ import annotations

from pathlib import Path

from engine.catalog import HistoryRow, QueryRow
from engine.engine import Engine
from engine.protocol import MAX_PAGE
from engine.types import StickerRecord


class StickerbotRanker:
    name = "stickerbot"

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._engine: Engine | None = None
        self.skipped: dict[str, int] = {}

    async def build(self, records: list[StickerRecord]) -> None:
        self._engine = await Engine.open(self._data_dir)
        report = await self._engine.build(records)
        self.skipped = dict(report.skipped)

    async def replay(self, row: HistoryRow) -> None:
        assert self._engine is not None
        await self._engine.observe(row.user_id, row.event)

    async def answer(self, query: QueryRow) -> list[str]:
        assert self._engine is not None
        page = await self._engine.suggest(query.user_id, query.text, limit=MAX_PAGE)
        return [item.sticker_id for item in page.items]

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.close()
