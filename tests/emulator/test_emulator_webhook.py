"""Webhook mode: PTB's own webhook server receives updates with the secret token header."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import Bot, Update
from telegram.error import Conflict
from telegram.ext import ContextTypes, MessageHandler, filters

from bot.emulator import BotApiEmulator

SECRET = "s3cret-token"


async def test_webhook_delivery_with_secret(
    emu: BotApiEmulator, bot: Bot, builder: Any, free_port: int
) -> None:
    received: list[str] = []
    got = asyncio.Event()

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        received.append(update.message.text)
        if len(received) == 2:
            got.set()

    app = builder().build()
    app.add_handler(MessageHandler(filters.TEXT, on_text))
    url = f"http://127.0.0.1:{free_port}/hook"
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_webhook(
        listen="127.0.0.1", port=free_port, url_path="hook", webhook_url=url, secret_token=SECRET
    )
    try:
        info = await bot.get_webhook_info()
        assert info.url == url
        with pytest.raises(Conflict):
            await bot.get_updates(timeout=0)
        emu.send_text("one", user_id=21)
        emu.send_text("two", user_id=21)
        await asyncio.wait_for(got.wait(), 5)
        assert received == ["one", "two"]  # delivered in order

        # A webhook with the wrong secret is refused by PTB; the emulator keeps the update.
        await bot.set_webhook(url, secret_token="wrong-secret")
        emu.send_text("three", user_id=21)
        await emu.state.changed.wait_for(lambda: emu.webhook_info().get("last_error_message"), 5)
        info = await bot.get_webhook_info()
        assert "403" in (info.last_error_message or "")
        assert info.pending_update_count == 1 and received == ["one", "two"]
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()

    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""
