"""Inline mode: suggest stickers for what the user types, and learn from what they pick."""

from __future__ import annotations

import logging
import time

from telegram import InlineQuery, InlineQueryResultCachedSticker, InlineQueryResultsButton, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot import texts
from bot.codec import decode_offset, decode_result_id, encode_offset, encode_result_id
from bot.learning import record
from bot.state import BotState, get_state
from engine.errors import BadQuery
from engine.protocol import MAX_PAGE, MAX_QUERY_CHARS
from engine.types import Event, Page

log = logging.getLogger(__name__)

MAX_INLINE_RESULTS = MAX_PAGE  # Bot API limit: 50 results per answer
PREFS_START_PARAMETER = "prefs"  # /start prefs opens the settings
GROUP_CHATS = (ChatType.GROUP, ChatType.SUPERGROUP)


async def suggest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer an inline query with a page of stickers for its words, or for the conversation."""
    query = update.inline_query
    if query is None:
        return
    state = get_state(context)
    page = await _page(state, query)
    await query.answer(
        _results(state, page),
        cache_time=state.settings.bot.cache_time,
        is_personal=True,
        next_offset=encode_offset(page.next_offset),
        button=InlineQueryResultsButton(
            text=texts.PREFS_INLINE_BUTTON, start_parameter=PREFS_START_PARAMETER
        ),
    )


async def record_pick(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Record the sticker a user chose from inline results."""
    chosen = update.chosen_inline_result
    if chosen is None:
        return
    event = Event(
        kind="pick",
        sticker_id=decode_result_id(chosen.result_id),
        ts=time.time(),
        query=chosen.query or None,
        # A pick has no number of its own. Update numbers restart at random after a week
        # without updates, so the chosen result is part of its source too.
        source=f"chosen:{update.update_id}:{chosen.result_id}",
    )
    # The pack is unknown here, so a sticker missing from the catalog cannot be fetched.
    await record(get_state(context), chosen.from_user.id, event, set_name=None)


async def _page(state: BotState, query: InlineQuery) -> Page:
    empty = Page(items=[], next_offset=None)
    if len(query.query) > MAX_QUERY_CHARS:
        return empty
    # None lets the user's own safe-mode preference decide.
    in_group = query.chat_type in GROUP_CHATS
    safe = True if in_group and state.settings.engine.safe_mode_in_groups else None
    user = query.from_user
    try:
        return await state.engine.suggest(
            str(user.id),
            query.query,  # as typed: a space after the last word says it is finished
            context=state.window.latest(user.id),
            limit=MAX_INLINE_RESULTS,
            offset=decode_offset(query.offset),
            safe=safe,
            language=user.language_code,
        )
    except BadQuery as error:
        log.info("inline query refused: %s", error)
        return empty


def _results(state: BotState, page: Page) -> list[InlineQueryResultCachedSticker]:
    results: list[InlineQueryResultCachedSticker] = []
    seen: set[str] = set()
    for item in page.items[:MAX_INLINE_RESULTS]:
        result_id = encode_result_id(item.sticker_id)
        file_id = item.file_id or state.file_ids.get(item.sticker_id)
        if result_id is None or file_id is None or result_id in seen:
            continue  # cannot be sent, or would repeat an id Telegram needs unique
        seen.add(result_id)
        state.file_ids.remember(item.sticker_id, file_id)
        results.append(InlineQueryResultCachedSticker(id=result_id, sticker_file_id=file_id))
    return results
