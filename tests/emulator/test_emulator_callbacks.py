"""Inline keyboards: a user presses a button, the bot answers the callback and edits."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.emulator import BotApiEmulator, EmulatorError

USER = 41


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Like", callback_data="like:1")]])
    await context.bot.send_message(update.effective_chat.id, "Rate it", reply_markup=keyboard)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data == "like:1"
    await query.answer("Saved!", show_alert=False)
    await query.edit_message_text("Thanks")


async def test_button_press_round_trip(emu: BotApiEmulator, builder: Any, run_polling: Any) -> None:
    app = builder().build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    async with run_polling(app):
        emu.send_text("/start", user_id=USER)
        (keyboard_message,) = await emu.wait_bot_messages(USER, count=1)
        assert keyboard_message["reply_markup"]["inline_keyboard"][0][0]["text"] == "Like"
        with pytest.raises(EmulatorError):
            emu.press_button("nope", chat_id=USER, message_id=keyboard_message["message_id"])
        query_id = emu.press_button(
            "like:1", chat_id=USER, message_id=keyboard_message["message_id"], user_id=USER
        )
        answer = await emu.wait_callback_answer(query_id, timeout=5)
        edited = await emu.state.changed.wait_for(
            lambda: next((m for m in emu.messages(USER) if m["text"] == "Thanks"), None), 5
        )

    assert answer["text"] == "Saved!" and answer["show_alert"] is False
    assert edited is not None and "edit_date" in edited
    assert "reply_markup" not in edited  # editing without a keyboard removes it, as on Telegram
    assert [m["text"] for m in emu.messages(USER, from_bot=False)] == ["/start", "Thanks"]
