"""Stickerbot itself as a benchmark ranker: a fresh engine in a scratch data folder."""

from __future__ import annotations

from pathlib import Path

from engine.build import BuildHooks
from engine.catalog import HistoryRow, QueryRow
from engine.config import EngineConfig
from engine.embed_cache import EmbedCache
from engine.engine import Engine
from engine.protocol import MAX_PAGE
from engine.types import StickerRecord


class StickerbotRanker:
    name = "stickerbot"

    def __init__(
        self, data_dir: Path, config: EngineConfig | None = None, nsfw_cache: Path | None = None
    ) -> None:
        """An engine with `config` (else the defaults). With `nsfw_cache` (a cache file that
        outlives the scratch folder), stickers are scored for NSFW during the build (NudeNet:
        about 90 ms a sticker, once per file)."""
        self._data_dir = data_dir
        self._config = config or EngineConfig()
        self._nsfw_cache = nsfw_cache
        self._engine: Engine | None = None
        self.skipped: dict[str, int] = {}
        self.nsfw_flagged: int | None = None

    async def build(self, records: list[StickerRecord]) -> None:
        self._engine = await Engine.open(self._data_dir, self._config)
        if self._nsfw_cache is None:
            report = await self._engine.build(records)
        else:
            from engine.safety import NsfwScorer
            from engine.steps import NSFW_KIND, NsfwStep

            cache = EmbedCache(self._nsfw_cache)
            try:
                step = NsfwStep(NsfwScorer(), cache, self._config.nsfw_threshold)
                hooks = BuildHooks(cache=cache, steps=[(NSFW_KIND, step)])
                report = await self._engine.build(records, hooks=hooks)
            finally:
                cache.close()
            self.nsfw_flagged = step.flagged
        self.skipped = dict(report.skipped)

    async def replay(self, row: HistoryRow) -> None:
        assert self._engine is not None
        await self._engine.observe(row.user_id, row.event)

    async def answer(self, query: QueryRow) -> list[str]:
        assert self._engine is not None
        # The query's language stands for the app language Telegram gives the inline handler
        # (`language_code`), which the engine weighs only until a user's picks show theirs.
        page = await self._engine.suggest(
            query.user_id, query.text, limit=MAX_PAGE, language=query.lang
        )
        return [item.sticker_id for item in page.items]

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.close()
