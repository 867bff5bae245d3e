"""Chats and their message history, as both sides see it (edits applied, deletions gone)."""

from __future__ import annotations

import copy
from typing import Any

from .errors import bad_request
from .models import Chat, User, now


class ChatStore:
    """Message ids count per chat, as they do in private chats and groups."""

    def __init__(self) -> None:
        self._chats: dict[int, Chat] = {}
        self._messages: dict[int, dict[int, dict[str, Any]]] = {}
        self._last_id: dict[int, int] = {}

    def ensure(self, chat: Chat) -> Chat:
        known = self._chats.setdefault(chat.id, chat)
        self._messages.setdefault(chat.id, {})
        return known

    def chat(self, chat_id: int) -> Chat:
        """The chat the bot may talk to; Telegram's 400 when it never met it."""
        found = self._chats.get(chat_id)
        if found is None:
            raise bad_request("chat not found")
        return found

    def add(
        self, chat: Chat, sender: User, content: dict[str, Any], reply_to: int | None = None
    ) -> dict[str, Any]:
        """Append a message; `reply_to` must already exist in the chat."""
        message_id = self._last_id.get(chat.id, 0) + 1
        self._last_id[chat.id] = message_id
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": sender.to_json(),
            "chat": chat.to_json(),
            "date": now(),
            **content,
        }
        if reply_to is not None:
            message["reply_to_message"] = self._reply_copy(chat.id, reply_to)
        self._messages[chat.id][message_id] = message
        return copy.deepcopy(message)

    def _reply_copy(self, chat_id: int, message_id: int) -> dict[str, Any]:
        # Telegram nests the replied message one level deep, without its own reply.
        original = self.find(chat_id, message_id)
        if original is None:
            raise bad_request("message to be replied not found")
        original.pop("reply_to_message", None)
        return original

    def find(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A copy of the message, so callers cannot change history by accident."""
        found = self._messages.get(chat_id, {}).get(message_id)
        return copy.deepcopy(found) if found is not None else None

    def update(self, chat_id: int, message_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        message = self._messages[chat_id][message_id]
        for key, value in fields.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        return copy.deepcopy(message)

    def delete(self, chat_id: int, message_id: int) -> bool:
        return self._messages.get(chat_id, {}).pop(message_id, None) is not None

    def history(self, chat_id: int) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self._messages.get(chat_id, {}).values()))

    def clear(self) -> None:
        self._chats.clear()
        self._messages.clear()
        self._last_id.clear()
