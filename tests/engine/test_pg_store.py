"""The PostgreSQL store on a real server: what only a shared database has to get right.

The contract both stores share is in test_store.py (its `state` fixture); here: replicas
migrating at once, a newer schema, an unreachable server, rows seen by other connections, and
two engines sharing users through one database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import pytest

import engine.pg_store as pg_store_module
from engine.encoders import TextEncoder
from engine.engine import Engine
from engine.errors import StoreTooNew, StoreUnavailable
from engine.pg_store import MIGRATIONS, SCHEMA_VERSION, USER_CHANNEL, PgStore
from engine.storage import UserChange
from engine.types import Event, Prefs, StickerRecord

PngMaker = Callable[[str, int, int], Path]  # the `png` fixture of conftest.py
NIGHT = "good night"
HEARD_WITHIN = 10.0  # seconds a replica may take to hear of another's write


def _rows(url: str, query: str) -> list[tuple[object, ...]]:
    """Read through a connection of its own: what another replica would see."""
    with psycopg.connect(url) as conn:
        return list(conn.execute(query).fetchall())


async def test_replicas_starting_together_migrate_once(pg_url: str) -> None:
    stores = await asyncio.gather(*(PgStore.open(pg_url) for _ in range(3)))
    try:
        applied = _rows(pg_url, "SELECT version FROM stickerbot_schema ORDER BY version")
        assert applied == [(number,) for number in range(1, SCHEMA_VERSION + 1)]  # each once
    finally:
        await asyncio.gather(*(store.close() for store in stores))


async def test_a_database_of_the_first_schema_is_migrated_and_keeps_its_events(
    pg_url: str,
) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute(MIGRATIONS[0])
        conn.execute("CREATE TABLE stickerbot_schema (version INTEGER)")
        conn.execute("INSERT INTO stickerbot_schema VALUES (1)")
        conn.execute(
            "INSERT INTO events (user_id, kind, sticker_id, ts) VALUES ('u', 'send', 's', 0)"
        )
    store = await PgStore.open(pg_url)
    try:
        kept = [(s.user_id, s.event.source) for s in await store.sticker_events(["s"])]
        assert kept == [("u", None)]
        sent = Event("send", "s", 1.0, source="message:1:2")
        assert await store.record("u", sent, None) is not None
        assert await store.record("u", sent, None) is None
    finally:
        await store.close()
    applied = _rows(pg_url, "SELECT version FROM stickerbot_schema ORDER BY version")
    assert applied == [(number,) for number in range(1, SCHEMA_VERSION + 1)]


async def test_a_database_from_a_newer_version_is_refused(pg_url: str) -> None:
    await (await PgStore.open(pg_url)).close()
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO stickerbot_schema VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreTooNew, match="newer Stickerbot") as refused:
        await PgStore.open(pg_url)
    assert "\n" not in str(refused.value)


async def test_an_unreachable_server_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://bot:hunter2@/stickers?host={tmp_path}&port=1&connect_timeout=1"
    with pytest.raises(StoreUnavailable, match="STICKERBOT_DATABASE_URL") as refused:
        await PgStore.open(url)
    assert "\n" not in str(refused.value)
    assert "hunter2" not in str(refused.value)


async def test_an_event_and_its_profile_are_committed_together(pg_url: str) -> None:
    store = await PgStore.open(pg_url)
    try:
        with pytest.raises(TypeError):
            await store.record("u1", Event("send", "s1", 1.0), {"bad": object()})
        await store.record("u2", Event("pick", "s2", 2.5, query="hi", context="yo"), {"n": 1})
        assert _rows(
            pg_url, "SELECT user_id, kind, sticker_id, ts, query, context FROM events"
        ) == [("u2", "pick", "s2", 2.5, "hi", "yo")]
        assert _rows(pg_url, "SELECT user_id FROM profiles") == [("u2",)]
    finally:
        await store.close()


async def test_stickers_keep_their_first_order_across_upserts(pg_url: str) -> None:
    store = await PgStore.open(pg_url)
    try:
        await store.upsert_stickers([StickerRecord("b", "p"), StickerRecord("a", "p", nsfw=0.5)])
        await store.upsert_stickers(
            [StickerRecord("b", "p", caption="new"), StickerRecord("c", "q")]
        )
        await store.update_file_id("a", "F9")
        stored = await store.stickers()
        assert [(s.sticker_id, s.caption, s.file_id) for s in stored] == [
            ("b", "new", None),
            ("a", None, "F9"),
            ("c", None, None),
        ]
        assert stored[1].nsfw == 0.5
        assert await store.counts() == {"stickers": 3, "packs": 2, "users": 0, "events": 0}
    finally:
        await store.close()


def _records(png: PngMaker) -> list[StickerRecord]:
    concepts = [("sleep", 0, "a sleepy cat with closed eyes"), ("party", 4, "confetti party")]
    return [
        StickerRecord(
            f"{style}_{name}", f"{style}_pack", caption=caption, path=str(png(style, shape, 0))
        )
        for style in ("flat", "soft")
        for name, shape, caption in concepts
    ]


async def test_two_replicas_share_users_through_one_database(
    pg_url: str, png: PngMaker, memo_encoder: TextEncoder, tmp_path: Path
) -> None:
    """What one replica learns, another opened on the same database knows; forgetting a user
    on one leaves no row for either."""
    data = tmp_path / "data"  # the index: built once, then served by every replica
    first = await Engine.open(data, text_encoder=memo_encoder, database_url=pg_url)
    try:
        await first.build(_records(png))
        await first.observe("ann", Event("pick", "flat_party", 5.0, query=NIGHT))
        await first.observe("ann", Event("send", "soft_sleep", 6.0))
        await first.set_prefs("ann", Prefs(safe_mode=True, language="it"))
        taste = await first.taste("ann")
        second = await Engine.open(data, text_encoder=memo_encoder, database_url=pg_url)
        try:
            assert await second.taste("ann") == taste
            assert await second.get_prefs("ann") == Prefs(safe_mode=True, language="it")
            best = (await second.suggest("bob", NIGHT)).items[0]
            assert best.sticker_id == "flat_party"  # ann's pick, made on the first replica
            await second.forget_user("ann")
            assert await first.rows_about("ann") == 0
        finally:
            await second.close()
        assert not (await first.stats()).get("events")
    finally:
        await first.close()


async def _eventually(check: Callable[[], Awaitable[bool]]) -> None:
    deadline = asyncio.get_running_loop().time() + HEARD_WITHIN
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "the change was never heard of"
        await asyncio.sleep(0.05)


@asynccontextmanager
async def _two_replicas(
    pg_url: str, png: PngMaker, memo_encoder: TextEncoder, tmp_path: Path
) -> AsyncIterator[tuple[Engine, Engine]]:
    """Two engines on one database, both running; the first built the index."""
    data = tmp_path / "data"
    first = await Engine.open(data, text_encoder=memo_encoder, database_url=pg_url)
    try:
        await first.build(_records(png))
        second = await Engine.open(data, text_encoder=memo_encoder, database_url=pg_url)
        try:
            yield first, second
        finally:
            await second.close()
    finally:
        await first.close()


async def test_a_replica_hears_of_another_replicas_writes_about_a_user(
    pg_url: str, png: PngMaker, memo_encoder: TextEncoder, tmp_path: Path
) -> None:
    """Each replica caches recent users; a write on one makes the others read that user again,
    so preferences and taste changed elsewhere are not served stale."""
    async with _two_replicas(pg_url, png, memo_encoder, tmp_path) as (first, second):
        assert await second.get_prefs("ann") == Prefs()  # now cached by the second
        assert (await second.taste("ann")).events == 0
        await first.set_prefs("ann", Prefs(safe_mode=True))
        await first.observe("ann", Event("send", "soft_sleep", 6.0))

        async def heard() -> bool:
            prefs, taste = await second.get_prefs("ann"), await second.taste("ann")
            return prefs.safe_mode and taste.events == 1

        await _eventually(heard)
        await first.forget_user("ann")

        async def forgotten() -> bool:
            prefs, taste = await second.get_prefs("ann"), await second.taste("ann")
            return prefs == Prefs() and taste.events == 0

        await _eventually(forgotten)


async def _best(engine: Engine, user: str, text: str) -> str:
    return (await engine.suggest(user, text)).items[0].sticker_id


async def test_a_replica_counts_the_crowd_of_another_and_forgets_who_leaves(
    pg_url: str, png: PngMaker, memo_encoder: TextEncoder, tmp_path: Path
) -> None:
    """A pick made on one replica steers the words for everyone on the others, while both
    run; once the picker is forgotten on one, no replica's crowd figures count them."""
    async with _two_replicas(pg_url, png, memo_encoder, tmp_path) as (first, second):
        before = await _best(second, "bob", NIGHT)
        assert before != "flat_party"
        await first.observe("ann", Event("pick", "flat_party", 5.0, query=NIGHT))

        async def counted() -> bool:
            return await _best(second, "bob", NIGHT) == "flat_party"

        await _eventually(counted)
        await first.forget_user("ann")

        async def forgotten() -> bool:
            return await _best(second, "bob", NIGHT) == before

        await _eventually(forgotten)
        assert second._crowd.used_by("ann") == []  # not one count of theirs is left


