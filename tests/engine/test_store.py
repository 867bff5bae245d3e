"""The stores on real databases: migrations, WAL, transactions, forgetting, crash safety.

Tests taking `state` hold both stores to one contract: SQLite files and a real PostgreSQL
server (tests/postgres.py)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine import store as store_module
from engine.errors import StoreTooNew
from engine.pg_store import PgStore
from engine.storage import StateStore
from engine.store import MIGRATIONS, SCHEMA_VERSION, Store
from engine.types import Event, Prefs, StickerRecord

REPO = Path(__file__).resolve().parents[2]
KILL_AFTER = 40  # committed events the killed writer reports before it is killed
KILL_TIMEOUT = 30.0


def _sql(path: Path, query: str) -> list[tuple[object, ...]]:
    """Read through a second, plain sqlite3 connection: what another process would see."""
    with sqlite3.connect(path) as db:
        return list(db.execute(query).fetchall())


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state.db")
    yield opened
    await opened.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def state(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StateStore]:
    """Each store the engine can run on, empty."""
    opened: StateStore
    if request.param == "sqlite":
        opened = await Store.open(tmp_path / "state.db")
    else:
        opened = await PgStore.open(request.getfixturevalue("pg_url"))
    yield opened
    await opened.close()


def _event(sticker: str, ts: float, **extra: str) -> Event:
    return Event("send", sticker, ts, **extra)  # type: ignore[arg-type]


async def test_new_file_is_migrated_to_the_current_schema(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    assert _sql(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    tables = {row[0] for row in _sql(path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"stickers", "events", "prefs", "profiles"} <= tables


async def test_wal_mode_is_on(store: Store, tmp_path: Path) -> None:
    # journal_mode=WAL is persistent: a fresh connection sees it too
    assert _sql(tmp_path / "state.db", "PRAGMA journal_mode") == [("wal",)]


async def test_reopening_does_not_migrate_again(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = await Store.open(path)
    await first.record("u", _event("s1", 1.0), None)
    await first.close()
    second = await Store.open(path)
    try:
        assert [s.event.sticker_id async for s in second.events()] == ["s1"]
    finally:
        await second.close()
    assert _sql(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


async def test_a_file_of_the_first_schema_is_migrated_and_keeps_its_events(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:
        db.executescript(f"{MIGRATIONS[0]} PRAGMA user_version=1;")
        db.execute(
            "INSERT INTO events (user_id, kind, sticker_id, ts) VALUES ('u', 'send', 's', 0)"
        )
    store = await Store.open(path)
    try:
        assert [(s.user_id, s.event.source) for s in await store.sticker_events(["s"])] == [
            ("u", None)
        ]
    finally:
        await store.close()
    assert _sql(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    indexes = {row[0] for row in _sql(path, "SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"events_by_sticker", "events_by_source"} <= indexes


async def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(StoreTooNew) as raised:
        await Store.open(path)
    message = str(raised.value)
    assert "\n" not in message
    assert str(path) in message
    assert f"{SCHEMA_VERSION + 1} > {SCHEMA_VERSION}" in message
    # the refused file is left as it was
    assert _sql(path, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    assert _sql(path, "SELECT name FROM sqlite_master") == []


async def test_record_stores_event_and_profile_together(store: Store, tmp_path: Path) -> None:
    event = Event("pick", "s1", 10.5, query="good night", context="bye")
    await store.record("u1", event, {"events": 1, "packs": {"p": 1.5}})
    path = tmp_path / "state.db"
    assert _sql(path, "SELECT user_id, kind, sticker_id, ts, query, context FROM events") == [
        ("u1", "pick", "s1", 10.5, "good night", "bye")
    ]
    assert await store.profile("u1") == {"events": 1, "packs": {"p": 1.5}}
    assert [s.event async for s in store.events("u1")] == [event]


async def test_failed_record_leaves_no_event_behind(store: Store, tmp_path: Path) -> None:
    """Event and profile are one transaction: when the profile cannot be written, the event
    must not be stored either, not even by the next, unrelated commit."""
    with pytest.raises(TypeError):
        await store.record("u1", _event("s1", 1.0), {"bad": object()})
    await store.record("u2", _event("s2", 2.0), {"events": 1})
    rows = _sql(tmp_path / "state.db", "SELECT user_id FROM events")
    assert rows == [("u2",)], "u1's event was committed without its profile"
    assert await store.rows_about("u1") == 0


async def test_events_come_in_time_order(state: StateStore) -> None:
    for sticker, ts in (("late", 30.0), ("early", 10.0), ("middle", 20.0)):
        await state.record("u", _event(sticker, ts), None)
    await state.record("other", _event("x", 15.0), None)
    assert [s.event.sticker_id async for s in state.events("u")] == ["early", "middle", "late"]
    assert [s.user_id async for s in state.events()] == ["u", "other", "u", "u"]


async def test_events_are_numbered_and_found_by_number_or_sticker(state: StateStore) -> None:
    numbers = [
        await state.record(user, _event(sticker, ts), None)
        for user, sticker, ts in (("u", "a", 3.0), ("v", "b", 1.0), ("v", "a", 2.0))
    ]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3  # growing with each append
    stored = [s async for s in state.events()]
    assert [s.event_id for s in stored] == [numbers[1], numbers[2], numbers[0]]  # by time
    by_number = await state.events_numbered([numbers[2], numbers[0], 10**9])
    assert [(s.user_id, s.event.sticker_id) for s in by_number] == [("u", "a"), ("v", "a")]
    of_a = await state.sticker_events(["a", "nothing"])
    assert [(s.event_id, s.user_id) for s in of_a] == [(numbers[0], "u"), (numbers[2], "v")]
    await state.forget_user("v")
    assert await state.events_numbered(numbers) == [s for s in stored if s.user_id == "u"]
    assert await state.sticker_events([]) == []


async def test_an_event_from_a_source_the_user_has_already_is_not_recorded(
    state: StateStore,
) -> None:
    first = await state.record("ann", _event("s1", 1.0, source="message:7:1"), {"events": 1})
    again = await state.record("ann", _event("s1", 2.0, source="message:7:1"), {"events": 2})
    assert first is not None and again is None
    assert await state.profile("ann") == {"events": 1}  # the duplicate's profile is not written
    # Another user's source of the same name, and events without a source, are all kept.
    assert await state.record("bob", _event("s1", 1.0, source="message:7:1"), None) is not None
    assert await state.record("ann", _event("s2", 3.0), None) is not None
    assert await state.record("ann", _event("s2", 3.0), None) is not None
    stored = [(s.user_id, s.event.ts, s.event.source) async for s in state.events()]
    assert stored == [
        ("ann", 1.0, "message:7:1"),
        ("bob", 1.0, "message:7:1"),
        ("ann", 3.0, None),
        ("ann", 3.0, None),
    ]
    await state.forget_user("ann")  # the source leaves with the user: it may come again
    assert await state.record("ann", _event("s1", 4.0, source="message:7:1"), None) is not None


async def _fill_user(store: StateStore, user: str, events: int) -> None:
    for i in range(events):
        await store.record(user, _event(f"s{i}", float(i)), {"events": i + 1})
    await store.put_prefs(user, Prefs(safe_mode=True))


async def test_forget_user_removes_every_row_about_them_only(state: StateStore) -> None:
    await _fill_user(state, "ann", 3)
    await _fill_user(state, "bob", 2)
    assert await state.rows_about("ann") == 3 + 1 + 1  # events, profile, prefs
    await state.forget_user("ann")
    assert await state.rows_about("ann") == 0
    assert await state.profile("ann") is None
    assert await state.prefs("ann") == Prefs()
    assert await state.rows_about("bob") == 2 + 1 + 1
    assert await state.profile("bob") == {"events": 2}
    assert (await state.counts())["users"] == 1


def _files_holding(folder: Path, text: str) -> list[str]:
    return sorted(f.name for f in folder.iterdir() if text.encode() in f.read_bytes())


async def test_a_forgotten_users_words_leave_the_files_while_the_store_is_open(
    store: Store, tmp_path: Path
) -> None:
    """Not only the rows: the bytes. A deleted row's old page stays in the WAL (and, where SQLite
    is built without secure_delete, in the database's free pages) until overwritten."""
    for i in range(40):
        typed = _event(f"s{i}", float(i), query=f"zanzibar-ann-typed-{i}")
        await store.record("ann", replace(typed, kind="pick"), {"events": i + 1})
    await store.record("bob", _event("s1", 1.0, query="kept-bob-typed"), {"events": 1})
    assert _files_holding(tmp_path, "zanzibar-ann-typed") != []  # what the check would miss

    await store.forget_user("ann")

    assert _files_holding(tmp_path, "zanzibar-ann-typed") == []
    assert await store.rows_about("bob") == 2  # the others' rows stay


