"""What the engine keeps, behind one interface.

`engine.store.Store` keeps it in one SQLite file. Webhook replicas on several machines will share
one PostgreSQL database through another implementation of this protocol; nothing above storage
changes. Every write is durable when its call returns, and deleting a user leaves no row that
names them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from engine.sticker_rows import StickerRows
from engine.types import Event, Prefs, StickerRecord, StoredEvent


@dataclass(frozen=True, slots=True)
class UserChange:
    """What another process changed about a user.

    `user_id` None: announcements may have been missed, so anyone may have changed."""

    user_id: str | None
    event_id: int | None = None  # the event it appended, if that is what it did
    events_deleted: bool = False  # it deleted the user's events (reset taste, forget)


UserChanged = Callable[[UserChange], None]


@runtime_checkable
class StateStore(Protocol):
    async def close(self) -> None: ...

    def on_user_changed(self, callback: UserChanged) -> None:
        """Call `callback` when another process changes a user's rows, so what this process
        caches or counts of them follows. A store only one process writes never calls it."""
        ...

    # -- catalog --------------------------------------------------------------------------------

    async def upsert_stickers(self, records: Sequence[StickerRecord]) -> None:
        """Insert or replace stickers by id, every field."""
        ...

    async def stickers(
        self, *, with_paths: bool = True, ids: Sequence[str] | None = None
    ) -> list[StickerRecord]:
        """Every sticker, or those of `ids` that are stored, in the order first inserted; with
        `with_paths` False, without the image paths (what live growth reads: only a build
        decodes files)."""
        ...

    async def sticker_rows(self) -> StickerRows:
        """What serving keeps of every sticker (its ids, pack and NSFW score), in the order
        first inserted; read a chunk of rows at a time, and no whole record is made."""
        ...

    async def update_file_id(self, sticker_id: str, file_id: str) -> None: ...

    # -- events and profiles --------------------------------------------------------------------

    async def record(
        self, user_id: str, event: Event, profile: dict[str, Any] | None
    ) -> int | None:
        """Append the event and, atomically with it, the user's updated profile (if given);
        returns the event's number, or None (and writes nothing) when the user has an event
        from the same `event.source` already."""
        ...

    def events(self, user_id: str | None = None) -> AsyncIterator[StoredEvent]:
        """Events in time order, of one user or of everyone."""
        ...

    async def events_numbered(self, event_ids: Collection[int]) -> list[StoredEvent]:
        """The events with these numbers that are still stored, in number order."""
        ...

    async def sticker_events(self, sticker_ids: Collection[str]) -> list[StoredEvent]:
        """Every stored event of these stickers, in number order."""
        ...

    async def profile(self, user_id: str) -> dict[str, Any] | None: ...

    # -- preferences and users ------------------------------------------------------------------

    async def prefs(self, user_id: str) -> Prefs:
        """The user's preferences (defaults for a user never seen)."""
        ...

    async def put_prefs(self, user_id: str, prefs: Prefs) -> None: ...

    async def reset_taste(self, user_id: str) -> None:
        """Delete the user's events and profile; keep their preferences."""
        ...

    async def forget_user(self, user_id: str) -> None:
        """Delete every row about the user."""
        ...

    async def rows_about(self, user_id: str) -> int:
        """How many stored rows name the user (0 after forget_user)."""
        ...

    async def counts(self) -> dict[str, int]:
        """stickers, packs, users and events."""
        ...
