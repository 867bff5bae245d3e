"""Growing the catalog: download sticker packs the engine has not indexed and hand them over.

Runs in the background (a queue and a few workers) so answering users never waits on it.
Names already queued are not queued twice; a pack ingested recently is not fetched again.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from telegram import Bot, Sticker, StickerSet
from telegram.error import BadRequest, TelegramError

from bot.file_ids import FileIdCache
from engine.errors import UnknownSticker
from engine.protocol import SuggestionEngine
from engine.stopping import reraise_if_cancelling
from engine.types import Event, StickerRecord

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses larger files on the public Bot API
DOWNLOADS_PER_SET = 4  # parallel downloads within one pack: fast, yet polite to the API
REINGEST_AFTER_SECONDS = 3600.0  # a pack just fetched is not fetched again for a while
RECENT_SETS = 1000  # bound on the memory of recently fetched packs
STICKER_FOLDER = "stickers"
SET_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")  # Telegram's sticker set name alphabet
SET_LINK = re.compile(
    r"^(?:https?://)?(?:t|telegram)\.me/addstickers/([A-Za-z0-9_]{1,64})/?$", re.IGNORECASE
)
SUFFIX_BY_KIND = {"video": ".webm", "animated": ".tgs", "static": ".webp"}


@dataclass(frozen=True)
class PendingEvent:
    """An event to record once its sticker's pack is indexed."""

    user_id: str
    event: Event
    update_id: int | None = None  # the journalled update it came in (bot.inbox), if any


Settle = Callable[[int], Awaitable[None]]  # told each update id whose event is dealt with


class SetNotFound(Exception):
    """Telegram has no sticker set by this name."""


def parse_set_name(text: str) -> str | None:
    """The set name in `text` (a bare name or a t.me/addstickers link), or None."""
    text = text.strip()
    link = SET_LINK.match(text)
    if link:
        return link.group(1)
    return text if SET_NAME.match(text) else None


