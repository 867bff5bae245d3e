"""Durable state in PostgreSQL, for webhook replicas on several machines sharing one database.

The same state as `engine.store.Store` (engine.storage.StateStore), table for table: catalog,
events, preferences and profiles. Connections come from a small pool, so concurrent requests
of one replica do not queue behind each other. Replicas starting together migrate once: the
schema is changed under a transaction-wide advisory lock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator, Collection, Sequence
from typing import TYPE_CHECKING, Any

from engine.errors import StoreTooNew, StoreUnavailable
from engine.sticker_rows import StickerRows
from engine.stopping import reraise_if_cancelling
from engine.storage import UserChange, UserChanged
from engine.store import (
    COUNT_QUERIES,
    EVENT_COLUMNS,
    SERVED_COLUMNS,
    STICKER_COLUMNS,
    STORED_EVENT_COLUMNS,
    USER_TABLES,
    chunks,
    event_row,
    profile_doc,
    sticker_columns,
    sticker_record,
    stored_event,
)
from engine.types import Event, Prefs, StickerRecord, StoredEvent

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

# Numbered migrations, applied in order on open; only ever append to this list.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE stickers (
        seq BIGSERIAL UNIQUE,
        sticker_id TEXT PRIMARY KEY,
        set_name TEXT NOT NULL,
        set_title TEXT,
        emoji TEXT,
        caption TEXT,
        ocr TEXT,
        file_id TEXT,
        path TEXT,
        nsfw REAL NOT NULL DEFAULT 0
    );
    CREATE INDEX stickers_by_set ON stickers(set_name);
    CREATE TABLE events (
        id BIGSERIAL PRIMARY KEY,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('send', 'pick')),
        sticker_id TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL,
        query TEXT,
        context TEXT
    );
    CREATE INDEX events_by_user ON events(user_id, ts);
    CREATE TABLE prefs (user_id TEXT PRIMARY KEY, doc TEXT NOT NULL);
    CREATE TABLE profiles (user_id TEXT PRIMARY KEY, doc TEXT NOT NULL);
    """,
    # Deleting a user recounts the crowd figures of the stickers they used from what is left.
    "CREATE INDEX events_by_sticker ON events(sticker_id);",
    # An event delivered twice is recorded once (engine.store): its source is unique per user.
    """
    ALTER TABLE events ADD COLUMN source TEXT;
    CREATE UNIQUE INDEX events_by_source ON events(user_id, source) WHERE source IS NOT NULL;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
MIGRATION_LOCK = 0x5715_CE12  # advisory lock key: one replica migrates, the others wait
POOL_SIZE = 4  # connections per replica: queries run in parallel, writes are short
CONNECT_TIMEOUT = 10  # seconds to reach the server before start-up fails
# Every write about a user is announced on this channel (NOTIFY, delivered on commit), so other
# replicas drop what they cache of that user and count what the crowd did. Payload:
# "<writer's origin> <what> <user id>", what being the appended event's number, DELETED or PREFS.
USER_CHANNEL = "stickerbot_user_changed"
DELETED, PREFS = "deleted", "prefs"
RELISTEN_SECONDS = (1.0, 30.0)  # first and longest wait before listening again after a drop

log = logging.getLogger(__name__)


class PgStore:
    """The engine's state (engine.storage.StateStore) in a PostgreSQL database; open with
    `await PgStore.open(url)`, close with `await store.close()`."""

    def __init__(self, pool: AsyncConnectionPool, url: str) -> None:
        self._pool = pool
        self._url = url
        self._origin = secrets.token_hex(8)  # this store's own announcements are not news
        self._listener: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str) -> PgStore:
        """Connect to `url` (postgresql://user:password@host:port/database) and migrate."""
        try:
            from psycopg import AsyncConnection
            from psycopg_pool import AsyncConnectionPool
        except ImportError:
            raise StoreUnavailable(
                "PostgreSQL support is not installed; pip install 'stickerbot[postgres]'"
            ) from None
        # One plain connection first: it fails at once with the server's reason, where a pool
        # would retry quietly until its timeout. It then runs the migrations.
        try:
            first = await AsyncConnection.connect(url, connect_timeout=CONNECT_TIMEOUT)
        except Exception as error:
            raise StoreUnavailable(
                f"cannot reach PostgreSQL at {_where(url)} ({_first_line(error)}); "
                "check STICKERBOT_DATABASE_URL and that the server is running"
            ) from None
        async with first:
            await _migrate(first, _where(url))
        pool = AsyncConnectionPool(url, min_size=1, max_size=POOL_SIZE, open=False)
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except Exception as error:
            await pool.close()
            raise StoreUnavailable(
                f"PostgreSQL at {_where(url)} stopped answering ({_first_line(error)}); "
                "check the server and start again"
            ) from None
        return cls(pool, url)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        await self._pool.close()

    def on_user_changed(self, callback: UserChanged) -> None:
        """Call `callback(user_id)` whenever another store changes rows about that user, and
        `callback(None)` when announcements may have been missed (the listening connection
        dropped): then anything may have changed."""
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(callback))

    async def _listen(self, callback: UserChanged) -> None:
        from psycopg import AsyncConnection

        wait, longest = RELISTEN_SECONDS
        while True:
            try:
                async with await AsyncConnection.connect(self._url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {USER_CHANNEL}")
                    callback(UserChange(None))  # whatever changed while nobody listened
                    wait = RELISTEN_SECONDS[0]
                    async for note in conn.notifies():
                        origin, what, user_id = note.payload.split(" ", 2)
                        if origin != self._origin:
                            callback(_change(what, user_id))
            except Exception as error:  # the server went away: listen again when it is back
                reraise_if_cancelling(error)
                log.warning("not hearing other replicas (%s); retrying in %g s", error, wait)
            await asyncio.sleep(wait)
            wait = min(wait * 2, longest)

    async def _announce(self, conn: AsyncConnection, what: str, user_id: str) -> None:
        """Tell other replicas, when this transaction commits, what changed about the user."""
        payload = f"{self._origin} {what} {user_id}"
        await conn.execute("SELECT pg_notify(%s, %s)", (USER_CHANNEL, payload))

    # -- catalog --------------------------------------------------------------------------------

    async def upsert_stickers(self, records: Sequence[StickerRecord]) -> None:
        placeholders = ", ".join("%s" for _ in STICKER_COLUMNS)
        updates = ", ".join(f"{c}=excluded.{c}" for c in STICKER_COLUMNS[1:])
        async with self._pool.connection() as conn, conn.cursor() as cursor:
            await cursor.executemany(
                f"INSERT INTO stickers ({', '.join(STICKER_COLUMNS)}) VALUES ({placeholders}) "
                f"ON CONFLICT (sticker_id) DO UPDATE SET {updates}",
                [tuple(getattr(r, c) for c in STICKER_COLUMNS) for r in records],
            )

    async def stickers(
        self, *, with_paths: bool = True, ids: Sequence[str] | None = None
    ) -> list[StickerRecord]:
        columns = sticker_columns(with_paths)
        async with self._pool.connection() as conn:
            if ids is None:
                cursor = await conn.execute(f"SELECT {columns} FROM stickers ORDER BY seq")
            else:
                cursor = await conn.execute(
                    f"SELECT {columns} FROM stickers WHERE sticker_id = ANY(%s) ORDER BY seq",
                    (list(ids),),
                )
            return [sticker_record(row) async for chunk in chunks(cursor) for row in chunk]

    async def sticker_rows(self) -> StickerRows:
        rows = StickerRows()
        async with self._pool.connection() as conn, conn.cursor() as cursor:
            await cursor.execute(f"SELECT {SERVED_COLUMNS} FROM stickers ORDER BY seq")
            async for chunk in chunks(cursor):
                rows.extend(chunk)
        return rows

    async def update_file_id(self, sticker_id: str, file_id: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE stickers SET file_id=%s WHERE sticker_id=%s", (file_id, sticker_id)
            )

    # -- events and profiles --------------------------------------------------------------------

    async def record(
        self, user_id: str, event: Event, profile: dict[str, Any] | None
    ) -> int | None:
        """Append the event and, in the same transaction, the user's updated profile; None (and
        nothing written) when the user has an event from the same source already."""
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING RETURNING id",
                event_row(user_id, event),
            )
            row = await cursor.fetchone()
            if row is None:  # a replica, or this one before a kill, recorded it
                return None
            event_id = int(row[0])
            if profile is not None:
                await _put_doc(conn, "profiles", user_id, profile_doc(profile))
            await self._announce(conn, str(event_id), user_id)
        return event_id

    async def events(self, user_id: str | None = None) -> AsyncIterator[StoredEvent]:
        """Events in time order, of one user or of everyone, streamed from the server."""
        sql = f"SELECT {STORED_EVENT_COLUMNS} FROM events"
        args: tuple[str, ...] = ()
        if user_id is not None:
            sql += " WHERE user_id=%s"
            args = (user_id,)
        async with self._pool.connection() as conn, conn.cursor() as cursor:
            async for row in cursor.stream(sql + " ORDER BY ts, id", args):
                yield stored_event(row)

    async def events_numbered(self, event_ids: Collection[int]) -> list[StoredEvent]:
        return await self._events_where("id", list(event_ids))

    async def sticker_events(self, sticker_ids: Collection[str]) -> list[StoredEvent]:
        return await self._events_where("sticker_id", list(sticker_ids))

    async def _events_where(self, column: str, values: list[Any]) -> list[StoredEvent]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {STORED_EVENT_COLUMNS} FROM events WHERE {column} = ANY(%s) ORDER BY id",
                (values,),
            )
            return [stored_event(row) for row in await cursor.fetchall()]

    async def profile(self, user_id: str) -> dict[str, Any] | None:
        doc = await self._doc("profiles", user_id)
        return None if doc is None else json.loads(doc)

    # -- preferences and users ------------------------------------------------------------------

    async def prefs(self, user_id: str) -> Prefs:
        doc = await self._doc("prefs", user_id)
        return Prefs() if doc is None else Prefs.model_validate_json(doc)

    async def put_prefs(self, user_id: str, prefs: Prefs) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await _put_doc(conn, "prefs", user_id, prefs.model_dump_json())
            await self._announce(conn, PREFS, user_id)

    async def reset_taste(self, user_id: str) -> None:
        await self._delete(user_id, ("events", "profiles"))

    async def forget_user(self, user_id: str) -> None:
        await self._delete(user_id, USER_TABLES)

    async def _delete(self, user_id: str, tables: Sequence[str]) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            for table in tables:
                await conn.execute(f"DELETE FROM {table} WHERE user_id=%s", (user_id,))
            await self._announce(conn, DELETED, user_id)

    async def rows_about(self, user_id: str) -> int:
        """How many rows in any table name this user (0 after forget_user)."""
        counts = " + ".join(f"(SELECT COUNT(*) FROM {t} WHERE user_id=%(u)s)" for t in USER_TABLES)
        return await self._count(f"SELECT {counts}", {"u": user_id})

    async def counts(self) -> dict[str, int]:
        return {name: await self._count(sql) for name, sql in COUNT_QUERIES.items()}

    async def _count(self, sql: str, args: dict[str, str] | None = None) -> int:
        async with self._pool.connection() as conn:
            row = await (await conn.execute(sql, args)).fetchone()
        return int(row[0]) if row else 0

    async def _doc(self, table: str, user_id: str) -> str | None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(f"SELECT doc FROM {table} WHERE user_id=%s", (user_id,))
            row = await cursor.fetchone()
        return None if row is None else str(row[0])


