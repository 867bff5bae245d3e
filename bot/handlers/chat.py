"""Messages in chats: stickers people send teach the engine, text feeds the context window."""

from __future__ import annotations

from typing import TypeGuard

from telegram import Message, Update, User
from telegram.ext import ContextTypes

from bot.learning import record
from bot.state import get_state
from engine.types import Event


async def record_sticker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Record a sticker sent in a chat, with the message it answered as context."""
    message = update.message
    if message is None or message.sticker is None or message.from_user is None:
        return
    if message.via_bot is not None and message.via_bot.id == context.bot.id:
        return  # chosen from our inline results: already recorded as a pick
    sticker = message.sticker
    event = Event(
        kind="send",
        sticker_id=sticker.file_unique_id,
        ts=message.date.timestamp(),
        context=_text_of(message.reply_to_message),
        file_id=sticker.file_id,
        source=f"message:{message.chat_id}:{message.message_id}",  # unique for good
    )
    await record(get_state(context), message.from_user.id, event, sticker.set_name)


async def remember_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Keep a text message in the context window of the people it concerns."""
    message = update.message
    text = _text_of(message)
    if message is None or text is None or message.from_user is None:
        return
    window = get_state(context).window
    author = message.from_user
    replied = message.reply_to_message
    addressee = replied.from_user if replied is not None else None
    if replied is not None and _is_person(addressee) and addressee != author:
        window.add(addressee.id, text)  # a message addressed to them
        replied_text = _text_of(replied)
        if replied_text:
            window.add(author.id, replied_text)  # what the author answered
    window.add(author.id, text)


def _text_of(message: Message | None) -> str | None:
    if message is None:
        return None
    return message.text or message.caption or None


def _is_person(user: User | None) -> TypeGuard[User]:
    return user is not None and not user.is_bot
