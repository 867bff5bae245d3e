"""A journal of the updates that teach the engine, so that a killed bot loses none of them.

python-telegram-bot confirms updates to Telegram before its handlers run: when it asks for the
next batch (polling), or when it answers the webhook request. So sends and picks are written
here as they are queued (`UpdateJournal.put`, which both modes await before they confirm), and
marked once handled, or, for a sticker whose pack is still being downloaded, once the engine has
recorded it (the ingestor settles it). A bot that starts handles first what the last one left
(`bot.app`).

A handled update keeps its number, without its content, so that one Telegram delivers again (it
was not confirmed before the kill) is not handled twice. A kill between the engine's commit and
the mark here hands that one event to the next start again, and the engine records it once:
each event names its source (the message or the update), which the store keeps unique per user.
The journal is the process's own SQLite file, also when users' data lives in PostgreSQL:
it holds what this replica has confirmed, for this replica.
"""

from __future__ import annotations

import asyncio
import json
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
from telegram import Update

from engine.store import erase_deleted

INBOX_FILE = "inbox.sqlite"
# body and user_id are NULL once the update is handled (or its user forgotten).
SCHEMA = """
CREATE TABLE IF NOT EXISTS updates (
    update_id INTEGER PRIMARY KEY,
    user_id TEXT,
    body TEXT
)
"""
# Handled updates whose numbers are kept, the newest: Telegram delivers again only what was
# not confirmed, the last batch or so.
HANDLED_KEPT = 10_000


def learner(update: Update) -> str | None:
    """The user an update teaches the engine about (a sticker they sent, or the inline result
    they chose); None for every other update, which is not journalled."""
    message = update.message
    if message is not None and message.sticker is not None and message.from_user is not None:
        return str(message.from_user.id)
    chosen = update.chosen_inline_result
    return str(chosen.from_user.id) if chosen is not None else None


class Inbox:
    """The journalled updates, oldest first, in a SQLite file of their own (WAL)."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, data_dir: Path) -> Inbox:
        await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
        db = await aiosqlite.connect(data_dir / INBOX_FILE)
        await db.execute("PRAGMA journal_mode=WAL")  # a killed process loses no commit
        await db.execute("PRAGMA secure_delete=ON")  # engine.store.erase_deleted
        await db.execute(SCHEMA)
        await db.execute(
            "DELETE FROM updates WHERE body IS NULL AND update_id < "
            "(SELECT MAX(update_id) FROM updates) - ?",
            (HANDLED_KEPT,),
        )
        await db.commit()
        return cls(db)

    async def close(self) -> None:
        await self._db.close()

    async def keep(self, update: Update, user_id: str) -> bool:
        """Journal `update`; False when its number is known already (journalled before, or
        handled): Telegram delivered it again."""
        body = json.dumps(update.to_dict(), ensure_ascii=False)
        cursor = await self._db.execute(
            "INSERT OR IGNORE INTO updates (update_id, user_id, body) VALUES (?, ?, ?)",
            (update.update_id, user_id, body),
        )
        await self._db.commit()
        return cursor.rowcount == 1

    async def done(self, update_id: int) -> None:
        await self._db.execute(
            "UPDATE updates SET user_id = NULL, body = NULL WHERE update_id = ?", (update_id,)
        )
        await self._db.commit()

    async def forget_user(self, user_id: str) -> None:
        """Drop the content of the user's updates not yet handled (they asked to be forgotten):
        they are not handled, now or at the next start."""
        await self._db.execute(
            "UPDATE updates SET user_id = NULL, body = NULL WHERE user_id = ?", (user_id,)
        )
        await self._db.commit()
        await erase_deleted(self._db)  # handled updates' contents too, dropped long before

    async def pending(self) -> list[dict[str, Any]]:
        """The journalled updates still to handle, as Bot API payloads, oldest first."""
        query = "SELECT body FROM updates WHERE body IS NOT NULL ORDER BY update_id"
        async with self._db.execute(query) as rows:
            return [json.loads(body) async for (body,) in rows]


class UpdateJournal(asyncio.Queue[object]):
    """The Application's update queue, journalling each update that teaches the engine before
    it is queued, once `inbox` is set (when the bot's resources are open). One Telegram
    delivers again, already journalled, is not queued a second time."""

    inbox: Inbox | None = None

    async def put(self, item: object) -> None:
        if self.inbox is not None and isinstance(item, Update):
            user_id = learner(item)
            if user_id is not None and not await self.inbox.keep(item, user_id):
                return
        await super().put(item)


@dataclass
class Receipt:
    """The journalled update being handled: `handed_over` when its event waits for a pack
    download, and the ingestor settles it instead of the handler."""

    update_id: int
    handed_over: bool = False


# The receipt of the update the current handler runs for (None: not journalled).
current_receipt: ContextVar[Receipt | None] = ContextVar("current_receipt", default=None)