async def test_reset_taste_keeps_prefs(state: StateStore) -> None:
    await _fill_user(state, "ann", 3)
    await state.reset_taste("ann")
    assert [s async for s in state.events("ann")] == []
    assert await state.profile("ann") is None
    assert await state.prefs("ann") == Prefs(safe_mode=True)
    assert await state.rows_about("ann") == 1


async def test_prefs_round_trip(store: Store, tmp_path: Path) -> None:
    assert await store.prefs("nobody") == Prefs()
    prefs = Prefs(learning_paused=True, safe_mode=True, language="it")
    await store.put_prefs("u", prefs)
    await store.put_prefs("u", prefs.model_copy(update={"language": "pt"}))
    await store.close()
    reopened = await Store.open(tmp_path / "state.db")
    try:
        assert await reopened.prefs("u") == Prefs(
            learning_paused=True, safe_mode=True, language="pt"
        )
        assert await reopened.rows_about("u") == 1
    finally:
        await reopened.close()
    # the fixture closes the store again: aiosqlite tolerates a second close
    await store.close()


async def test_stickers_round_trip_and_file_id_update(store: Store) -> None:
    records = [
        StickerRecord("a", "pack", emoji="😴", caption="sleepy", nsfw=0.75, path="/x/a.png"),
        StickerRecord("b", "pack", set_title="Pack", ocr="zzz", file_id="F1"),
    ]
    await store.upsert_stickers(records)
    await store.upsert_stickers([StickerRecord("a", "pack", caption="sleepier")])
    await store.update_file_id("b", "F2")
    stored = await store.stickers()
    assert [s.sticker_id for s in stored] == ["a", "b"]
    assert stored[0].caption == "sleepier"
    assert stored[0].nsfw == 0.0  # an upsert replaces every field
    assert stored[1].file_id == "F2"
    assert stored[1].set_title == "Pack"
    assert await store.has_set("pack")
    assert not await store.has_set("other")
    assert (await store.counts())["stickers"] == 2


