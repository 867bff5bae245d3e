"""Shared pieces of the bot tests: settings, catalogs, and a driven Application."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from telegram import Update
from telegram.ext import Application

from bot.app import polling_options
from bot.config import BotSection, Settings
from bot.state import STATE_KEY, BotState
from engine.types import StickerRecord
from tests.bot.fakes import FakeEngine, RecordingRequest
from tests.bot.updates import sticker

OWNER_ID = 1
WAIT_SECONDS = 5.0  # generous for a loaded machine; failures still show up quickly
POLL_TIMEOUT = 1  # seconds of long polling; keeps updater.stop() quick

App = Application[Any, Any, Any, Any, Any, Any]


def make_settings(data: Path, token: str = "123:TEST", **fields: Any) -> Settings:
    bot = BotSection(owner_ids=[OWNER_ID], **fields.pop("bot", {}))
    return Settings(token=SecretStr(token), data=data, bot=bot, **fields)


PNG = b"\x89PNG\r\n\x1a\nfake"


def serve_pack(api: RecordingRequest, name: str, count: int) -> None:
    """Answer getStickerSet for pack `name` of `count` stickers (n0, n1, ...), and their files."""
    stickers = [sticker(f"n{i}", name) for i in range(count)]

    def get_set(params: dict[str, Any]) -> tuple[int, Any]:
        if params["name"] != name:
            return 400, "Bad Request: STICKERSET_INVALID"
        body = {"name": name, "title": "New pack", "sticker_type": "regular", "stickers": stickers}
        return 200, body

    def get_file(params: dict[str, Any]) -> tuple[int, Any]:
        file_id = params["file_id"]
        return 200, {"file_id": file_id, "file_unique_id": file_id, "file_path": f"{file_id}.png"}

    api.responders["getStickerSet"] = get_set
    api.responders["getFile"] = get_file
    api.files.update({f"file-n{i}.png": PNG for i in range(count)})


def records(count: int, set_name: str = "pack") -> list[StickerRecord]:
    return [
        StickerRecord(sticker_id=f"u{i:03d}", set_name=set_name, file_id=f"file-u{i:03d}")
        for i in range(count)
    ]


@dataclass
class Harness:
    app: Application[Any, Any, Any, Any, Any, Any]
    engine: FakeEngine
    api: RecordingRequest

    @property
    def state(self) -> BotState:
        state = self.app.bot_data[STATE_KEY]
        assert isinstance(state, BotState)
        return state

    async def feed(self, payload: dict[str, Any]) -> None:
        await self.app.process_update(Update.de_json(payload, self.app.bot))

    async def settle(self) -> None:
        """Wait for background ingestion and reply tasks to finish."""
        for _ in range(100):
            await asyncio.sleep(0.01)
            if self.state.ingestor.queued == 0:
                break
        await asyncio.sleep(0.05)


async def eventually(probe: Callable[[], bool], within: float = WAIT_SECONDS) -> None:
    """Wait until `probe()` holds, failing after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not probe():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def eventually_async(
    probe: Callable[[], Awaitable[bool]], within: float = WAIT_SECONDS
) -> None:
    """Wait until `await probe()` holds, failing after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await probe():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(app: App, webhook: dict[str, Any] | None = None) -> AsyncIterator[None]:
    """Run like run_polling / run_webhook do in `bot.app.serve`, minus the signal handling."""
    await app.initialize()
    assert app.post_init is not None and app.post_shutdown is not None
    await app.post_init(app)
    assert app.updater is not None
    if webhook is None:
        await app.updater.start_polling(poll_interval=0, timeout=POLL_TIMEOUT, **polling_options())
    else:
        await app.updater.start_webhook(**webhook)
    await app.start()
    try:
        yield
    finally:
        await app.updater.stop()
        await app.stop()
        await app.post_shutdown(app)
        await app.shutdown()


def free_port() -> int:
    """A TCP port free right now on 127.0.0.1, for a webhook server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
