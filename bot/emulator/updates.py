"""The pending-update queue behind getUpdates and webhook delivery."""

from __future__ import annotations

import copy
from typing import Any

from .changes import ChangeSignal

# Telegram leaves these out unless a bot asks for them by name in allowed_updates.
OPT_IN_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
MAX_LIMIT = 100  # getUpdates returns at most 100 updates per call


class UpdateQueue:
    """Updates wait here, in update_id order, until a getUpdates offset or a webhook confirms."""

    def __init__(self, changed: ChangeSignal | None = None) -> None:
        self._pending: list[dict[str, Any]] = []
        self._last_id = 0
        self._allowed: frozenset[str] | None = None  # None: Telegram's default set
        self._poller = 0
        self.changed = changed or ChangeSignal()

    def begin_poll(self) -> int:
        """Claim long polling; an older getUpdates still waiting loses it (409 on Telegram)."""
        self._poller += 1
        self.changed.notify()
        return self._poller

    def is_poller(self, ticket: int) -> bool:
        return ticket == self._poller

    def set_allowed(self, allowed: list[str] | None) -> None:
        """Telegram keeps the last list a bot sent; an empty list restores the default."""
        if allowed is not None:
            self._allowed = frozenset(allowed) or None

    def accepts(self, kind: str) -> bool:
        if self._allowed is None:
            return kind not in OPT_IN_TYPES
        return kind in self._allowed

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Queue one update; None when the bot's allowed_updates filter drops it."""
        if not self.accepts(kind):
            return None
        self._last_id += 1
        update = {"update_id": self._last_id, kind: copy.deepcopy(payload)}
        self._pending.append(update)
        self.changed.notify()
        return copy.deepcopy(update)

    def confirm(self, offset: int) -> None:
        """Forget updates below `offset`; a negative offset keeps only the last -offset."""
        if offset < 0:
            self._pending = self._pending[offset:]
        else:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]

    def peek(self, limit: int = MAX_LIMIT) -> list[dict[str, Any]]:
        return copy.deepcopy(self._pending[: max(1, min(limit, MAX_LIMIT))])

    def __len__(self) -> int:
        return len(self._pending)

    def clear(self) -> None:
        self._pending.clear()
        self.changed.notify()

    def reset(self) -> None:
        self.clear()
        self._allowed = None
