"""The one error handler: log the failure, then tell the user in one line when it makes sense."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot import texts
from engine.errors import StickerbotError

log = logging.getLogger(__name__)

# Telegram's refusal of an inline or callback answer sent after its window (about 10-15 s).
LATE_ANSWER = "query is too old"


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log an error raised by a handler and apologise to the user where appropriate."""
    error = context.error
    if isinstance(error, BadRequest) and LATE_ANSWER in error.message.lower():
        # Nothing to tell anyone: the user has moved on and the query can no longer be answered.
        log.warning("update %s answered too late for Telegram: %s", _describe(update), error)
        return
    log.error("error while handling update %s", _describe(update), exc_info=error)
    if not isinstance(update, Update):
        return
    # Engine errors carry a user-safe message; anything else gets a generic apology.
    text = str(error) if isinstance(error, StickerbotError) else texts.SORRY
    try:
        await _tell(update, text)
    except TelegramError:
        log.warning("could not tell the user about the error", exc_info=True)


async def _tell(update: Update, text: str) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
        return
    if update.inline_query is not None:
        await update.inline_query.answer([], cache_time=0, is_personal=True)
        return
    message = update.message
    # In groups only a command deserves an answer; stray stickers must not draw apologies.
    is_command = message is not None and (message.text or "").startswith("/")
    if message is not None and (message.chat.type == ChatType.PRIVATE or is_command):
        await message.reply_text(text)


def _describe(update: object) -> str:
    return str(update.update_id) if isinstance(update, Update) else repr(update)
