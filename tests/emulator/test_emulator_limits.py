"""answerInlineQuery limits and protocol errors, checked through PTB and raw HTTP."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from telegram import Bot, InlineQueryResultArticle, InlineQueryResultCachedSticker
from telegram import InputTextMessageContent as Text
from telegram.error import BadRequest, InvalidToken

from bot.emulator import BotApiEmulator


def articles(ids: list[str]) -> list[InlineQueryResultArticle]:
    return [InlineQueryResultArticle(i, "title", Text("text")) for i in ids]


async def expect_bad_request(bot: Bot, query_id: str, description: str, **kwargs: Any) -> None:
    with pytest.raises(BadRequest) as caught:
        await bot.answer_inline_query(query_id, **kwargs)
    assert description.lower() in caught.value.message.lower()  # PTB recapitalises


async def test_more_than_fifty_results_rejected(emu: BotApiEmulator, bot: Bot) -> None:
    query_id = emu.inline_query("x")
    await expect_bad_request(
        bot, query_id, "RESULTS_TOO_MUCH", results=articles([str(i) for i in range(51)])
    )
    assert await bot.answer_inline_query(query_id, articles([str(i) for i in range(50)]))


async def test_long_next_offset_rejected(emu: BotApiEmulator, bot: Bot) -> None:
    query_id = emu.inline_query("x")
    await expect_bad_request(
        bot, query_id, "NEXT_OFFSET_INVALID", results=articles(["a"]), next_offset="9" * 65
    )
    assert await bot.answer_inline_query(query_id, articles(["a"]), next_offset="9" * 64)


async def test_duplicate_and_oversized_result_ids_rejected(emu: BotApiEmulator, bot: Bot) -> None:
    query_id = emu.inline_query("x")
    await expect_bad_request(bot, query_id, "RESULT_ID_DUPLICATE", results=articles(["a", "a"]))
    await expect_bad_request(bot, query_id, "RESULT_ID_INVALID", results=articles(["a" * 65]))


async def test_unknown_sticker_file_id_rejected(emu: BotApiEmulator, bot: Bot) -> None:
    query_id = emu.inline_query("x")
    bogus = [InlineQueryResultCachedSticker("a", "CAACnot-a-real-file")]
    await expect_bad_request(bot, query_id, "wrong file identifier", results=bogus)


async def test_query_id_answered_twice_or_unknown(emu: BotApiEmulator, bot: Bot) -> None:
    query_id = emu.inline_query("x")
    assert await bot.answer_inline_query(query_id, [])
    await expect_bad_request(bot, query_id, "QUERY_ID_INVALID", results=[])
    await expect_bad_request(bot, "12345", "QUERY_ID_INVALID", results=[])


async def test_wrong_token_and_unknown_method(emu: BotApiEmulator) -> None:
    stranger = Bot("999:WRONG", base_url=emu.base_url)
    with pytest.raises(InvalidToken):
        await stranger.initialize()
    await stranger.shutdown()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{emu.base_url}{emu.token}/noSuchMethod") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        async with http.get(f"{emu.base_url}999:WRONG/getMe") as response:
            assert response.status == 401
            assert (await response.json())["description"] == "Unauthorized"


async def test_params_in_query_form_and_json(emu: BotApiEmulator) -> None:
    emu.send_text("hi", user_id=5)
    url = f"{emu.base_url}{emu.token}/sendMessage"
    markup = '{"inline_keyboard": [[{"text": "b", "callback_data": "d"}]]}'
    async with aiohttp.ClientSession() as http:
        async with http.get(url, params={"chat_id": "5", "text": "q"}) as response:
            assert (await response.json())["result"]["text"] == "q"
        form = {"chat_id": "5", "text": "f", "reply_markup": markup, "reply_to_message_id": "1"}
        async with http.post(url, data=form) as response:
            sent = (await response.json())["result"]
        async with http.post(url, json={"chat_id": 5, "text": "j"}) as response:
            body = await response.json()
    assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "d"
    assert sent["reply_to_message"]["text"] == "hi"
    assert body["ok"] and body["result"]["from"]["is_bot"] is True
    assert isinstance(body["result"]["date"], int) and body["result"]["date"] < 10**11


async def test_get_me_and_chat_errors(emu: BotApiEmulator, bot: Bot, pack: str) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.supports_inline_queries and me.can_join_groups
    assert me.username == "stickerbot_test_bot" and me.id == int(emu.token.split(":")[0])
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(777, "nobody here")
    emu.send_text("/start", user_id=777)
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(777, "x", reply_to_message_id=99)
    with pytest.raises(BadRequest, match=r"(?i)STICKERSET_INVALID"):
        await bot.get_sticker_set("nope")
    assert (await bot.get_sticker_set(pack)).title == "Test pack"
