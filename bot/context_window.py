"""A short, bounded memory of what was said around each user, for empty inline queries.

Telegram does not say which chat an inline query comes from, so the latest exchange the bot
saw around the user stands in for "the conversation they are in". Bounded on every axis:
messages per user, age, and users tracked (least recently active dropped first).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_MESSAGE_CHARS = 256  # as long as an inline query; longer context adds little
Clock = Callable[[], float]


class ContextWindow:
    """Per-user recent messages with a size cap, an expiry and an LRU bound on users."""

    def __init__(
        self,
        *,
        max_messages: int,
        ttl_seconds: float,
        max_users: int,
        clock: Clock = time.monotonic,
    ) -> None:
        self._max_messages = max_messages
        self._ttl = ttl_seconds
        self._max_users = max_users
        self._clock = clock
        self._users: OrderedDict[int, deque[tuple[float, str]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._users)

    def add(self, user_id: int, text: str) -> None:
        """Remember `text` as part of the conversation around `user_id`."""
        text = text.strip()[:MAX_MESSAGE_CHARS]
        if not text:
            return
        messages = self._users.pop(user_id, None) or deque(maxlen=self._max_messages)
        messages.append((self._clock(), text))
        self._users[user_id] = messages
        while len(self._users) > self._max_users:
            self._users.popitem(last=False)

    def latest(self, user_id: int) -> list[str]:
        """The unexpired messages around `user_id`, oldest first."""
        messages = self._users.get(user_id)
        if messages is None:
            return []
        cutoff = self._clock() - self._ttl
        while messages and messages[0][0] < cutoff:
            messages.popleft()
        if not messages:
            del self._users[user_id]
        return [text for _, text in messages]

    def forget(self, user_id: int) -> None:
        """Drop everything remembered around `user_id`."""
        self._users.pop(user_id, None)
