"""Acting as Telegram users: messages, stickers, inline queries, chosen results, button presses.

Every action records what the user did and queues the update Telegram would send the bot.
Mistakes in the test script (unknown set, missing button...) raise EmulatorError.
"""

from __future__ import annotations

import secrets
import zlib
from typing import Any

from .entities import text_entities
from .errors import EmulatorError
from .models import CHAT_TYPES, Chat, User, private_chat
from .privacy import reaches_bot
from .state import EmulatorState

DEFAULT_USER_ID = 1001
DEFAULT_LANGUAGE = "en"
# Group ids are negative; supergroups and channels carry the -100 prefix.
DEFAULT_CHAT_IDS = {"group": -4000000001, "supergroup": -1001000000001, "channel": -1002000000001}
DEFAULT_CHAT_TITLE = "Test group"
INLINE_CHAT_TYPES = ("sender", *CHAT_TYPES)
INLINE_MESSAGE_ID_BYTES = 18  # about the length of real inline_message_ids


class UserActions:
    state: EmulatorState

    def add_user(
        self,
        user_id: int = DEFAULT_USER_ID,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = DEFAULT_LANGUAGE,
        last_name: str | None = None,
    ) -> dict[str, Any]:
        """Register or update a user; actions with unknown user ids register them on the fly."""
        user = self._user(user_id, first_name, username)
        user.language_code, user.last_name = language_code, last_name or user.last_name
        return user.to_json()

    def send_text(
        self,
        text: str,
        *,
        user_id: int = DEFAULT_USER_ID,
        first_name: str | None = None,
        username: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """A user writes `text` in a chat; returns the Message as the bot will see it."""
        if not text:
            raise EmulatorError("text must be non-empty")
        content: dict[str, Any] = {"text": text}
        entities = text_entities(text)
        if entities:
            content["entities"] = entities
        user = self._user(user_id, first_name, username)
        return self._post(user, self._chat(user, chat_id, chat_type, chat_title), content, reply_to)

    def send_sticker(
        self,
        *,
        set_name: str | None = None,
        index: int = 0,
        file_id: str | None = None,
        user_id: int = DEFAULT_USER_ID,
        first_name: str | None = None,
        username: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """A user sends a sticker picked by set name and index, or by file_id."""
        sticker = self._pick_sticker(set_name, index, file_id)
        user = self._user(user_id, first_name, username)
        chat = self._chat(user, chat_id, chat_type, chat_title)
        return self._post(user, chat, {"sticker": sticker}, reply_to)

    def inline_query(
        self,
        query: str = "",
        *,
        user_id: int = DEFAULT_USER_ID,
        first_name: str | None = None,
        username: str | None = None,
        offset: str = "",
        chat_type: str | None = "private",
    ) -> str:
        """A user types `@bot query`; returns the inline_query_id to wait on."""
        if chat_type is not None and chat_type not in INLINE_CHAT_TYPES:
            raise EmulatorError(f"chat_type must be one of {INLINE_CHAT_TYPES}")
        user = self._user(user_id, first_name, username)
        payload = {"from": user.to_json(), "query": query, "offset": offset}
        if chat_type is not None:
            payload["chat_type"] = chat_type
        pending = self.state.queries.open("inline", payload)
        self.state.updates.push("inline_query", {"id": pending.id, **payload})
        return pending.id

    def choose_inline_result(
        self,
        result_id: str,
        *,
        query: str = "",
        user_id: int = DEFAULT_USER_ID,
        query_id: str | None = None,
    ) -> dict[str, Any]:
        """A user taps a result. With `query_id` the result must be in the bot's answer."""
        user = self._user(user_id, None, None)
        payload: dict[str, Any] = {"result_id": result_id, "from": user.to_json(), "query": query}
        if query_id is not None:
            payload["query"], result = self._answered_result(query_id, result_id)
            if result.get("reply_markup"):
                # Telegram gives an inline_message_id only when the message has a keyboard.
                payload["inline_message_id"] = self._inline_message(result)
        return self.state.updates.push("chosen_inline_result", payload) or {}

    def press_button(
        self,
        callback_data: str,
        *,
        chat_id: int | None = None,
        message_id: int | None = None,
        inline_message_id: str | None = None,
        user_id: int = DEFAULT_USER_ID,
    ) -> str:
        """A user presses an inline-keyboard button; returns the callback_query_id."""
        user = self._user(user_id, None, None)
        payload: dict[str, Any] = {"from": user.to_json(), "data": callback_data}
        if inline_message_id is not None:
            markup = self.state.inline_messages.get(inline_message_id, {}).get("reply_markup")
            payload |= {"inline_message_id": inline_message_id, "chat_instance": inline_message_id}
        elif chat_id is not None and message_id is not None:
            message = self.state.chats.find(chat_id, message_id)
            if message is None:
                raise EmulatorError(f"no message {message_id} in chat {chat_id}")
            markup = message.get("reply_markup")
            payload |= {"message": message, "chat_instance": _chat_instance(chat_id)}
        else:
            raise EmulatorError("press_button needs chat_id and message_id, or inline_message_id")
        _require_button(markup, callback_data)
        pending = self.state.queries.open("callback", payload)
        self.state.updates.push("callback_query", {"id": pending.id, **payload})
        return pending.id

    def _user(self, user_id: int, first_name: str | None, username: str | None) -> User:
        user = self.state.users.get(user_id)
        if user is None:
            user = User(
                id=user_id,
                first_name=first_name or f"User {user_id}",
                username=username,
                language_code=DEFAULT_LANGUAGE,
            )
            self.state.users[user_id] = user
        user.first_name, user.username = first_name or user.first_name, username or user.username
        return user

    def _chat(
        self, user: User, chat_id: int | None, chat_type: str, chat_title: str | None
    ) -> Chat:
        if chat_type not in CHAT_TYPES:
            raise EmulatorError(f"chat_type must be one of {CHAT_TYPES}")
        if chat_type == "private":
            if chat_id not in (None, user.id):
                raise EmulatorError("a private chat's id is the user's id")
            return self.state.chats.ensure(private_chat(user))
        chat_id = DEFAULT_CHAT_IDS[chat_type] if chat_id is None else chat_id
        title = chat_title or DEFAULT_CHAT_TITLE
        return self.state.chats.ensure(Chat(id=chat_id, type=chat_type, title=title))

    def _post(
        self, user: User, chat: Chat, content: dict[str, Any], reply_to: int | None
    ) -> dict[str, Any]:
        if reply_to is not None and self.state.chats.find(chat.id, reply_to) is None:
            raise EmulatorError(f"no message {reply_to} in chat {chat.id} to reply to")
        message = self.state.chats.add(chat, user, content, reply_to)
        if reaches_bot(message, self.state.bot, self.state.group_privacy):
            self.state.updates.push("message", message)
        self.state.changed.notify()
        return message

    def _pick_sticker(
        self, set_name: str | None, index: int, file_id: str | None
    ) -> dict[str, Any]:
        if file_id is not None:
            sticker = self.state.stickers.by_file_id(file_id)
            if sticker is None:
                raise EmulatorError(f"unknown sticker file_id {file_id!r}")
            return sticker
        sticker_set = self.state.stickers.get_set(set_name or "")
        if sticker_set is None:
            raise EmulatorError(f"unknown sticker set {set_name!r}")
        if not 0 <= index < len(sticker_set.stickers):
            raise EmulatorError(f"set {set_name!r} has {len(sticker_set.stickers)} stickers")
        return dict(sticker_set.stickers[index])

    def _answered_result(self, query_id: str, result_id: str) -> tuple[str, dict[str, Any]]:
        """The query text and the chosen result of an answered inline query."""
        pending = self.state.queries.get(query_id)
        if pending is None or pending.answer is None:
            raise EmulatorError(f"inline query {query_id} has no answer yet")
        for result in pending.answer["results"]:
            if result["id"] == result_id:
                return pending.request["query"], dict(result)
        raise EmulatorError(f"result {result_id!r} is not in the answer to {query_id}")

    def _inline_message(self, result: dict[str, Any]) -> str:
        inline_id = secrets.token_urlsafe(INLINE_MESSAGE_ID_BYTES)
        content = result.get("input_message_content") or {}
        message = {"reply_markup": result["reply_markup"], "text": content.get("message_text")}
        self.state.inline_messages[inline_id] = message
        return inline_id


def _chat_instance(chat_id: int) -> str:
    """Stable per chat, opaque like Telegram's."""
    return str(zlib.crc32(str(chat_id).encode()) * 7919)


def _require_button(markup: dict[str, Any] | None, callback_data: str) -> None:
    """Clients can only send data that a button on the message carries."""
    rows = (markup or {}).get("inline_keyboard", [])
    if not any(button.get("callback_data") == callback_data for row in rows for button in row):
        raise EmulatorError(f"no button with callback_data {callback_data!r} on that message")
