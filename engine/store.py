"""Durable state in SQLite (aiosqlite, WAL): catalog, events, preferences and profiles.

Everything the engine persists goes through `Store`, so another backend (PostgreSQL for webhook
replicas) can implement the same methods. Events are the source of truth for crowd statistics
and crowd text; profiles are a cache of the user's taste, updated on every event.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from engine.errors import StoreTooNew
from engine.sticker_rows import StickerRows
from engine.storage import UserChanged
from engine.types import Event, Prefs, StickerRecord, StoredEvent

# Numbered migrations, applied in order on open; only ever append to this list.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE stickers (
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
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('send', 'pick')),
        sticker_id TEXT NOT NULL,
        ts REAL NOT NULL,
        query TEXT,
        context TEXT
    );
    CREATE INDEX events_by_user ON events(user_id, ts);
    CREATE TABLE prefs (user_id TEXT PRIMARY KEY, doc TEXT NOT NULL);
    CREATE TABLE profiles (user_id TEXT PRIMARY KEY, doc TEXT NOT NULL);
    """,
    # Deleting a user recounts the crowd figures of the stickers they used from what is left.
    "CREATE INDEX events_by_sticker ON events(sticker_id);",
    # An event delivered twice (a kill between its commit and the bot's note that it was
    # handled) is recorded once: its source is unique per user.
    """
    ALTER TABLE events ADD COLUMN source TEXT;
    CREATE UNIQUE INDEX events_by_source ON events(user_id, source) WHERE source IS NOT NULL;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
STICKER_COLUMNS = (
    "sticker_id",
    "set_name",
    "set_title",
    "emoji",
    "caption",
    "ocr",
    "file_id",
    "path",
    "nsfw",
)
SERVED_COLUMNS = "sticker_id, set_name, file_id, nsfw, emoji"  # StickerRows.extend's order
IDS_PER_SELECT = 500  # sticker ids named in one SELECT (SQLite caps a statement's parameters)
ROWS_PER_READ = 10_000  # rows fetched at a time when reading a whole table (their tuples are
# temporary: fetched all at once, 543,098 of them would scatter the memory the kept rows use)
SHARED_COLUMNS = ("set_name", "set_title", "emoji")  # values many stickers repeat
EVENT_COLUMNS = "user_id, kind, sticker_id, ts, query, context, source"  # event_row's order
STORED_EVENT_COLUMNS = f"{EVENT_COLUMNS}, id"  # stored_event's order
IDS_PER_STATEMENT = 500  # values bound in one IN (...): far below SQLite's limit
USER_TABLES = ("events", "profiles", "prefs")  # every table with rows about a user
# counts(): plain SQL that PostgreSQL answers alike (engine.pg_store).
COUNT_QUERIES = {
    "stickers": "SELECT COUNT(*) FROM stickers",
    "packs": "SELECT COUNT(DISTINCT set_name) FROM stickers",
    "users": "SELECT COUNT(DISTINCT user_id) FROM events",
    "events": "SELECT COUNT(*) FROM events",
}


class Store:
    """The engine's state (engine.storage.StateStore) in one SQLite file; open with
    `await Store.open(path)`, close with `await store.close()`."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        db = await aiosqlite.connect(str(path))
        try:
            # WAL: readers never block the writer, and a killed process loses no committed row.
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await db.execute("PRAGMA secure_delete=ON")  # see erase_deleted
            await _migrate(db, str(path))
        except BaseException:
            await db.close()
            raise
        return cls(db)

    async def close(self) -> None:
        await self._db.close()

    def on_user_changed(self, callback: UserChanged) -> None:
        """Never called: users' rows in this file are written by this process only (the
        offline commands write only the catalog)."""

    # -- catalog --------------------------------------------------------------------------------

    async def upsert_stickers(self, records: Sequence[StickerRecord]) -> None:
        placeholders = ", ".join("?" for _ in STICKER_COLUMNS)
        updates = ", ".join(f"{c}=excluded.{c}" for c in STICKER_COLUMNS[1:])
        await self._db.executemany(
            f"INSERT INTO stickers ({', '.join(STICKER_COLUMNS)}) VALUES ({placeholders}) "
            f"ON CONFLICT(sticker_id) DO UPDATE SET {updates}",
            [tuple(getattr(r, c) for c in STICKER_COLUMNS) for r in records],
        )
        await self._db.commit()

    async def stickers(
        self, *, with_paths: bool = True, ids: Sequence[str] | None = None
    ) -> list[StickerRecord]:
        columns = sticker_columns(with_paths)
        if ids is None:
            async with self._db.execute(f"SELECT {columns} FROM stickers ORDER BY rowid") as cursor:
                return [sticker_record(row) async for chunk in chunks(cursor) for row in chunk]
        found: list[tuple[int, StickerRecord]] = []
        for start in range(0, len(ids), IDS_PER_SELECT):
            batch = ids[start : start + IDS_PER_SELECT]
            marks = ", ".join("?" for _ in batch)
            query = f"SELECT rowid, {columns} FROM stickers WHERE sticker_id IN ({marks})"
            async with self._db.execute(query, tuple(batch)) as cursor:
                found += [(row[0], sticker_record(row[1:])) async for row in cursor]
        return [record for _, record in sorted(found, key=lambda pair: pair[0])]

    async def sticker_rows(self) -> StickerRows:
        rows = StickerRows()
        async with self._db.execute(
            f"SELECT {SERVED_COLUMNS} FROM stickers ORDER BY rowid"
        ) as cursor:
            async for chunk in chunks(cursor):
                rows.extend(chunk)
        return rows

    async def update_file_id(self, sticker_id: str, file_id: str) -> None:
        await self._db.execute(
            "UPDATE stickers SET file_id=? WHERE sticker_id=?", (file_id, sticker_id)
        )
        await self._db.commit()

    async def has_set(self, set_name: str) -> bool:
        async with self._db.execute(
            "SELECT 1 FROM stickers WHERE set_name=? LIMIT 1", (set_name,)
        ) as cursor:
            return await cursor.fetchone() is not None

    # -- events and profiles --------------------------------------------------------------------

    async def record(
        self, user_id: str, event: Event, profile: dict[str, Any] | None
    ) -> int | None:
        """Append the event and, in the same transaction, the user's updated profile; None (and
        nothing written) when the user has an event from the same source already."""
        try:
            cursor = await self._db.execute(
                f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                event_row(user_id, event),
            )
            if cursor.rowcount == 0:
                await self._db.rollback()  # end the transaction the INSERT opened
                return None
            event_id = cursor.lastrowid
            if profile is not None:
                await self._put_profile(user_id, profile)
        except BaseException:
            await self._db.rollback()  # neither row, or a later commit would keep half of it
            raise
        await self._db.commit()
        assert event_id is not None  # an INSERT always numbers its row
        return event_id

    async def events(self, user_id: str | None = None) -> AsyncIterator[StoredEvent]:
        """Events in time order, of one user or of everyone."""
        sql = f"SELECT {STORED_EVENT_COLUMNS} FROM events"
        args: tuple[str, ...] = ()
        if user_id is not None:
            sql += " WHERE user_id=?"
            args = (user_id,)
        async with self._db.execute(sql + " ORDER BY ts, id", args) as cursor:
            async for row in cursor:
                yield stored_event(row)

    async def events_numbered(self, event_ids: Collection[int]) -> list[StoredEvent]:
        return await self._events_where("id", sorted(event_ids))

    async def sticker_events(self, sticker_ids: Collection[str]) -> list[StoredEvent]:
        return await self._events_where("sticker_id", sorted(sticker_ids))

    async def _events_where(self, column: str, values: Sequence[object]) -> list[StoredEvent]:
        """Events whose `column` is one of `values`, in number order."""
        found: list[StoredEvent] = []
        for start in range(0, len(values), IDS_PER_STATEMENT):
            batch = values[start : start + IDS_PER_STATEMENT]
            marks = ", ".join("?" for _ in batch)
            async with self._db.execute(
                f"SELECT {STORED_EVENT_COLUMNS} FROM events WHERE {column} IN ({marks})",
                tuple(batch),
            ) as cursor:
                found.extend([stored_event(row) async for row in cursor])
        return sorted(found, key=lambda stored: stored.event_id)

    async def profile(self, user_id: str) -> dict[str, Any] | None:
        async with self._db.execute(
            "SELECT doc FROM profiles WHERE user_id=?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else json.loads(row[0])

    async def put_profile(self, user_id: str, profile: dict[str, Any]) -> None:
        await self._put_profile(user_id, profile)
        await self._db.commit()

    async def _put_profile(self, user_id: str, profile: dict[str, Any]) -> None:
        await self._db.execute(
            "INSERT INTO profiles (user_id, doc) VALUES (?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET doc=excluded.doc",
            (user_id, profile_doc(profile)),
        )

    async def profiles(self) -> dict[str, dict[str, Any]]:
        async with self._db.execute("SELECT user_id, doc FROM profiles") as cursor:
            return {row[0]: json.loads(row[1]) async for row in cursor}

    # -- preferences and users ------------------------------------------------------------------

    async def prefs(self, user_id: str) -> Prefs:
        async with self._db.execute("SELECT doc FROM prefs WHERE user_id=?", (user_id,)) as cur:
            row = await cur.fetchone()
        return Prefs() if row is None else Prefs.model_validate_json(row[0])

    async def put_prefs(self, user_id: str, prefs: Prefs) -> None:
        await self._db.execute(
            "INSERT INTO prefs (user_id, doc) VALUES (?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET doc=excluded.doc",
            (user_id, prefs.model_dump_json()),
        )
        await self._db.commit()

    async def reset_taste(self, user_id: str) -> None:
        await self._delete(user_id, ("events", "profiles"))

    async def forget_user(self, user_id: str) -> None:
        await self._delete(user_id, USER_TABLES)

    async def _delete(self, user_id: str, tables: Iterable[str]) -> None:
        for table in tables:
            await self._db.execute(f"DELETE FROM {table} WHERE user_id=?", (user_id,))
        await self._db.commit()
        await erase_deleted(self._db)

    async def rows_about(self, user_id: str) -> int:
        """How many rows in any table name this user (0 after forget_user)."""
        total = 0
        for table in USER_TABLES:
            async with self._db.execute(
                f"SELECT COUNT(*) FROM {table} WHERE user_id=?", (user_id,)
            ) as cursor:
                row = await cursor.fetchone()
                total += int(row[0]) if row else 0
        return total

    async def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, sql in COUNT_QUERIES.items():
            async with self._db.execute(sql) as cursor:
                row = await cursor.fetchone()
                out[name] = int(row[0]) if row else 0
        return out


async def erase_deleted(db: aiosqlite.Connection) -> None:
    """Take what was just deleted off the disk too, not only out of the tables: a user who asks
    to be forgotten is, to the last byte. With secure_delete (set on open, as some SQLite builds
    do not by default), freed space in the database file is zeroed; the WAL's older frames
    still hold the rows as they were until the log wraps, so it is checkpointed and emptied."""
    await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def _migrate(db: aiosqlite.Connection, path: str) -> None:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise StoreTooNew(
            f"{path} was written by a newer Stickerbot (schema {version} > {SCHEMA_VERSION}); "
            "upgrade Stickerbot or point STICKERBOT_DATA at another folder"
        )
    for number in range(version, SCHEMA_VERSION):
        await db.executescript(
            f"BEGIN; {MIGRATIONS[number]} PRAGMA user_version={number + 1}; COMMIT;"
        )


def event_row(user_id: str, event: Event) -> tuple[Any, ...]:
    """The values of an events row, in EVENT_COLUMNS order."""
    return (
        user_id,
        event.kind,
        event.sticker_id,
        event.ts,
        event.query,
        event.context,
        event.source,
    )


def stored_event(row: Sequence[Any]) -> StoredEvent:
    """An events row (STORED_EVENT_COLUMNS) as the event it records."""
    event = Event(row[1], row[2], row[3], row[4], row[5], source=row[6])
    return StoredEvent(row[0], event, int(row[7]))


def profile_doc(profile: dict[str, Any]) -> str:
    """A profile as stored: compact JSON."""
    return json.dumps(profile, separators=(",", ":"))


async def chunks(cursor: Any) -> AsyncIterator[Sequence[Any]]:
    """The rest of a query's result (an aiosqlite or psycopg cursor), ROWS_PER_READ rows at a
    time."""
    while chunk := await cursor.fetchmany(ROWS_PER_READ):
        yield chunk


def sticker_columns(with_paths: bool) -> str:
    """The stickers columns to select, in sticker_record's order; without paths, NULL in their
    place. Only a build reads files; live growth reads the texts alone (at 543,098 stickers,
    paths as long as the bot's own took 70 MB)."""
    return ", ".join(c if with_paths or c != "path" else "NULL AS path" for c in STICKER_COLUMNS)


def sticker_record(row: Sequence[Any]) -> StickerRecord:
    """A stickers row as a record. Every sticker of a pack repeats its name and title, and
    thousands share an emoji: interned, each is one string object, not one per sticker."""
    fields = dict(zip(STICKER_COLUMNS, row, strict=True))
    for column in SHARED_COLUMNS:
        if isinstance(fields[column], str):
            fields[column] = sys.intern(fields[column])
    return StickerRecord(**fields)
