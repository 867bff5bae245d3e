"""The control API over HTTP, and group privacy mode."""

from __future__ import annotations

from typing import Any

import aiohttp
from telegram import Bot

from bot.emulator import BotApiEmulator


async def control(
    http: aiohttp.ClientSession, emu: BotApiEmulator, action: str, **kwargs: Any
) -> tuple[int, Any]:
    async with http.post(f"{emu.url}/control/{action}", json=kwargs) as response:
        body = await response.json()
        return response.status, body.get("result", body)


async def test_http_control_drives_a_conversation(emu: BotApiEmulator, bot: Bot, pack: str) -> None:
    async with aiohttp.ClientSession() as http:
        status, message = await control(http, emu, "send_text", text="hi", user_id=51)
        assert status == 200 and message["chat"]["id"] == 51 and message["from"]["is_bot"] is False
        query_id = (await control(http, emu, "inline_query", query="cat", user_id=51))[1]

        updates = await bot.get_updates(timeout=0)
        assert [bool(u.message) for u in updates] == [True, False]
        await bot.answer_inline_query(query_id, [], next_offset="5")
        await bot.send_document(51, b"exported", filename="a.txt")
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)

        status, answer = await control(http, emu, "wait_inline_answer", query_id=query_id)
        assert status == 200 and answer["next_offset"] == "5"
        sent = (await control(http, emu, "messages", chat_id=51))[1]
        async with http.get(f"{emu.url}/control/files/{sent[0]['document']['file_id']}") as got:
            assert await got.read() == b"exported"

        status, error = await control(http, emu, "send_sticker", set_name="missing")
        assert status == 400 and "missing" in error["description"]
        status, error = await control(http, emu, "send_text", bogus=1)
        assert status == 400
        status, _ = await control(http, emu, "wait_inline_answer", query_id="1", timeout=0.05)
        assert status == 408
        assert (await control(http, emu, "reset"))[0] == 200
    assert emu.messages(51) == [] and emu.pending_updates() == []
    assert emu.sticker_set(pack)["name"] == pack  # reset keeps sticker sets


async def test_group_privacy_filters_plain_messages(
    emu: BotApiEmulator, bot: Bot, pack: str
) -> None:
    group: dict[str, Any] = {"chat_type": "supergroup", "chat_id": -1001234}
    group["chat_title"] = "Friends"
    emu.send_text("just chatting", user_id=61, **group)
    emu.send_text("/suggest cats", user_id=61, **group)
    emu.send_text("hey @stickerbot_test_bot", user_id=62, **group)
    emu.send_sticker(set_name=pack, index=0, user_id=62, **group)
    updates = await bot.get_updates(timeout=0)
    texts = [u.message.text for u in updates if u.message]
    assert texts == ["/suggest cats", "hey @stickerbot_test_bot"]
    command = updates[0].message
    assert command is not None and command.chat.title == "Friends"
    assert command.entities[0].type == "bot_command" and command.entities[0].length == 8
    assert len(emu.messages(-1001234, from_bot=False)) == 4  # history still has everything
