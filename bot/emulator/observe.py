"""Reading what the bot did: sent messages, answers, files, webhook state and API calls."""

from __future__ import annotations

from typing import Any

from .errors import EmulatorError
from .state import EmulatorState

DEFAULT_WAIT = 5.0  # seconds; generous for a loaded CI machine, short enough to fail fast
# The wait_* methods take a plain `timeout` (ruff ASYNC109) because HTTP callers pass it as JSON.


class Observer:
    state: EmulatorState

    def messages(self, chat_id: int, *, from_bot: bool = True) -> list[dict[str, Any]]:
        """The chat's current history (edits applied, deletions gone), optionally bot-only."""
        history = self.state.chats.history(chat_id)
        if not from_bot:
            return history
        return [message for message in history if message["from"]["id"] == self.state.bot.id]

    async def wait_bot_messages(
        self,
        chat_id: int,
        count: int = 1,
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        """The bot's messages in the chat once there are at least `count` of them."""

        def enough() -> list[dict[str, Any]] | None:
            sent = self.messages(chat_id)
            return sent if len(sent) >= count else None

        found = await self.state.changed.wait_for(enough, timeout)
        if found is None:
            raise TimeoutError(f"the bot sent fewer than {count} messages to {chat_id}")
        return found

    async def wait_inline_answer(
        self,
        query_id: str,
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """The stored answer: results, next_offset, is_personal, cache_time, button."""
        return await self._answer_of(
            query_id, timeout, f"inline query {query_id} was not answered within {timeout}s"
        )

    async def wait_callback_answer(
        self,
        callback_query_id: str,
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """The stored answerCallbackQuery call: text, show_alert, url, cache_time."""
        return await self._answer_of(
            callback_query_id,
            timeout,
            f"callback query {callback_query_id} was not answered in time",
        )

    async def _answer_of(
        self,
        query_id: str,
        timeout: float,  # noqa: ASYNC109  # same contract as the public waits above
        missing: str,
    ) -> dict[str, Any]:
        """Wait until the bot answers the inline or callback query `query_id`."""
        answer = await self.state.changed.wait_for(
            lambda: self.state.queries.answer_of(query_id), timeout
        )
        if answer is None:
            raise TimeoutError(missing)
        return answer

    def inline_message(self, inline_message_id: str) -> dict[str, Any]:
        """The latest text and keyboard of a message sent via inline mode."""
        found = self.state.inline_messages.get(inline_message_id)
        if found is None:
            raise EmulatorError(f"unknown inline_message_id {inline_message_id!r}")
        return dict(found)

    def file_bytes(self, file_id: str) -> bytes:
        stored = self.state.files.get(file_id)
        if stored is None:
            raise EmulatorError(f"unknown file_id {file_id!r}")
        return stored.read()

    def sticker_set(self, name: str) -> dict[str, Any]:
        found = self.state.stickers.get_set(name)
        if found is None:
            raise EmulatorError(f"unknown sticker set {name!r}")
        return found.to_json()

    def webhook_info(self) -> dict[str, Any]:
        return self.state.webhook.info()

    def pending_updates(self) -> list[dict[str, Any]]:
        return self.state.updates.peek()

    def api_calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Bot API calls received so far (method, ok, error_code), oldest first."""
        wanted = method.lower() if method else None
        return [
            {"method": call.method, "ok": call.ok, "error_code": call.error_code}
            for call in self.state.calls
            if wanted is None or call.method.lower() == wanted
        ]
