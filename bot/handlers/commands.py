"""Plain commands: /start, /help, /addset and the owner's /stats."""

from __future__ import annotations

import asyncio
import logging

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot import texts
from bot.handlers.inline import PREFS_START_PARAMETER
from bot.handlers.prefs import prefs
from bot.ingest import SetNotFound, parse_set_name
from bot.state import get_state

log = logging.getLogger(__name__)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet the user, or open settings for the `/start prefs` deep link."""
    if context.args and context.args[0] == PREFS_START_PARAMETER:
        await prefs(update, context)
        return
    await help_(update, context)


async def help_(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain what the bot does and how to use it inline."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(texts.HELP.format(username=context.bot.username))


async def addset(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Queue a sticker pack for indexing and reply when it is done."""
    message = update.effective_message
    if message is None:
        return
    if not context.args:
        await message.reply_text(texts.ADDSET_USAGE)
        return
    name = parse_set_name(" ".join(context.args))
    if name is None:
        await message.reply_text(texts.ADDSET_BAD_NAME)
        return
    future = get_state(context).ingestor.queue_set(name, force=True)
    await message.reply_text(texts.ADDSET_QUEUED.format(name=name))
    # Reply from a task: the handler returns at once and other updates keep flowing.
    context.application.create_task(_report(message, name, future), update=update)


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show catalog and usage counts to the bot's owners."""
    message, user = update.effective_message, update.effective_user
    state = get_state(context)
    if message is None or user is None or user.id not in state.settings.bot.owner_ids:
        return  # silent for everyone else: the command does not exist for them
    counts = await state.engine.stats()
    lines = [texts.STATS_LINE.format(key=key, value=value) for key, value in counts.items()]
    lines.append(texts.STATS_QUEUE.format(value=state.ingestor.queued))
    await message.reply_text("\n".join(lines))


async def _report(message: Message, name: str, future: asyncio.Future[int]) -> None:
    try:
        count = await future
    except SetNotFound:
        await message.reply_text(texts.ADDSET_UNKNOWN.format(name=name))
    except Exception:  # already logged by the ingestor; the user gets one line
        await message.reply_text(texts.ADDSET_FAILED.format(name=name))
    else:
        await message.reply_text(texts.ADDSET_DONE.format(name=name, count=count))