def _change(what: str, user_id: str) -> UserChange:
    """An announcement's payload (after the origin) as the change it tells of."""
    if what.isdigit():
        return UserChange(user_id, event_id=int(what))
    return UserChange(user_id, events_deleted=what == DELETED)


async def _put_doc(conn: AsyncConnection, table: str, user_id: str, doc: str) -> None:
    await conn.execute(
        f"INSERT INTO {table} (user_id, doc) VALUES (%s, %s) "
        "ON CONFLICT (user_id) DO UPDATE SET doc=excluded.doc",
        (user_id, doc),
    )


async def _migrate(conn: AsyncConnection, where: str) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute("CREATE TABLE IF NOT EXISTS stickerbot_schema (version INTEGER)")
        row = await (await conn.execute("SELECT max(version) FROM stickerbot_schema")).fetchone()
        version = int(row[0]) if row and row[0] is not None else 0
        if version > SCHEMA_VERSION:
            raise StoreTooNew(
                f"the database at {where} was written by a newer Stickerbot (schema {version} > "
                f"{SCHEMA_VERSION}); upgrade Stickerbot or point STICKERBOT_DATABASE_URL elsewhere"
            )
        for number in range(version, SCHEMA_VERSION):
            await conn.execute(MIGRATIONS[number])
            await conn.execute("INSERT INTO stickerbot_schema VALUES (%s)", (number + 1,))


def _where(url: str) -> str:
    """The server and database of `url`, without the password, for messages."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except Exception:
        return "the configured URL"
    host = info.get("host") or "localhost"
    return f"{host}:{info.get('port') or 5432}/{info.get('dbname') or ''}"


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
