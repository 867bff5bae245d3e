"""Plain data that crosses the engine's boundary: events, suggestions, preferences, stickers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

EventKind = Literal["send", "pick"]


@dataclass(frozen=True, slots=True)
class Event:
    """Something a user did with a sticker: posted it in a chat, or chose it from inline results."""

    kind: EventKind
    sticker_id: str
    ts: float
    query: str | None = None  # the text typed before a pick
    context: str | None = None  # the message a send answered
    file_id: str | None = None  # newest Telegram file_id seen for the sticker
    # What the event was read from (a Telegram message or update), so that one delivered again
    # is recorded once: a user's events never share a source. None: no such promise.
    source: str | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as storage gives it back: with the user it belongs to."""

    user_id: str
    event: Event
    event_id: int  # the store's number for it: unique, growing with each append


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One ranked sticker with its score and a short human-readable reason."""

    sticker_id: str
    score: float
    reason: str
    file_id: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """A page of suggestions; `next_offset` is None on the last page."""

    items: list[Suggestion]
    next_offset: int | None


@dataclass(slots=True)
class StickerRecord:
    """A sticker as it enters the catalog (from a benchmark folder, an export, or Telegram)."""

    sticker_id: str  # Telegram's file_unique_id, or a dataset's id
    set_name: str
    emoji: str | None = None
    caption: str | None = None
    ocr: str | None = None
    set_title: str | None = None
    file_id: str | None = None
    path: str | None = None  # image file on disk, if any
    nsfw: float = 0.0


class Prefs(BaseModel):
    """A user's settings, readable and writable through the engine (as new values: the engine
    keeps the ones it hands out)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    learning_paused: bool = False
    safe_mode: bool = False
    language: str | None = None  # BCP-47 primary tag, e.g. "fr"


@dataclass(frozen=True, slots=True)
class Taste:
    """What the engine believes a user likes, for /prefs: top packs and style clusters."""

    top_packs: list[tuple[str, float]] = field(default_factory=list)
    # Each style cluster: its weight share and the sticker that best represents it.
    styles: list[tuple[float, str]] = field(default_factory=list)
    events: int = 0
    # The languages the user's picks were typed in (engine.languages), the most used first.
    languages: list[str] = field(default_factory=list)
