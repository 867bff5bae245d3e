"""Turning what users do with stickers into engine events, honouring their preferences."""

from __future__ import annotations

import logging

from bot.inbox import current_receipt
from bot.ingest import PendingEvent
from bot.state import BotState
from engine.errors import UnknownSticker
from engine.types import Event

log = logging.getLogger(__name__)


async def record(state: BotState, user_id: int, event: Event, set_name: str | None) -> None:
    """Record `event` unless the user paused learning; fetch the sticker's pack when unknown."""
    uid = str(user_id)
    state.file_ids.remember(event.sticker_id, event.file_id)
    paused = (await state.engine.get_prefs(uid)).learning_paused
    if set_name and not await state.engine.has_set(set_name):
        # The catalog grows either way; the event waits for the pack unless learning is paused.
        state.ingestor.queue_set(set_name, None if paused else _waiting(uid, event))
        return
    if paused:
        return
    try:
        await state.engine.observe(uid, event)
    except UnknownSticker:
        if set_name is None:
            log.info("sticker %s is in no pack the bot can fetch", event.sticker_id)
            return
        # A sticker added to the pack after it was indexed: fetch the pack again.
        state.ingestor.queue_set(set_name, _waiting(uid, event))


def _waiting(user_id: str, event: Event) -> PendingEvent:
    """`event`, to record once its pack is indexed: the ingestor, not the handler, then settles
    the update it came in (bot.inbox)."""
    receipt = current_receipt.get()
    if receipt is None:
        return PendingEvent(user_id, event)
    receipt.handed_over = True
    return PendingEvent(user_id, event, receipt.update_id)
