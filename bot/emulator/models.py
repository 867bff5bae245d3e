"""Users and chats, and the helpers that give every object its Bot API JSON shape."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


def now() -> int:
    """Bot API dates are unix seconds, not milliseconds."""
    return int(time.time())


def compact(fields: dict[str, Any]) -> dict[str, Any]:
    """Telegram omits absent optional fields instead of sending null."""
    return {key: value for key, value in fields.items() if value is not None}


@dataclass
class User:
    id: int
    first_name: str
    is_bot: bool = False
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        return compact(
            {
                "id": self.id,
                "is_bot": self.is_bot,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
                "language_code": self.language_code,
            }
        )


CHAT_TYPES = ("private", "group", "supergroup", "channel")


@dataclass
class Chat:
    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return compact(
            {
                "id": self.id,
                "type": self.type,
                "title": self.title,
                "username": self.username,
                "first_name": self.first_name,
            }
        )


def private_chat(user: User) -> Chat:
    """A private chat shares its id with the user, exactly like Telegram."""
    return Chat(id=user.id, type="private", username=user.username, first_name=user.first_name)
