"""End to end with the real engine: the Application, the Bot API emulator and SQLite files.

Sticker packs are real images drawn with Pillow in two styles (flat outlined art and soft
gradient art) over the same concepts. The text model loads once per module and a catalog is
built once into a template folder; each test copies it, so every test starts from clean files.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

import engine.engine as engine_module
from bot import texts
from bot.app import build_application, open_engine, webhook_options
from bot.codec import Button, encode_button
from bot.config import Settings
from bot.context_window import ContextWindow
from bot.emulator import BotApiEmulator
from bot.emulator.webhook import SECRET_HEADER
from bot.inbox import INBOX_FILE, Inbox
from bot.state import STATE_KEY, BotState, ClosableEngine, EngineFactory
from engine.encoders import UniversalSentenceEncoder
from engine.engine import Engine
from engine.types import Prefs, StickerRecord
from tests.bot.art import (
    CONCEPTS,
    PIZZA,
    PackFiles,
    draw_flat,
    draw_soft,
    filler_pack,
    styled_pack,
)
from tests.bot.harness import (
    OWNER_ID,
    WAIT_SECONDS,
    App,
    eventually,
    eventually_async,
    free_port,
    make_settings,
    running,
)

TOKEN = "123456:REAL-engine"
ANN, BOB, CAROL = 2001, 2002, 2003
SUPERGROUP = -1001000000042
FLAT, SOFT = "flat_art", "soft_art"  # the two styles, every concept in each
FLAT_MORE, SOFT_MORE = "flat_more", "soft_more"  # the same styles in packs nobody sends from
FILLER, FILLER_COUNT = "filler", 60  # makes the catalog longer than one inline page
LATE = "late_pack"  # served by the emulator, not in the prebuilt catalog
CATALOG = (FLAT, SOFT, FLAT_MORE, SOFT_MORE, FILLER)
CAT = 1  # concept index of the cat, drawn in the *_more packs with the pizza
MORE_CONCEPTS = (CAT, PIZZA)
TASTE_CONCEPTS = [i for i in range(len(CONCEPTS)) if i not in MORE_CONCEPTS]
INGEST_SECONDS = 30.0  # a cold text model plus decoding on a loaded 2-core machine

Packs = dict[str, PackFiles]


def title_of(name: str) -> str:
    return name.replace("_", " ").title()


# -- module fixtures: drawn art, the text model, a prebuilt catalog ------------------------------


@pytest.fixture(scope="module")
def art(tmp_path_factory: pytest.TempPathFactory) -> Packs:
    root = tmp_path_factory.mktemp("art")
    return {
        FLAT: styled_pack(root / FLAT, draw_flat),
        SOFT: styled_pack(root / SOFT, draw_soft),
        FLAT_MORE: styled_pack(root / FLAT_MORE, draw_flat, MORE_CONCEPTS, shift=3),
        SOFT_MORE: styled_pack(root / SOFT_MORE, draw_soft, MORE_CONCEPTS, shift=3),
        FILLER: filler_pack(root / FILLER, FILLER_COUNT, "⭐"),
        LATE: styled_pack(root / LATE, draw_flat, (0, 5), shift=5),
    }


@pytest.fixture(scope="module")
def encoder() -> UniversalSentenceEncoder:
    """One loaded text model for the module: loading it is the slow part of opening an engine."""
    model = UniversalSentenceEncoder()
    model.encode_text(["warm up"])
    return model


@pytest.fixture(scope="module")
def catalog(
    art: Packs, encoder: UniversalSentenceEncoder, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A data folder holding every CATALOG pack, as ingestion would have left it."""
    folder = tmp_path_factory.mktemp("catalog") / "data"
    records = [record for name in CATALOG for record in pack_records(name, art[name])]
    # A thread of its own: asyncio.run must not touch the event loops of the async tests.
    with ThreadPoolExecutor(max_workers=1) as pool:
        added = pool.submit(asyncio.run, _build(folder, records, encoder)).result()
    assert added == len(records)  # every drawing is distinct and decodable
    return folder


