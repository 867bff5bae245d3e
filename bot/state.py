"""The shared resources handlers use, opened once in post_init and kept in bot_data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from telegram.ext import ContextTypes

from bot.config import Settings
from bot.context_window import ContextWindow
from bot.file_ids import FileIdCache
from bot.inbox import Inbox
from bot.ingest import Ingestor
from engine.protocol import SuggestionEngine

STATE_KEY = "stickerbot"  # the bot_data key that holds BotState


class ClosableEngine(SuggestionEngine, Protocol):
    """The engine as the bot owns it: the facade plus a way to close it on shutdown."""

    async def close(self) -> None: ...


EngineFactory = Callable[[Settings], Awaitable[ClosableEngine]]


@dataclass(slots=True)
class BotState:
    """Everything handlers share: settings, the engine, ingestion, and short-lived memory."""

    settings: Settings
    engine: ClosableEngine
    ingestor: Ingestor
    window: ContextWindow
    file_ids: FileIdCache
    inbox: Inbox


def get_state(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    """The BotState that post_init stored for this application."""
    state = context.bot_data.get(STATE_KEY)
    if not isinstance(state, BotState):
        raise RuntimeError("bot state missing: post_init has not run")
    return state
