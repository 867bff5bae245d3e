"""Message formatting, edits and deletion as Telegram applies and rejects them."""

from __future__ import annotations

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity
from telegram.error import BadRequest

from bot.emulator import BotApiEmulator

USER = 71


async def test_html_becomes_entities_and_bad_html_is_rejected(
    emu: BotApiEmulator, bot: Bot
) -> None:
    emu.send_text("/start", user_id=USER)
    message = await bot.send_message(USER, "<b>Hi</b> 😀 <i>there</i> &lt;3", parse_mode="HTML")
    assert message.text == "Hi 😀 there <3"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        (MessageEntity.BOLD, 0, 2),
        (MessageEntity.ITALIC, 6, 5),  # the emoji counts as two UTF-16 units
    ]
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, "1 < 2 <b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, "<b>open", parse_mode="HTML")


async def test_edits_and_deletes(emu: BotApiEmulator, bot: Bot) -> None:
    emu.send_text("/start", user_id=USER)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(USER, "pick", reply_markup=keyboard)
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=keyboard)
    edited = await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=None)
    assert not isinstance(edited, bool) and edited.reply_markup is None
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("hack", USER, 1)  # the user's /start
    assert await bot.delete_message(USER, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER, sent.message_id)
    assert [m["text"] for m in emu.messages(USER, from_bot=False)] == ["/start"]


async def test_text_only_buttons_rejected(emu: BotApiEmulator, bot: Bot) -> None:
    emu.send_text("/start", user_id=USER)
    oversized = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "x", reply_markup=oversized)