class Ingestor:
    """A queue of sticker set names and the workers that fetch and index them."""

    def __init__(
        self,
        bot: Bot,
        engine: SuggestionEngine,
        data_dir: Path,
        *,
        workers: int,
        file_ids: FileIdCache,
        settle: Settle | None = None,
    ) -> None:
        """`settle` is told the update id of each pending event once it is recorded or
        dropped for good (not when the bot stops: the next start handles it again)."""
        self._bot = bot
        self._settle = settle
        self._engine = engine
        self._folder = data_dir / STICKER_FOLDER
        self._workers = workers
        self._file_ids = file_ids
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._waiting: dict[str, asyncio.Future[int]] = {}
        self._pending: dict[str, list[PendingEvent]] = {}
        self._recent: OrderedDict[str, float] = OrderedDict()
        self._tasks: list[asyncio.Task[None]] = []
        self._settling: set[asyncio.Task[None]] = set()  # events dropped, being settled

    @property
    def queued(self) -> int:
        """Packs waiting or being fetched."""
        return len(self._waiting)

    def start(self) -> None:
        """Start the workers; call from the running event loop."""
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self._workers)]

    async def stop(self) -> None:
        """Stop the workers; packs still queued are dropped."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._settling, return_exceptions=True)
        self._tasks = []
        for future in self._waiting.values():
            future.cancel()
        self._waiting.clear()
        self._pending.clear()

    def queue_set(
        self, name: str, pending: PendingEvent | None = None, *, force: bool = False
    ) -> asyncio.Future[int]:
        """Queue pack `name`; the future gives how many stickers were added.

        `pending` is recorded once the pack is indexed. Without `force`, a pack fetched
        recently is not fetched again (its stickers may have been skipped by the decoder).
        """
        if pending is not None:
            self._pending.setdefault(name, []).append(pending)
        if name in self._waiting:
            return self._waiting[name]
        if not force and self._fetched_recently(name):
            self._drop(self._pending.pop(name, []))
            return _done(0)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_consume)
        self._waiting[name] = future
        self._queue.put_nowait(name)
        return future

    async def _work(self) -> None:
        while True:
            name = await self._queue.get()
            try:
                await self._run_one(name)
            finally:
                self._queue.task_done()

    async def _run_one(self, name: str) -> None:
        future = self._waiting.pop(name, None)
        try:
            count = await self._ingest(name)
        except Exception as error:  # one bad pack must not stop the worker
            reraise_if_cancelling(error)
            log.warning("could not ingest sticker set %s", name, exc_info=True)
            await self._settled(self._pending.pop(name, []))
            if future is not None and not future.done():
                future.set_exception(error)
            return
        self._remember_fetched(name)
        await self._replay(name)
        if future is not None and not future.done():
            future.set_result(count)

    async def _ingest(self, name: str) -> int:
        sticker_set = await self._fetch_set(name)
        folder = self._folder / name
        folder.mkdir(parents=True, exist_ok=True)
        limit = asyncio.Semaphore(DOWNLOADS_PER_SET)

        async def one(sticker: Sticker) -> StickerRecord | None:
            async with limit:
                try:
                    return await self._download(sticker_set, sticker, folder)
                except TelegramError:  # one unreadable file must not lose the whole pack
                    log.warning("skipping sticker %s", sticker.file_unique_id, exc_info=True)
                    return None

        found = await asyncio.gather(*(one(sticker) for sticker in sticker_set.stickers))
        records = [record for record in found if record is not None]
        for record in records:
            self._file_ids.remember(record.sticker_id, record.file_id)
        added = await self._engine.add_stickers(records) if records else 0
        log.info("sticker set %s: %d downloaded, %d added", name, len(records), added)
        return added

    async def _fetch_set(self, name: str) -> StickerSet:
        try:
            return await self._bot.get_sticker_set(name)
        except BadRequest as error:
            raise SetNotFound(name) from error

    async def _download(
        self, sticker_set: StickerSet, sticker: Sticker, folder: Path
    ) -> StickerRecord | None:
        if (sticker.file_size or 0) > MAX_DOWNLOAD_BYTES:
            log.info("skipping sticker %s: too large to download", sticker.file_unique_id)
            return None
        telegram_file = await self._bot.get_file(sticker.file_id)
        if (telegram_file.file_size or 0) > MAX_DOWNLOAD_BYTES:
            return None
        suffix = Path(telegram_file.file_path or "").suffix or SUFFIX_BY_KIND[_kind(sticker)]
        path = folder / f"{sticker.file_unique_id}{suffix}"
        if not path.exists():
            await telegram_file.download_to_drive(path)
        return StickerRecord(
            sticker_id=sticker.file_unique_id,
            set_name=sticker_set.name,
            set_title=sticker_set.title,
            emoji=sticker.emoji,
            file_id=sticker.file_id,
            path=str(path),
        )

    async def _replay(self, name: str) -> None:
        for pending in self._pending.pop(name, []):
            try:
                await self._engine.observe(pending.user_id, pending.event)
            except UnknownSticker:
                sticker_id = pending.event.sticker_id
                log.info("sticker %s still unknown after ingesting %s", sticker_id, name)
            await self._settled([pending])

    def forget_user(self, user_id: str) -> None:
        """Drop the user's events still waiting for a pack, so nothing about them is recorded
        (their journalled updates go with the user's other data: bot.inbox)."""
        for name, events in self._pending.items():
            self._pending[name] = [pending for pending in events if pending.user_id != user_id]

    async def _settled(self, events: list[PendingEvent]) -> None:
        if self._settle is None:
            return
        for pending in events:
            if pending.update_id is not None:
                await self._settle(pending.update_id)

    def _drop(self, events: list[PendingEvent]) -> None:
        """Settle `events`, dropped without a fetch, in the background."""
        if self._settle is not None and any(p.update_id is not None for p in events):
            task = asyncio.get_running_loop().create_task(self._settled(events))
            self._settling.add(task)
            task.add_done_callback(self._settling.discard)

    def _fetched_recently(self, name: str) -> bool:
        fetched = self._recent.get(name)
        return fetched is not None and time.monotonic() - fetched < REINGEST_AFTER_SECONDS

    def _remember_fetched(self, name: str) -> None:
        self._recent.pop(name, None)
        self._recent[name] = time.monotonic()
        while len(self._recent) > RECENT_SETS:
            self._recent.popitem(last=False)


def _kind(sticker: Sticker) -> str:
    if sticker.is_video:
        return "video"
    return "animated" if sticker.is_animated else "static"


def _done(value: int) -> asyncio.Future[int]:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


def _consume(future: asyncio.Future[int]) -> None:
    # Nobody may be awaiting a background pack; retrieve the error so asyncio does not warn.
    if not future.cancelled():
        future.exception()
