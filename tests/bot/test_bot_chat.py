"""Stickers and text in chats: sends with context, the context window, growing the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.types import Prefs
from tests.bot.harness import PNG, Harness, serve_pack
from tests.bot.updates import ANN, ANN_ID, BOB, BOB_ID, GROUP, message, sticker


def read_bytes(path: str | None) -> bytes:
    return Path(path or "").read_bytes()


async def test_group_sticker_reply_is_a_send_with_context(harness: Harness) -> None:
    question = message(BOB, GROUP, text="how was the exam?")["message"]
    await harness.feed(message(ANN, GROUP, sticker=sticker("u002"), reply_to_message=question))
    [(user, event)] = harness.engine.events
    assert (user, event.kind, event.sticker_id) == ("1", "send", "u002")
    assert event.context == "how was the exam?"
    assert event.file_id == "file-u002"


async def test_replies_feed_both_peoples_context(harness: Harness) -> None:
    question = message(BOB, GROUP, text="pizza tonight?")["message"]
    await harness.feed(message(ANN, GROUP, text="yes!", reply_to_message=question))
    window = harness.state.window
    assert window.latest(ANN_ID) == ["pizza tonight?", "yes!"]
    assert window.latest(BOB_ID) == ["yes!"]


async def test_sticker_from_unknown_pack_is_ingested_then_recorded(harness: Harness) -> None:
    serve_pack(harness.api, "fresh", 3)
    await harness.feed(message(ANN, sticker=sticker("n1", "fresh")))
    await harness.settle()
    added = harness.engine.added
    assert sorted(r.sticker_id for r in added) == ["n0", "n1", "n2"]
    assert {(r.set_name, r.set_title, r.emoji) for r in added} == {("fresh", "New pack", "😀")}
    assert all(r.path and r.path.endswith(".png") for r in added)
    assert read_bytes(added[0].path) == PNG
    [(user, event)] = harness.engine.events
    assert (user, event.sticker_id) == ("1", "n1")


async def test_same_pack_is_queued_once(harness: Harness) -> None:
    serve_pack(harness.api, "fresh", 2)
    await harness.feed(message(ANN, sticker=sticker("n0", "fresh")))
    await harness.feed(message(BOB, sticker=sticker("n1", "fresh")))
    await harness.settle()
    assert len(harness.api.called("getStickerSet")) == 1
    assert len(harness.engine.events) == 2


async def test_paused_user_still_grows_the_catalog(harness: Harness) -> None:
    harness.engine.prefs["1"] = Prefs(learning_paused=True)
    serve_pack(harness.api, "fresh", 2)
    await harness.feed(message(ANN, sticker=sticker("n0", "fresh")))
    await harness.settle()
    assert len(harness.engine.added) == 2
    assert harness.engine.events == []


async def test_one_unreadable_file_does_not_lose_the_pack(harness: Harness) -> None:
    serve_pack(harness.api, "fresh", 3)
    del harness.api.files["file-n2.png"]
    original = harness.api.responders["getFile"]

    def get_file(params: dict[str, Any]) -> tuple[int, Any]:
        if params["file_id"] == "file-n2":
            return 400, "Bad Request: file is too big"
        return original(params)

    harness.api.responders["getFile"] = get_file
    await harness.feed(message(ANN, sticker=sticker("n0", "fresh")))
    await harness.settle()
    assert sorted(r.sticker_id for r in harness.engine.added) == ["n0", "n1"]
    assert len(harness.engine.events) == 1
