"""Wiring: build the Application with every handler, open shared resources, and run it."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlparse

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import texts
from bot.config import Settings
from bot.context_window import ContextWindow
from bot.file_ids import FileIdCache
from bot.handlers import chat, commands, errors, inline, prefs
from bot.inbox import Inbox, Receipt, UpdateJournal, current_receipt, learner
from bot.ingest import Ingestor
from bot.state import STATE_KEY, BotState, ClosableEngine, EngineFactory

log = logging.getLogger(__name__)

MAX_RETRIES_ON_429 = 3  # a flood wait is waited out and retried this many times
CHATS = filters.ChatType.PRIVATE | filters.ChatType.GROUPS  # where the bot learns
NEW_MESSAGES = filters.UpdateType.MESSAGE  # edits change nothing worth learning


async def open_engine(settings: Settings) -> ClosableEngine:
    """The real engine on the configured data folder (imported late: it loads models)."""
    from engine.engine import Engine

    settings.data.mkdir(parents=True, exist_ok=True)
    url = settings.database_url.get_secret_value() if settings.database_url else None
    engine = await Engine.open(settings.data, settings.engine, database_url=url)
    await engine.warm_up()  # before the first update: no user waits for the text model
    opened: ClosableEngine = engine
    return opened


class JournalledApplication(Application[Any, Any, Any, Any, Any, Any]):
    """Marks each journalled update handled in the inbox once its handlers have run, unless its
    event was handed to the ingestor (bot.inbox)."""

    async def process_update(self, update: object) -> None:
        state = self.bot_data.get(STATE_KEY)
        if not (isinstance(state, BotState) and isinstance(update, Update) and learner(update)):
            await super().process_update(update)
            return
        receipt = Receipt(update.update_id)
        token = current_receipt.set(receipt)
        try:
            await super().process_update(update)
        finally:
            current_receipt.reset(token)
        if not receipt.handed_over:
            await state.inbox.done(update.update_id)


def build_application(
    settings: Settings,
    engine_factory: EngineFactory = open_engine,
    *,
    request: BaseRequest | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """An Application with every handler registered; resources open in post_init."""

    async def post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await _open_resources(application, settings, engine_factory)

    builder = (
        ApplicationBuilder()
        .token(settings.token.get_secret_value())
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .rate_limiter(AIORateLimiter(max_retries=MAX_RETRIES_ON_429))
        .post_init(post_init)
        .post_shutdown(_close_resources)
        .update_queue(UpdateJournal())
        .application_class(JournalledApplication)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = builder.build()
    _register(application)
    return application


def serve(settings: Settings) -> None:
    """Run the bot until interrupted, by long polling or as a webhook server."""
    from engine.engine import limit_blas_threads  # numpy's BLAS: loaded with the engine

    limit_blas_threads()
    application = build_application(settings)
    if settings.bot.mode == "webhook":
        application.run_webhook(**webhook_options(settings))
    else:
        application.run_polling(**polling_options())


def polling_options() -> dict[str, Any]:
    """Arguments for run_polling / Updater.start_polling, shared with the tests."""
    # Every type, so chosen inline results (picks) and button presses are delivered.
    return {"allowed_updates": Update.ALL_TYPES}


def webhook_options(settings: Settings) -> dict[str, Any]:
    """Arguments for run_webhook / Updater.start_webhook from the settings."""
    url = settings.bot.webhook_url or ""
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    return {
        "listen": settings.bot.webhook_listen,
        "port": settings.bot.webhook_port,
        "url_path": urlparse(url).path.lstrip("/"),
        "webhook_url": url,
        "secret_token": secret,
        "allowed_updates": Update.ALL_TYPES,
    }


def _register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler("start", commands.start))
    application.add_handler(CommandHandler("help", commands.help_))
    application.add_handler(CommandHandler("addset", commands.addset))
    application.add_handler(CommandHandler("stats", commands.stats))
    application.add_handler(CommandHandler("prefs", prefs.prefs))
    application.add_handler(CommandHandler("forget", prefs.forget))
    application.add_handler(CallbackQueryHandler(prefs.press))
    application.add_handler(InlineQueryHandler(inline.suggest))
    application.add_handler(ChosenInlineResultHandler(inline.record_pick))
    application.add_handler(
        MessageHandler(filters.Sticker.ALL & CHATS & NEW_MESSAGES, chat.record_sticker)
    )
    application.add_handler(
        MessageHandler(
            ((filters.TEXT & ~filters.COMMAND) | filters.CAPTION) & CHATS & NEW_MESSAGES,
            chat.remember_text,
        )
    )
    application.add_error_handler(errors.on_error)


async def _open_resources(
    application: Application[Any, Any, Any, Any, Any, Any],
    settings: Settings,
    engine_factory: EngineFactory,
) -> None:
    engine = await engine_factory(settings)
    inbox = await Inbox.open(settings.data)
    file_ids = FileIdCache()
    ingestor = Ingestor(
        application.bot,
        engine,
        settings.data,
        workers=settings.bot.ingest_workers,
        file_ids=file_ids,
        settle=inbox.done,
    )
    ingestor.start()
    window = ContextWindow(
        max_messages=settings.bot.context_messages,
        ttl_seconds=settings.bot.context_ttl_seconds,
        max_users=settings.bot.context_users,
    )
    application.bot_data[STATE_KEY] = BotState(settings, engine, ingestor, window, file_ids, inbox)
    await _handle_left_over(application, inbox)
    commands_list = [BotCommand(name, text) for name, text in texts.COMMANDS.items()]
    await application.bot.set_my_commands(commands_list)
    log.info("bot @%s ready", application.bot.username)


async def _handle_left_over(
    application: Application[Any, Any, Any, Any, Any, Any], inbox: Inbox
) -> None:
    """Handle the journalled updates a stopped or killed bot left, then journal new ones."""
    left = await inbox.pending()
    for payload in left:
        await application.process_update(Update.de_json(payload, application.bot))
    if left:
        log.info("handled %d updates the last run left", len(left))
    _journal_into(application, inbox)


def _journal_into(
    application: Application[Any, Any, Any, Any, Any, Any], inbox: Inbox | None
) -> None:
    """Journal the updates queued from now on into `inbox` (None: stop journalling)."""
    journal = application.update_queue
    if isinstance(journal, UpdateJournal):  # build_application made it one
        journal.inbox = inbox


async def _close_resources(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    _journal_into(application, None)
    state = application.bot_data.pop(STATE_KEY, None)
    if isinstance(state, BotState):
        await state.ingestor.stop()
        await state.engine.close()
        await state.inbox.close()
