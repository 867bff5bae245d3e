"""Inline mode end to end: a real PTB Application answers queries typed through the emulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import InlineQueryResultCachedSticker, Update
from telegram.ext import ChosenInlineResultHandler, ContextTypes, InlineQueryHandler

from bot.emulator import BotApiEmulator
from bot.emulator.errors import ApiError
from bot.emulator.queries import ANSWER_WINDOWS, QueryBook

PAGE = 2  # results per page, small so the pack needs two pages


async def test_inline_query_answered_with_cached_stickers(
    emu: BotApiEmulator, builder: Any, run_polling: Any, pack: str
) -> None:
    stickers = emu.sticker_set(pack)["stickers"]

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.inline_query
        assert query is not None
        start = int(query.offset or 0)
        page = stickers[start : start + PAGE]
        results = [
            InlineQueryResultCachedSticker(id=f"s{start + i}", sticker_file_id=s["file_id"])
            for i, s in enumerate(page)
        ]
        more = start + PAGE < len(stickers)
        await query.answer(
            results, cache_time=0, is_personal=True, next_offset=str(start + PAGE) if more else ""
        )

    app = builder().build()
    app.add_handler(InlineQueryHandler(answer))
    async with run_polling(app):
        first_id = emu.inline_query("cat", user_id=7, chat_type="group")
        first = await emu.wait_inline_answer(first_id, timeout=5)
        second_id = emu.inline_query("cat", user_id=7, offset=first["next_offset"])
        second = await emu.wait_inline_answer(second_id, timeout=5)

    assert [r["id"] for r in first["results"]] == ["s0", "s1"]
    assert first["results"][0]["type"] == "sticker"
    assert first["results"][0]["sticker_file_id"] == stickers[0]["file_id"]
    assert first["next_offset"] == "2" and first["is_personal"] is True
    assert first["cache_time"] == 0 and first["button"] is None
    assert [r["id"] for r in second["results"]] == ["s2"] and second["next_offset"] == ""


async def test_inline_query_update_carries_user_and_chat_type(
    emu: BotApiEmulator, builder: Any, run_polling: Any
) -> None:
    seen: list[Update] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update)
        assert update.inline_query is not None
        await update.inline_query.answer([])

    app = builder().build()
    app.add_handler(InlineQueryHandler(record))
    async with run_polling(app):
        emu.add_user(42, first_name="Ana", username="ana", language_code="pt")
        await emu.wait_inline_answer(emu.inline_query("hi", user_id=42, chat_type="private"))

    query = seen[0].inline_query
    assert query is not None and query.query == "hi" and query.chat_type == "private"
    assert query.from_user.id == 42 and query.from_user.is_bot is False
    assert query.from_user.username == "ana" and query.from_user.language_code == "pt"


async def test_chosen_inline_result_reaches_the_bot(
    emu: BotApiEmulator, builder: Any, run_polling: Any, pack: str
) -> None:
    chosen: list[tuple[str, str]] = []
    done = asyncio.Event()

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.inline_query is not None
        sticker = emu.sticker_set(pack)["stickers"][1]["file_id"]
        await update.inline_query.answer([InlineQueryResultCachedSticker("r1", sticker)])

    async def on_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        result = update.chosen_inline_result
        assert result is not None
        chosen.append((result.result_id, result.query))
        done.set()

    app = builder().build()
    app.add_handler(InlineQueryHandler(answer))
    app.add_handler(ChosenInlineResultHandler(on_chosen))
    async with run_polling(app):
        query_id = emu.inline_query("dog")
        await emu.wait_inline_answer(query_id)
        emu.choose_inline_result("r1", query_id=query_id)
        await asyncio.wait_for(done.wait(), 5)

    assert chosen == [("r1", "dog")]


def test_answers_after_telegrams_window_are_refused() -> None:
    now = [0.0]
    book = QueryBook(clock=lambda: now[0])
    inline, callback = book.open("inline", {}), book.open("callback", {})
    now[0] = ANSWER_WINDOWS["inline"] + 1
    with pytest.raises(ApiError, match="query is too old"):
        book.answer("inline", inline.id, {"results": []})
    book.answer("callback", callback.id, {"text": "ok"})  # its window is longer
    assert book.answer_of(inline.id) is None
    assert book.answer_of(callback.id) == {"text": "ok"}
