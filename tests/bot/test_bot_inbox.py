"""The inbox: sends and picks that Telegram counts as delivered survive a bot stopped before it
handled them, and leave the journal once the engine has them (bot/inbox.py).

Updates are put on the Application's queue as the updater and the webhook server put them,
before they confirm them to Telegram; a bot stopped before its handlers ran is what a kill -9
leaves behind, since the journal is written before the update is queued.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from telegram import Update

from bot.app import build_application
from bot.codec import encode_result_id
from bot.config import Settings
from bot.inbox import INBOX_FILE, Inbox
from bot.state import STATE_KEY, BotState
from tests.bot.fakes import FakeEngine, RecordingRequest
from tests.bot.harness import (
    WAIT_SECONDS,
    App,
    Harness,
    eventually,
    eventually_async,
    make_settings,
    records,
    serve_pack,
)
from tests.bot.updates import ANN, BOB, chosen, command, inline_query, message, press, sticker


class GatedRequest(RecordingRequest):
    """The recorded Bot API, holding every getStickerSet call until `gate` is set; `held` is
    set once one is held."""

    def __init__(self) -> None:
        super().__init__()
        self.gate, self.held = asyncio.Event(), asyncio.Event()

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        if url.endswith("/getStickerSet"):
            self.held.set()
            await self.gate.wait()
        return await super().do_request(url, method, *args, **kwargs)


async def opened(settings: Settings, engine: FakeEngine, api: RecordingRequest) -> App:
    """An Application with its resources open (and so what the last run left handled)."""

    async def factory(_: Settings) -> FakeEngine:
        return engine

    app = build_application(settings, factory, request=api)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    return app


async def closed(app: App) -> None:
    assert app.post_shutdown is not None
    await app.post_shutdown(app)
    await app.shutdown()


def inbox_of(app: App) -> Inbox:
    state = app.bot_data[STATE_KEY]
    assert isinstance(state, BotState)
    return state.inbox


async def queue(app: App, payload: dict[str, Any]) -> None:
    """As the updater queues an update it fetched, before it confirms it to Telegram."""
    await app.update_queue.put(Update.de_json(payload, app.bot))


async def test_sends_and_picks_queued_but_not_handled_are_handled_at_the_next_start(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    first = FakeEngine(records(3))
    app = await opened(settings, first, RecordingRequest())
    send, pick = (
        message(ANN, sticker=sticker("u001")),
        chosen(BOB, encode_result_id("u002") or "", "cat"),
    )
    try:
        await queue(app, send)
        await queue(app, pick)
        await queue(app, inline_query(ANN, "cat"))  # asks, teaches nothing: not journalled
        assert len(await inbox_of(app).pending()) == 2
    finally:
        await closed(app)  # stopped before any handler ran
    assert first.events == []

    second = FakeEngine(records(3))
    app = await opened(settings, second, RecordingRequest())
    try:
        learnt = [(user, event.kind, event.sticker_id) for user, event in second.events]
        assert learnt == [("1", "send", "u001"), ("2", "pick", "u002")]
        assert second.events[1][1].query == "cat"
        assert await inbox_of(app).pending() == []
        await app.start()
        try:  # Telegram delivers both again: they were never confirmed
            await queue(app, send)
            await queue(app, pick)
            await queue(app, message(ANN, sticker=sticker("u000")))
            await eventually(lambda: len(second.events) == 3)
        finally:
            await app.stop()
        assert second.events[2][1].sticker_id == "u000"  # and only the new one is handled
    finally:
        await closed(app)


async def test_a_handled_update_leaves_the_journal(tmp_path: Path) -> None:
    engine = FakeEngine(records(3))
    app = await opened(make_settings(tmp_path), engine, RecordingRequest())
    await app.start()
    try:
        await queue(app, message(ANN, sticker=sticker("u001")))
        await eventually(lambda: len(engine.events) == 1)
        await eventually_async(lambda: _is_empty(inbox_of(app)))
    finally:
        await app.stop()
        await closed(app)


async def test_a_send_waiting_for_its_pack_stays_journalled_until_the_engine_has_it(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    first, api = FakeEngine(records(3)), GatedRequest()
    serve_pack(api, "fresh", 2)
    app = await opened(settings, first, api)
    await app.start()
    try:
        await queue(app, message(ANN, sticker=sticker("n1", "fresh")))
        await asyncio.wait_for(api.held.wait(), WAIT_SECONDS)  # handled; the pack on its way
        assert len(await inbox_of(app).pending()) == 1
    finally:
        await app.stop()
        await closed(app)  # stopped mid-download: the event was never recorded
    assert first.events == []

    second, api = FakeEngine(records(3)), GatedRequest()
    serve_pack(api, "fresh", 2)
    api.gate.set()
    app = await opened(settings, second, api)
    try:
        await eventually(lambda: len(second.events) == 1)
        assert second.events[0][1].sticker_id == "n1"
        await eventually_async(lambda: _is_empty(inbox_of(app)))
    finally:
        await closed(app)


async def _is_empty(inbox: Inbox) -> bool:
    return await inbox.pending() == []


async def test_forgetting_a_user_deletes_their_updates_not_handled_yet(harness: Harness) -> None:
    inbox = harness.state.inbox
    for user, unique_id in ((ANN, "u001"), (BOB, "u002")):
        update = Update.de_json(message(user, sticker=sticker(unique_id)), harness.app.bot)
        await inbox.keep(update, str(user["id"]))

    await harness.feed(command(ANN, "/forget"))
    [asked] = harness.api.called("sendMessage")
    await harness.feed(press(ANN, asked["reply_markup"]["inline_keyboard"][0][0]["callback_data"]))

    left = await inbox.pending()
    assert [update["message"]["from"]["id"] for update in left] == [BOB["id"]]


async def test_a_forgotten_users_updates_leave_the_journals_files(
    harness: Harness, tmp_path: Path
) -> None:
    """Their content, handled long ago or not yet: a deleted row's bytes stay in the WAL until
    it wraps (engine.store.erase_deleted)."""
    inbox = harness.state.inbox
    for i in range(30):
        update = Update.de_json(message(ANN, sticker=sticker(f"zqann{i}")), harness.app.bot)
        await inbox.keep(update, str(ANN["id"]))
        if i % 2:
            await inbox.done(update.update_id)
    assert journal_holds(tmp_path, b"zqann")

    await inbox.forget_user(str(ANN["id"]))

    assert not journal_holds(tmp_path, b"zqann")


def journal_holds(folder: Path, text: bytes) -> bool:
    """Whether any of the journal's files (the database, its WAL) holds `text`."""
    return any(text in path.read_bytes() for path in folder.glob(f"{INBOX_FILE}*"))
