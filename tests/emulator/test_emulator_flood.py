"""Injected flood control: PTB's AIORateLimiter waits retry_after and then succeeds."""

from __future__ import annotations

import time
from typing import Any

import pytest
from telegram import Bot
from telegram.error import Forbidden, RetryAfter
from telegram.ext import AIORateLimiter

from bot.emulator import BotApiEmulator

# PTB 22 warns about its own RetryAfter.retry_after type change while retrying; not our concern.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def test_rate_limiter_retries_after_429(emu: BotApiEmulator, builder: Any) -> None:
    emu.send_text("/start", user_id=31)
    emu.inject_error("sendMessage", error_code=429, retry_after=1, times=1)
    app = builder().rate_limiter(AIORateLimiter(max_retries=2)).build()
    async with app:
        started = time.monotonic()
        message = await app.bot.send_message(31, "after the flood")
        waited = time.monotonic() - started

    assert message.text == "after the flood" and waited >= 1.0
    calls = emu.api_calls("sendMessage")
    assert [(c["ok"], c["error_code"]) for c in calls] == [(False, 429), (True, None)]
    assert [m["text"] for m in emu.messages(31)] == ["after the flood"]


async def test_injected_errors_surface_like_telegram(emu: BotApiEmulator, bot: Bot) -> None:
    emu.send_text("/start", user_id=32)
    emu.inject_error("sendmessage", error_code=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(32, "x")
    assert "7 seconds" in caught.value.message  # reading .retry_after warns in PTB 22

    emu.inject_error("sendMessage", error_code=403, times=2)
    for _ in range(2):
        with pytest.raises(Forbidden, match=r"(?i)blocked"):
            await bot.send_message(32, "x")
    assert (await bot.send_message(32, "ok")).text == "ok"