def pack_records(name: str, files: PackFiles) -> list[StickerRecord]:
    """Records with the ids the emulator gives these files (ids derive from content)."""
    served = BotApiEmulator(token=TOKEN).add_sticker_set(name, title_of(name), files)
    return [
        StickerRecord(
            sticker_id=sticker["file_unique_id"],
            set_name=name,
            set_title=title_of(name),
            emoji=sticker["emoji"],
            file_id=sticker["file_id"],
            path=str(path),
        )
        for (path, _), sticker in zip(files, served["stickers"], strict=True)
    ]


async def _build(
    folder: Path, records: list[StickerRecord], encoder: UniversalSentenceEncoder
) -> int:
    engine = await Engine.open(folder, text_encoder=encoder)
    try:
        return await engine.add_stickers(records)
    finally:
        await engine.close()


# -- per-test fixtures: an emulator, a clean data folder, a running bot --------------------------


@pytest.fixture
async def emu(art: Packs) -> AsyncIterator[BotApiEmulator]:
    emulator = BotApiEmulator(token=TOKEN, group_privacy=False)
    for name, files in art.items():
        emulator.add_sticker_set(name, title_of(name), files)
    await emulator.start(port=0)
    yield emulator
    await emulator.stop()


def settings_for(emu: BotApiEmulator, data: Path, **fields: Any) -> Settings:
    return make_settings(data, token=TOKEN, api_url=emu.base_url, **fields)


def shared_model(encoder: UniversalSentenceEncoder) -> EngineFactory:
    """Open the real engine on the configured folder, reusing the loaded text model."""

    async def open_engine(settings: Settings) -> ClosableEngine:
        settings.data.mkdir(parents=True, exist_ok=True)
        return await Engine.open(settings.data, settings.engine, text_encoder=encoder)

    return open_engine


@dataclass
class Live:
    """A running bot over the real engine, and what a test needs to look inside it."""

    app: App
    emu: BotApiEmulator

    @property
    def engine(self) -> Engine:
        engine = self.app.bot_data[STATE_KEY].engine
        assert isinstance(engine, Engine)
        return engine

    @property
    def window(self) -> ContextWindow:
        state = self.app.bot_data[STATE_KEY]
        assert isinstance(state, BotState)
        return state.window

    async def events(self, user_id: int) -> list[dict[str, Any]]:
        document = await self.engine.export_user(str(user_id))
        return list(document["events"])

    async def wait_events(
        self, user_id: int, count: int, within: float = WAIT_SECONDS
    ) -> list[dict[str, Any]]:
        """The user's stored events once there are at least `count`."""

        async def enough() -> bool:
            return len(await self.events(user_id)) >= count

        await eventually_async(enough, within)
        return await self.events(user_id)

    async def prefs(self, user_id: int) -> Prefs:
        return await self.engine.get_prefs(str(user_id))


@pytest.fixture
async def live(
    emu: BotApiEmulator, catalog: Path, encoder: UniversalSentenceEncoder, tmp_path: Path
) -> AsyncIterator[Live]:
    data = tmp_path / "data"
    shutil.copytree(catalog, data)
    app = build_application(settings_for(emu, data), shared_model(encoder))
    async with running(app):
        yield Live(app, emu)


# -- acting and reading through the emulator ----------------------------------------------------


def sticker(emu: BotApiEmulator, pack: str, index: int) -> dict[str, Any]:
    return dict(emu.sticker_set(pack)["stickers"][index])


def concept_id(emu: BotApiEmulator, pack: str, concept: int) -> str:
    """The sticker id of a concept in a pack (the *_more packs hold only some concepts)."""
    emoji = CONCEPTS[concept][1]
    [found] = [s for s in emu.sticker_set(pack)["stickers"] if s["emoji"] == emoji]
    return str(found["file_unique_id"])


def packs_of(emu: BotApiEmulator, answer: dict[str, Any]) -> list[str]:
    """The pack of each inline result, in the order shown (result ids are sticker ids)."""
    owner = {
        s["file_unique_id"]: name
        for name in (*CATALOG, LATE)
        for s in emu.sticker_set(name)["stickers"]
    }
    return [owner[result["id"]] for result in answer["results"]]


async def ask(
    emu: BotApiEmulator, text: str, user_id: int, offset: str = ""
) -> tuple[str, dict[str, Any]]:
    """Type `@bot text` and wait for the answer; returns (query id, answer)."""
    query_id = emu.inline_query(text, user_id=user_id, offset=offset)
    return query_id, await emu.wait_inline_answer(query_id)


