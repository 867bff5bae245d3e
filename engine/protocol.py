"""The engine's public face, as the bot, the CLI and the benchmark use it.

`engine.engine.Engine` implements it; tests of callers may pass any object with these methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from engine.types import Event, Page, Prefs, StickerRecord, Taste

MAX_QUERY_CHARS = 256  # Telegram's inline query limit
MAX_PAGE = 50  # answerInlineQuery takes at most 50 results


class SuggestionEngine(Protocol):
    async def suggest(
        self,
        user_id: str,
        text: str,
        *,
        context: Sequence[str] | None = None,
        limit: int = MAX_PAGE,
        offset: int = 0,
        safe: bool | None = None,
        language: str | None = None,
    ) -> Page:
        """Rank stickers for `text` (or, when empty, for `context` / the user's habits).

        `safe=None` follows the user's safe-mode preference; True/False forces it.
        `language` is the user's app language (Telegram's language code), a hint for which
        languages' emoji keywords to prefer while neither /prefs nor their picks tell.
        Raises BadQuery for text longer than MAX_QUERY_CHARS.
        """
        ...

    async def observe(self, user_id: str, event: Event) -> None:
        """Record a send or pick and update the user's profile. Raises UnknownSticker."""
        ...

    async def get_prefs(self, user_id: str) -> Prefs: ...

    async def set_prefs(self, user_id: str, prefs: Prefs) -> None: ...

    async def reset_taste(self, user_id: str) -> None:
        """Forget the learned profile (events and centroids) but keep preferences."""
        ...

    async def forget_user(self, user_id: str) -> None:
        """Delete every row about the user: events, profile, preferences, crowd text they typed."""
        ...

    async def export_user(self, user_id: str) -> dict[str, Any]:
        """Everything stored about the user, as a JSON-ready document."""
        ...

    async def taste(self, user_id: str) -> Taste: ...

    async def has_set(self, set_name: str) -> bool: ...

    async def add_stickers(self, records: Sequence[StickerRecord]) -> int:
        """Index new stickers live (decoding `record.path`); returns how many were added."""
        ...

    async def stats(self) -> dict[str, int]:
        """Counts for the owner: stickers, packs, users, events."""
        ...