async def test_stickers_read_for_growth_come_without_paths(state: StateStore) -> None:
    await state.upsert_stickers([StickerRecord("a", "pk", caption="sleepy", path="/x/a.png")])

    served = await state.stickers(with_paths=False)

    assert served == [StickerRecord("a", "pk", caption="sleepy")]
    assert (await state.stickers())[0].path == "/x/a.png"  # kept for a rebuild


async def test_stickers_named_by_id_come_in_insertion_order(
    state: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "IDS_PER_SELECT", 2)  # several selects, as at scale
    await state.upsert_stickers([StickerRecord(s, "pk", caption=s) for s in "dcbae"])

    named = await state.stickers(with_paths=False, ids=["a", "zz", "c", "d", "e"])

    assert [r.sticker_id for r in named] == ["d", "c", "a", "e"]  # as inserted; zz is unknown
    assert named[0] == StickerRecord("d", "pk", caption="d")
    assert await state.stickers(ids=[]) == []


async def test_sticker_rows_hold_what_serving_reads_in_insertion_order(
    state: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "ROWS_PER_READ", 2)  # several reads, as at scale
    await state.upsert_stickers(
        [
            StickerRecord("b", "pk", caption="x", file_id="F1", nsfw=0.7),
            StickerRecord("a", "pk", file_id=None),
            StickerRecord("c", "other", file_id="F3"),
        ]
    )
    await state.upsert_stickers([StickerRecord("b", "pk", file_id="F9", nsfw=0.7)])  # in place

    rows = await state.sticker_rows()

    assert rows.sticker_ids == ["b", "a", "c"]
    assert rows.set_names == ["pk", "pk", "other"]
    assert rows.set_names[0] is rows.set_names[1]  # one string per pack
    assert rows.file_ids == ["F9", None, "F3"]
    np.testing.assert_allclose(rows.nsfw, [0.7, 0.0, 0.0])
    assert [r.sticker_id for r in await state.stickers()] == ["b", "a", "c"]  # chunked too


async def test_stickers_of_a_pack_share_one_name_string(state: StateStore) -> None:
    await state.upsert_stickers([StickerRecord(f"s{i}", "pk", set_title="Pk") for i in range(3)])
    stored = await state.stickers()
    assert len({id(s.set_name) for s in stored}) == 1
    assert len({id(s.set_title) for s in stored}) == 1


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from engine.store import Store
    from engine.types import Event

    async def main(path):
        store = await Store.open(path)
        n = 0
        while True:
            n += 1
            await store.record("writer", Event("send", f"s{n}", float(n)), {"events": n})
            print(n, flush=True)

    asyncio.run(main(sys.argv[1]))
    """
)


def test_killed_writer_loses_no_committed_event(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    committed = 0
    deadline = time.monotonic() + KILL_TIMEOUT
    try:
        assert writer.stdout is not None
        while committed < KILL_AFTER and time.monotonic() < deadline:
            line = writer.stdout.readline()
            if not line:
                break
            committed = int(line)
    finally:
        os.kill(writer.pid, 9)
        writer.wait()
    assert committed >= KILL_AFTER, writer.stderr.read() if writer.stderr else ""
    assert writer.returncode == -9
    assert _sql(path, "PRAGMA integrity_check") == [("ok",)]
    count = _sql(path, "SELECT COUNT(*) FROM events")[0][0]
    assert isinstance(count, int)
    assert count >= committed
    # the profile was committed with each event, so it is never behind the events
    doc = _sql(path, "SELECT doc FROM profiles WHERE user_id='writer'")[0][0]
    assert f'"events":{count}' in str(doc)


async def test_the_sqlite_store_offers_every_method_the_engine_needs(store: Store) -> None:
    assert isinstance(store, StateStore)  # names; mypy checks the signatures (Engine.open)