def keyboard_data(message: dict[str, Any]) -> list[str]:
    rows = message["reply_markup"]["inline_keyboard"]
    return [button["callback_data"] for row in rows for button in row]


async def press(
    emu: BotApiEmulator, message: dict[str, Any], owner: int, action: str, user_id: int
) -> dict[str, Any]:
    """Press `owner`'s `action` button on `message` as `user_id`; returns the callback answer."""
    data = encode_button(Button(owner, action))
    assert data in keyboard_data(message)
    pressed = emu.press_button(
        data, chat_id=message["chat"]["id"], message_id=message["message_id"], user_id=user_id
    )
    return await emu.wait_callback_answer(pressed)


def teach_style(emu: BotApiEmulator, user_id: int, pack: str, partner: int) -> None:
    """`user_id` answers `partner`'s group messages with stickers of `pack`, one per concept."""
    for concept in TASTE_CONCEPTS:
        question = emu.send_text(
            f"how about {CONCEPTS[concept][0]}?",
            user_id=partner,
            chat_type="supergroup",
            chat_id=SUPERGROUP,
        )
        emu.send_sticker(
            set_name=pack,
            index=concept,
            user_id=user_id,
            chat_type="supergroup",
            chat_id=SUPERGROUP,
            reply_to=question["message_id"],
        )


# -- the tests -----------------------------------------------------------------------------------


