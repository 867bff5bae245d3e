"""Fixtures for driving the Bot API emulator with the real python-telegram-bot."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from telegram import Bot
from telegram.ext import Application, ApplicationBuilder

from bot.emulator import BotApiEmulator

TOKEN = "123456:TEST-token"
PACK = "test_pack"
POLL_TIMEOUT = 1  # seconds; keeps updater.stop() quick at the end of each test

AnyApp = Application[Any, Any, Any, Any, Any, Any]
AppFactory = Callable[[AnyApp], contextlib.AbstractAsyncContextManager[None]]


def make_png(path: Path, size: tuple[int, int], colour: str) -> Path:
    Image.new("RGBA", size, colour).save(path, format="PNG")
    return path


@pytest.fixture
def pack() -> str:
    """Name of the sticker set every `emu` starts with (cat, dog, fox)."""
    return PACK


@pytest.fixture
def png() -> Callable[[Path, tuple[int, int], str], Path]:
    """Writes a real PNG of the given size and colour."""
    return make_png


@pytest.fixture
def sticker_files(tmp_path: Path) -> list[tuple[Path, str]]:
    folder = tmp_path / "stickers"
    folder.mkdir()
    return [
        (make_png(folder / "cat.png", (512, 384), "orange"), "🐱"),
        (make_png(folder / "dog.png", (300, 512), "brown"), "🐶"),
        (make_png(folder / "fox.png", (512, 512), "red"), "🦊"),
    ]


@pytest.fixture
async def emu(sticker_files: list[tuple[Path, str]]) -> AsyncIterator[BotApiEmulator]:
    emulator = BotApiEmulator(token=TOKEN)
    emulator.add_sticker_set(PACK, "Test pack", sticker_files)
    await emulator.start(host="127.0.0.1", port=0)
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url) as client:
        yield client


@pytest.fixture
def builder(emu: BotApiEmulator) -> Callable[[], ApplicationBuilder[Any, Any, Any, Any, Any, Any]]:
    """An ApplicationBuilder already pointed at the emulator."""

    def make() -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
        return (
            Application.builder()
            .token(TOKEN)
            .base_url(emu.base_url)
            .base_file_url(emu.base_file_url)
        )

    return make


@contextlib.asynccontextmanager
async def polling(app: AnyApp) -> AsyncIterator[None]:
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=POLL_TIMEOUT)
    try:
        yield
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


@pytest.fixture
def run_polling() -> AppFactory:
    """`async with run_polling(app):` runs the application against the emulator."""
    return polling


@pytest.fixture
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
