"""End to end: the real Application against the Bot API emulator, with the fake engine.

Polling drives most tests; one test runs the bot as a webhook server with a secret token.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr

from bot import texts
from bot.app import build_application, webhook_options
from bot.codec import Button, encode_button
from bot.config import Settings
from bot.emulator import BotApiEmulator
from bot.inbox import INBOX_FILE
from engine.types import StickerRecord
from tests.bot.fakes import FakeEngine
from tests.bot.harness import App, eventually, free_port, make_settings, running

TOKEN = "123456:E2E-token"
KNOWN_PACK, KNOWN_COUNT = "known_pack", 60  # more than one inline page
FRESH_PACK, FRESH_COUNT = "fresh_pack", 3
ANN, BOB = 1001, 1002
SUPERGROUP = -1001000000001


def write_pack(folder: Path, count: int, blue: int) -> list[tuple[Path | str, str]]:
    """`count` tiny PNGs, distinct within and across packs (ids derive from content)."""
    folder.mkdir(parents=True)
    files: list[tuple[Path | str, str]] = []
    for i in range(count):
        path = folder / f"s{i:03d}.png"
        Image.new("RGB", (8, 8), (i * 4 % 256, 80, blue)).save(path, format="PNG")
        files.append((path, "🙂"))
    return files


@pytest.fixture
async def emu(tmp_path: Path) -> AsyncIterator[BotApiEmulator]:
    emulator = BotApiEmulator(token=TOKEN, group_privacy=False)
    emulator.add_sticker_set(KNOWN_PACK, "Known", write_pack(tmp_path / "k", KNOWN_COUNT, 0))
    emulator.add_sticker_set(FRESH_PACK, "Fresh", write_pack(tmp_path / "f", FRESH_COUNT, 255))
    await emulator.start(port=0)
    yield emulator
    await emulator.stop()


@pytest.fixture
def engine(emu: BotApiEmulator) -> FakeEngine:
    stickers = emu.sticker_set(KNOWN_PACK)["stickers"]
    return FakeEngine(
        [StickerRecord(s["file_unique_id"], KNOWN_PACK, file_id=s["file_id"]) for s in stickers]
    )


def settings_for(emu: BotApiEmulator, data: Path, **fields: Any) -> Settings:
    return make_settings(data, token=TOKEN, api_url=emu.base_url, **fields)


def application(settings: Settings, engine: FakeEngine) -> App:
    async def factory(_: Settings) -> FakeEngine:
        return engine

    return build_application(settings, factory)


@pytest.fixture
async def bot(emu: BotApiEmulator, engine: FakeEngine, tmp_path: Path) -> AsyncIterator[None]:
    async with running(application(settings_for(emu, tmp_path / "data"), engine)):
        yield


def read_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


def keyboard_data(message: dict[str, Any]) -> list[str]:
    rows = message["reply_markup"]["inline_keyboard"]
    return [button["callback_data"] for row in rows for button in row]


@pytest.mark.usefixtures("bot")
async def test_inline_pages_without_repeats_and_pick(
    emu: BotApiEmulator, engine: FakeEngine
) -> None:
    seen: list[str] = []
    offset, first_query = "", ""
    for _ in range(5):
        query_id = emu.inline_query("hello", user_id=ANN, offset=offset)
        first_query = first_query or query_id
        answer = await emu.wait_inline_answer(query_id)
        assert answer["is_personal"] is True and len(answer["results"]) <= 50
        seen += [result["id"] for result in answer["results"]]
        offset = answer["next_offset"]
        if not offset:
            break
    assert len(seen) == len(set(seen)) == KNOWN_COUNT

    emu.choose_inline_result(seen[3], user_id=ANN, query_id=first_query)
    await eventually(lambda: len(engine.events) == 1)
    user, event = engine.events[0]
    assert (user, event.kind, event.sticker_id, event.query) == (str(ANN), "pick", seen[3], "hello")


@pytest.mark.usefixtures("bot")
async def test_group_sticker_reply_is_a_send_with_context(
    emu: BotApiEmulator, engine: FakeEngine
) -> None:
    question = emu.send_text("who wants cake?", user_id=BOB, chat_type="supergroup")
    emu.send_sticker(
        set_name=KNOWN_PACK,
        index=5,
        user_id=ANN,
        chat_type="supergroup",
        reply_to=question["message_id"],
    )
    await eventually(lambda: len(engine.events) == 1)
    user, event = engine.events[0]
    assert (user, event.kind, event.context) == (str(ANN), "send", "who wants cake?")


@pytest.mark.usefixtures("bot")
async def test_prefs_buttons_belong_to_their_owner(emu: BotApiEmulator, engine: FakeEngine) -> None:
    emu.send_text("/prefs", user_id=ANN)
    [shown] = await emu.wait_bot_messages(ANN)
    safe = encode_button(Button(ANN, "safe"))
    assert safe in keyboard_data(shown)

    stolen = emu.press_button(safe, chat_id=ANN, message_id=shown["message_id"], user_id=BOB)
    alert = await emu.wait_callback_answer(stolen)
    assert alert["show_alert"] is True and alert["text"] == texts.NOT_YOUR_BUTTON
    assert engine.prefs == {}

    pressed = emu.press_button(safe, chat_id=ANN, message_id=shown["message_id"], user_id=ANN)
    await emu.wait_callback_answer(pressed)
    assert engine.prefs[str(ANN)].safe_mode is True
    [redrawn] = emu.messages(ANN)
    assert "Safe mode: on" in redrawn["text"]


@pytest.mark.usefixtures("bot")
async def test_forget_needs_confirmation(emu: BotApiEmulator, engine: FakeEngine) -> None:
    emu.send_text("/forget", user_id=ANN)
    [asked] = await emu.wait_bot_messages(ANN)
    confirm = encode_button(Button(ANN, "forget_yes"))
    assert engine.forgotten == []
    pressed = emu.press_button(confirm, chat_id=ANN, message_id=asked["message_id"], user_id=ANN)
    await emu.wait_callback_answer(pressed)
    assert engine.forgotten == [str(ANN)]


@pytest.mark.usefixtures("bot")
async def test_unknown_pack_is_ingested(
    emu: BotApiEmulator, engine: FakeEngine, tmp_path: Path
) -> None:
    emu.send_sticker(set_name=FRESH_PACK, index=1, user_id=ANN)
    await eventually(lambda: len(engine.events) == 1)
    fresh = emu.sticker_set(FRESH_PACK)["stickers"]
    assert sorted(r.sticker_id for r in engine.added) == sorted(s["file_unique_id"] for s in fresh)
    for record in engine.added:
        assert record.set_name == FRESH_PACK and record.set_title == "Fresh"
        assert record.path is not None
        assert read_bytes(record.path) == emu.file_bytes(record.file_id or "")
    assert engine.events[0][1].sticker_id == fresh[1]["file_unique_id"]


@pytest.mark.usefixtures("bot")
async def test_addset_replies_when_done(emu: BotApiEmulator, engine: FakeEngine) -> None:
    emu.send_text(f"/addset https://t.me/addstickers/{FRESH_PACK}", user_id=ANN)
    replies = await emu.wait_bot_messages(ANN, count=2)
    assert replies[-1]["text"] == texts.ADDSET_DONE.format(name=FRESH_PACK, count=FRESH_COUNT)


@pytest.mark.usefixtures("bot")
async def test_flood_wait_on_send_message_is_survived(emu: BotApiEmulator) -> None:
    emu.inject_error("sendMessage", 429, retry_after=1)
    emu.send_text("/help", user_id=ANN)
    [reply] = await emu.wait_bot_messages(ANN)
    assert reply["text"] == texts.HELP.format(username=emu.bot_user["username"])
    assert [c["error_code"] for c in emu.api_calls("sendMessage")] == [429, None]


@pytest.mark.usefixtures("bot")
async def test_an_answer_too_late_for_telegram_is_dropped_quietly(
    emu: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu.state.queries.windows["inline"] = 0.0  # every answer arrives after the window
    emu.inline_query("hello", user_id=ANN)
    await eventually(lambda: len(emu.api_calls("answerInlineQuery")) == 1)
    await eventually(lambda: "too late" in caplog.text)
    # One refused answer, no second try with an apology, nothing logged as an error.
    assert [c["error_code"] for c in emu.api_calls("answerInlineQuery")] == [400]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    emu.state.queries.windows["inline"] = 10.0  # the next query in time is answered
    answer = await emu.wait_inline_answer(emu.inline_query("hello", user_id=ANN))
    assert answer["results"]


async def test_webhook_mode_with_secret(
    emu: BotApiEmulator, engine: FakeEngine, tmp_path: Path
) -> None:
    port = free_port()
    settings = settings_for(
        emu,
        tmp_path / "data",
        bot={
            "mode": "webhook",
            "webhook_url": f"http://127.0.0.1:{port}/hook",
            "webhook_port": port,
        },
        webhook_secret=SecretStr("e2e-secret"),
    )
    options = webhook_options(settings)
    assert options["secret_token"] == "e2e-secret" and options["url_path"] == "hook"
    async with running(application(settings, engine), webhook=options):
        assert emu.webhook_info()["url"] == settings.bot.webhook_url
        query_id = emu.inline_query("", user_id=ANN, chat_type="group")
        answer = await emu.wait_inline_answer(query_id)
        emu.send_sticker(set_name=KNOWN_PACK, index=2, user_id=ANN)
        await eventually(lambda: len(engine.events) == 1)
    assert len(answer["results"]) == 50 and answer["next_offset"] == "50"
    assert engine.suggest_calls[-1]["safe"] is True
    # The send went through the journal (bot/inbox.py): its number kept, marked handled.
    with sqlite3.connect(tmp_path / "data" / INBOX_FILE) as inbox:
        rows = inbox.execute("SELECT user_id, body FROM updates").fetchall()
    assert rows == [(None, None)]