async def test_empty_folder_learns_packs_then_suggests_them(
    emu: BotApiEmulator,
    encoder: UniversalSentenceEncoder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Only the model loading is shared (it costs seconds); the rest is what `serve` runs.
    monkeypatch.setattr(engine_module, "_text_encoder", lambda config: encoder)
    data = tmp_path / "fresh"  # does not exist yet: the first start creates it
    settings = settings_for(emu, data)
    app = build_application(settings)  # the engine factory `serve` uses
    async with running(app):
        live = Live(app, emu)
        emu.send_text("/stats", user_id=OWNER_ID)
        [counts] = await emu.wait_bot_messages(OWNER_ID)
        assert "stickers: 0" in counts["text"].splitlines()
        _, answer = await ask(emu, "pizza", BOB)
        assert answer["results"] == [] and answer["next_offset"] == ""

        emu.send_text(f"/addset {FLAT}", user_id=ANN)
        replies = await emu.wait_bot_messages(ANN, count=2, timeout=INGEST_SECONDS)
        assert replies[-1]["text"] == texts.ADDSET_DONE.format(name=FLAT, count=len(CONCEPTS))
        # A sticker of an unknown pack queues the pack; the send is recorded once it is in.
        emu.send_sticker(set_name=SOFT, index=CAT, user_id=ANN)
        [sent] = await live.wait_events(ANN, 1, within=INGEST_SECONDS)
        assert sent["sticker_id"] == concept_id(emu, SOFT, CAT)

        _, answer = await ask(emu, "pizza", BOB)
        pizzas = {concept_id(emu, FLAT, PIZZA), concept_id(emu, SOFT, PIZZA)}
        assert {result["id"] for result in answer["results"][:2]} == pizzas

        emu.send_text("/stats", user_id=OWNER_ID)
        counts = (await emu.wait_bot_messages(OWNER_ID, count=2))[-1]
        assert {"stickers: 16", "packs: 2", "events: 1"} <= set(counts["text"].splitlines())
    assert len(list((data / "stickers" / FLAT).iterdir())) == len(CONCEPTS)
    await _assert_persisted(data, encoder, pizzas)


async def _assert_persisted(
    data: Path, encoder: UniversalSentenceEncoder, pizzas: set[str]
) -> None:
    """After shutdown the folder reopens with both packs and the recorded send."""
    engine = await Engine.open(data, text_encoder=encoder)
    try:
        assert await engine.has_set(FLAT) and await engine.has_set(SOFT)
        assert await engine.rows_about(str(ANN)) == 2  # one event, one profile
        page = await engine.suggest(str(BOB), "pizza")
        assert {item.sticker_id for item in page.items[:2]} == pizzas
    finally:
        await engine.close()


async def test_each_user_gets_their_style_first(live: Live) -> None:
    emu = live.emu
    teach_style(emu, ANN, FLAT, partner=BOB)
    teach_style(emu, BOB, SOFT, partner=ANN)
    ann = await live.wait_events(ANN, len(TASTE_CONCEPTS))
    await live.wait_events(BOB, len(TASTE_CONCEPTS))
    assert ann[0]["kind"] == "send"
    assert ann[0]["context"] == f"how about {CONCEPTS[TASTE_CONCEPTS[0]][0]}?"

    _, for_ann = await ask(emu, "pizza", ANN)
    _, for_bob = await ask(emu, "pizza", BOB)
    assert packs_of(emu, for_ann)[0] == FLAT and packs_of(emu, for_bob)[0] == SOFT
    # Style carries over to packs neither user ever sent from.
    assert _before(packs_of(emu, for_ann), FLAT_MORE, SOFT_MORE)
    assert _before(packs_of(emu, for_bob), SOFT_MORE, FLAT_MORE)
    # Taste reorders; it does not hide what means "pizza".
    assert sorted(packs_of(emu, for_ann)) == sorted(packs_of(emu, for_bob))


def _before(order: list[str], first: str, second: str) -> bool:
    return order.index(first) < order.index(second)


async def test_empty_query_pages_cover_the_catalog_without_repeats(live: Live) -> None:
    seen: list[str] = []
    offsets: list[str] = []
    offset = ""
    for _ in range(5):  # bounded: an offset that never ends must fail, not hang
        _, answer = await ask(live.emu, "", CAROL, offset=offset)
        assert answer["is_personal"] is True and len(answer["results"]) <= 50
        seen += [result["id"] for result in answer["results"]]
        offset = answer["next_offset"]
        offsets.append(offset)
        if not offset:
            break
    catalog_size = (await live.engine.stats())["stickers"]
    assert catalog_size == FILLER_COUNT + 2 * len(CONCEPTS) + 2 * len(MORE_CONCEPTS)
    assert len(seen) == len(set(seen)) == catalog_size
    assert offsets == ["50", ""]


async def test_a_word_being_typed_finds_the_pack_it_starts(live: Live) -> None:
    _, typing = await ask(live.emu, "fille", CAROL)  # on its way to the title "Filler"
    assert set(packs_of(live.emu, typing)) == {FILLER}
    _, done = await ask(live.emu, "fille ", CAROL)  # a space after it: the word is finished
    assert FILLER not in packs_of(live.emu, done)[:10]


async def test_chosen_result_is_a_pick_others_benefit_from(live: Live) -> None:
    emu = live.emu
    soft_pizza = concept_id(emu, SOFT, PIZZA)
    _, before = await ask(emu, "pizza", CAROL)
    assert before["results"][0]["id"] != soft_pizza  # ties go to catalog order: flat first

    query_id, _ = await ask(emu, "pizza", ANN)
    emu.choose_inline_result(soft_pizza, user_id=ANN, query_id=query_id)
    [pick] = await live.wait_events(ANN, 1)
    assert (pick["kind"], pick["sticker_id"], pick["query"]) == ("pick", soft_pizza, "pizza")
    assert [e["query"] for e in await exported(emu, ANN)] == ["pizza"]  # what the user sees

    _, after = await ask(emu, "pizza", CAROL)
    assert after["results"][0]["id"] == soft_pizza  # the crowd's pick now leads


async def exported(emu: BotApiEmulator, user_id: int) -> list[dict[str, Any]]:
    """The events in the file the /prefs export button sends the user."""
    emu.send_text("/prefs", user_id=user_id)
    [screen] = await emu.wait_bot_messages(user_id)
    await press(emu, screen, user_id, "export", user_id)
    [*_, sent] = await emu.wait_bot_messages(user_id, count=2)
    document = json.loads(emu.file_bytes(sent["document"]["file_id"]))
    assert document["user_id"] == str(user_id)
    return list(document["events"])


async def test_empty_query_follows_the_conversation(live: Live) -> None:
    emu = live.emu
    hello = emu.send_text("hi all", user_id=ANN, chat_type="supergroup", chat_id=SUPERGROUP)
    emu.send_text(
        "shall we order pizza tonight?",
        user_id=BOB,
        chat_type="supergroup",
        chat_id=SUPERGROUP,
        reply_to=hello["message_id"],
    )
    # Nothing typed: the message Bob addressed to Ann stands in for her words.
    await eventually(lambda: bool(live.window.latest(ANN)))
    _, answer = await ask(emu, "", ANN)
    pizzas = {concept_id(emu, pack, PIZZA) for pack in (FLAT, SOFT, FLAT_MORE, SOFT_MORE)}
    assert {result["id"] for result in answer["results"][:4]} == pizzas


async def test_updates_handled_but_not_marked_before_a_kill_are_learnt_once(
    emu: BotApiEmulator,
    catalog: Path,
    encoder: UniversalSentenceEncoder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "data"
    shutil.copytree(catalog, data)
    settings = settings_for(emu, data)

    async def killed_before_the_mark(inbox: Inbox, update_id: int) -> None:
        """The engine has committed the event; the process dies before the journal hears."""

    with monkeypatch.context() as patch:
        patch.setattr(Inbox, "done", killed_before_the_mark)
        app = build_application(settings, shared_model(encoder))
        async with running(app):
            live = Live(app, emu)
            emu.send_sticker(set_name=FLAT, index=0, user_id=ANN)
            await pick_soft_pizza(emu, ANN)
            first = await live.wait_events(ANN, 2)
    assert len(pending_in_journal(data)) == 2

    # The next start handles both again, from the journal, before serving.
    app = build_application(settings, shared_model(encoder))
    async with running(app):
        live = Live(app, emu)
        assert pending_in_journal(data) == []
        assert await live.events(ANN) == first
        assert (await live.engine.taste(str(ANN))).events == 2


def pending_in_journal(data: Path) -> list[int]:
    """The update numbers the journal still holds to handle."""
    with sqlite3.connect(data / INBOX_FILE) as db:
        rows = db.execute("SELECT update_id FROM updates WHERE body IS NOT NULL").fetchall()
    return [number for (number,) in rows]


async def test_forget_leaves_no_row_of_the_user(live: Live) -> None:
    emu = live.emu
    emu.send_sticker(set_name=FLAT, index=0, user_id=ANN)
    emu.send_sticker(set_name=FILLER, index=0, user_id=BOB)
    await pick_soft_pizza(emu, ANN)
    emu.send_text("/prefs", user_id=ANN)
    [screen] = await emu.wait_bot_messages(ANN)
    await press(emu, screen, ANN, "safe", ANN)
    await live.wait_events(ANN, 2)
    assert await live.engine.rows_about(str(ANN)) == 4  # two events, a profile, prefs
    bob_rows = await live.engine.rows_about(str(BOB))
    assert bob_rows > 0

    await forget(emu, ANN)
    assert await live.engine.rows_about(str(ANN)) == 0
    assert await live.events(ANN) == [] and await live.prefs(ANN) == Prefs()
    assert emu.messages(ANN)[-1]["text"] == texts.FORGET_DONE
    assert await live.engine.rows_about(str(BOB)) == bob_rows


async def test_forgotten_picks_stop_steering_others(live: Live) -> None:
    emu = live.emu
    _, untouched = await ask(emu, "pizza", CAROL)
    soft_pizza = await pick_soft_pizza(emu, ANN)
    await live.wait_events(ANN, 1)
    _, steered = await ask(emu, "pizza", CAROL)
    assert steered["results"][0]["id"] == soft_pizza

    await forget(emu, ANN)
    assert await live.engine.rows_about(str(ANN)) == 0
    _, after = await ask(emu, "pizza", CAROL)
    # Nothing of hers may remain: others see what they saw before she picked.
    assert packs_of(emu, after) == packs_of(emu, untouched)


async def pick_soft_pizza(emu: BotApiEmulator, user_id: int) -> str:
    """The user types "pizza" inline and picks the soft pizza; returns its sticker id."""
    query_id, _ = await ask(emu, "pizza", user_id)
    soft_pizza = concept_id(emu, SOFT, PIZZA)
    emu.choose_inline_result(soft_pizza, user_id=user_id, query_id=query_id)
    return soft_pizza


async def forget(emu: BotApiEmulator, user_id: int) -> None:
    """/forget, then confirm; returns once the button press is answered."""
    before = len(emu.messages(user_id))
    emu.send_text("/forget", user_id=user_id)
    asked = (await emu.wait_bot_messages(user_id, count=before + 1))[-1]
    assert asked["text"] == texts.FORGET_CONFIRM
    await press(emu, asked, user_id, "forget_yes", user_id)


async def test_prefs_buttons_pause_learning_and_toggle_safe_mode(live: Live) -> None:
    emu = live.emu
    emu.send_text("/prefs", user_id=ANN)
    [screen] = await emu.wait_bot_messages(ANN)
    stolen = await press(emu, screen, ANN, "learn", BOB)
    assert stolen["show_alert"] is True and stolen["text"] == texts.NOT_YOUR_BUTTON
    assert await live.prefs(ANN) == Prefs() and await live.prefs(BOB) == Prefs()

    paused = await press(emu, screen, ANN, "learn", ANN)
    assert paused["text"] == texts.LEARNING_PAUSED and (await live.prefs(ANN)).learning_paused
    emu.send_sticker(set_name=FLAT, index=0, user_id=ANN)
    emu.send_sticker(set_name=LATE, index=0, user_id=ANN)  # an unknown pack, fetched anyway
    await eventually_async(lambda: live.engine.has_set(LATE), within=INGEST_SECONDS)

    [screen] = emu.messages(ANN)  # the same message, redrawn
    assert "Learning: paused" in screen["text"]
    await press(emu, screen, ANN, "learn", ANN)
    emu.send_sticker(set_name=FLAT, index=7, user_id=ANN)
    [event] = await live.wait_events(ANN, 1)  # updates run in order: the paused ones came first
    assert event["sticker_id"] == sticker(emu, FLAT, 7)["file_unique_id"]

    safe = await press(emu, screen, ANN, "safe", ANN)
    assert safe["text"] == texts.SAFE_ON and (await live.prefs(ANN)).safe_mode
    assert "Safe mode: on" in emu.messages(ANN)[0]["text"]
    await press(emu, emu.messages(ANN)[0], ANN, "safe", ANN)
    assert (await live.prefs(ANN)).safe_mode is False


async def test_flood_wait_on_inline_answer_is_waited_out(live: Live) -> None:
    emu = live.emu
    emu.inject_error("answerInlineQuery", 429, retry_after=1)
    _, answer = await ask(emu, "pizza", ANN)
    assert sorted(packs_of(emu, answer)) == sorted((FLAT, SOFT, FLAT_MORE, SOFT_MORE))
    assert [c["error_code"] for c in emu.api_calls("answerInlineQuery")] == [429, None]
    # A 429 on sendMessage is covered with the fake engine in test_bot_e2e: a second
    # one-second wait here would test the same rate limiter again.


async def test_webhook_mode_with_secret_token(
    emu: BotApiEmulator, catalog: Path, encoder: UniversalSentenceEncoder, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(catalog, data)
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    settings = settings_for(
        emu,
        data,
        bot={"mode": "webhook", "webhook_url": url, "webhook_port": port},
        webhook_secret=SecretStr("real-secret"),
    )
    app = build_application(settings, shared_model(encoder))
    async with running(app, webhook=webhook_options(settings)):
        live = Live(app, emu)
        assert emu.webhook_info()["url"] == url
        emu.send_sticker(set_name=SOFT, index=0, user_id=ANN)
        await live.wait_events(ANN, 1)
        _, answer = await ask(emu, "pizza", ANN)
        assert packs_of(emu, answer)[0] == SOFT
        assert await _post_status(url, {SECRET_HEADER: "wrong"}) == 403
        assert await _post_status(url, {}) == 403


async def _post_status(url: str, headers: dict[str, str]) -> int:
    """What the bot's webhook server answers to an update that lacks the right secret."""
    update = {"update_id": 999_999, "message": None}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=update, headers=headers) as response,
    ):
        return response.status


async def test_the_served_engine_has_loaded_its_text_model_before_the_first_update(
    tmp_path: Path,
) -> None:
    settings = Settings(token=SecretStr("123:TEST"), data=tmp_path / "data")
    engine = await open_engine(settings)  # what `serve` opens, with the bundled text model
    try:
        assert isinstance(engine, Engine)
        encoder = engine._encoders.text
        assert isinstance(encoder, UniversalSentenceEncoder)
        assert encoder.loaded  # by warm_up, not by a user's query
    finally:
        await engine.close()