async def test_a_replica_that_may_have_missed_announcements_counts_everything_again(
    pg_url: str,
    png: PngMaker,
    memo_encoder: TextEncoder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pg_store_module, "RELISTEN_SECONDS", (0.05, 0.2))
    data = tmp_path / "data"
    replica = await Engine.open(data, text_encoder=memo_encoder, database_url=pg_url)
    try:
        await replica.build(_records(png))
        before = await _best(replica, "bob", NIGHT)
        with psycopg.connect(pg_url) as conn:  # written with no announcement
            conn.execute(
                "INSERT INTO events (user_id, kind, sticker_id, ts, query) "
                "VALUES ('ann', 'pick', 'soft_party', 5, %s)",
                (NIGHT,),
            )
        assert await _best(replica, "bob", NIGHT) == before  # nobody said a word
        _rows(
            pg_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = current_database() AND query = 'LISTEN {USER_CHANNEL}'",
        )

        async def recounted() -> bool:
            return await _best(replica, "bob", NIGHT) == "soft_party"

        await _eventually(recounted)
    finally:
        await replica.close()


async def test_a_dropped_listening_connection_listens_again_and_says_so(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the server drops the listening connection (a restart, a failover, an idle
    timeout), the replica connects again, reports that it may have missed announcements, and
    hears the next ones: which user, and the event appended or that their events are gone."""
    monkeypatch.setattr(pg_store_module, "RELISTEN_SECONDS", (0.05, 0.2))
    writer, reader = await PgStore.open(pg_url), await PgStore.open(pg_url)
    heard: list[UserChange] = []
    try:
        reader.on_user_changed(heard.append)
        await _until(lambda: heard == [UserChange(None)])  # listening
        dropped = _rows(
            pg_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = current_database() AND query = 'LISTEN {USER_CHANNEL}'",
        )
        assert dropped == [(True,)]  # the reader's listening connection, and only it
        missed = [UserChange(None), UserChange(None)]  # listening again: anything may be stale
        await _until(lambda: heard == missed)
        await writer.put_prefs("ann", Prefs(safe_mode=True))
        await _until(lambda: heard == [*missed, UserChange("ann")])
        number = await writer.record("ann", Event("send", "s1", 1.0), None)
        await writer.forget_user("ann")
        told = [UserChange("ann", event_id=number), UserChange("ann", events_deleted=True)]
        await _until(lambda: heard == [*missed, UserChange("ann"), *told])
    finally:
        await asyncio.gather(writer.close(), reader.close())


async def _until(check: Callable[[], bool]) -> None:
    async def checked() -> bool:
        return check()

    await _eventually(checked)
