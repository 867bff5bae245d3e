"""Test doubles for the bot: an in-memory engine and a Bot API that records every call."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from telegram.request import BaseRequest, RequestData

from engine.errors import BadQuery, UnknownSticker
from engine.protocol import MAX_PAGE, MAX_QUERY_CHARS
from engine.types import Event, Page, Prefs, StickerRecord, Suggestion, Taste

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Stickerbot", "username": "stickerbot_test"}


class FakeEngine:
    """The SuggestionEngine protocol over dicts, recording what the bot asked of it."""

    def __init__(self, records: Sequence[StickerRecord] = ()) -> None:
        self.catalog: dict[str, StickerRecord] = {r.sticker_id: r for r in records}
        self.events: list[tuple[str, Event]] = []
        self.prefs: dict[str, Prefs] = {}
        self.suggest_calls: list[dict[str, Any]] = []
        self.added: list[StickerRecord] = []
        self.forgotten: list[str] = []
        self.resets: list[str] = []
        self.user_taste = Taste()
        self.closed = False
        self.fail_with: Exception | None = None  # raised by get_prefs, to test error paths

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
        if len(text) > MAX_QUERY_CHARS:
            raise BadQuery("too long")
        self.suggest_calls.append(
            {
                "user": user_id,
                "text": text,
                "context": list(context or []),
                "offset": offset,
                "limit": limit,
                "safe": safe,
                "language": language,
            }
        )
        ordered = sorted(self.catalog.values(), key=lambda r: r.sticker_id)
        chunk = ordered[offset : offset + limit]
        end = offset + limit
        items = [Suggestion(r.sticker_id, 1.0, "fake", r.file_id) for r in chunk]
        return Page(items=items, next_offset=end if end < len(ordered) else None)

    async def observe(self, user_id: str, event: Event) -> None:
        if event.sticker_id not in self.catalog:
            raise UnknownSticker(f"unknown sticker {event.sticker_id}")
        self.events.append((user_id, event))

    async def get_prefs(self, user_id: str) -> Prefs:
        if self.fail_with is not None:
            raise self.fail_with
        return self.prefs.get(user_id, Prefs())

    async def set_prefs(self, user_id: str, prefs: Prefs) -> None:
        self.prefs[user_id] = prefs

    async def reset_taste(self, user_id: str) -> None:
        self.resets.append(user_id)

    async def forget_user(self, user_id: str) -> None:
        self.forgotten.append(user_id)
        self.events = [(u, e) for u, e in self.events if u != user_id]
        self.prefs.pop(user_id, None)

    async def export_user(self, user_id: str) -> dict[str, Any]:
        return {"user": user_id, "events": [e.sticker_id for u, e in self.events if u == user_id]}

    async def taste(self, user_id: str) -> Taste:
        return self.user_taste

    async def has_set(self, set_name: str) -> bool:
        return any(r.set_name == set_name for r in self.catalog.values())

    async def add_stickers(self, records: Sequence[StickerRecord]) -> int:
        new = [r for r in records if r.sticker_id not in self.catalog]
        self.added.extend(records)
        self.catalog.update({r.sticker_id: r for r in new})
        return len(new)

    async def stats(self) -> dict[str, int]:
        return {"stickers": len(self.catalog), "events": len(self.events)}

    async def close(self) -> None:
        self.closed = True


Responder = Callable[[dict[str, Any]], tuple[int, Any]]


class RecordingRequest(BaseRequest):
    """A Bot API that answers from memory and records each method call with its parameters."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.responders: dict[str, Responder] = {}
        self.files: dict[str, bytes] = {}  # file_path -> content for downloads
        self._message_id = 0

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        """Nothing to open: requests are answered in memory."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if "/file/bot" in url:
            return 200, self.files[url.split("/file/bot", 1)[1].split("/", 1)[1]]
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        if request_data is not None and request_data.contains_files:
            params["_files"] = request_data.multipart_data
        self.calls.append((name, params))
        status, result = self._respond(name, params)
        body = (
            {"ok": True, "result": result}
            if status == 200
            else {"ok": False, "error_code": status, "description": result}
        )
        return status, json.dumps(body).encode()

    def called(self, name: str) -> list[dict[str, Any]]:
        """Parameters of every call to `name`, oldest first."""
        return [params for method, params in self.calls if method == name]

    def _respond(self, name: str, params: dict[str, Any]) -> tuple[int, Any]:
        if name in self.responders:
            return self.responders[name](params)
        if name == "getMe":
            return 200, BOT_USER
        if name.startswith(("send", "edit")):
            self._message_id += 1
            chat = {"id": params.get("chat_id", 1), "type": "private"}
            return 200, {"message_id": self._message_id, "date": 0, "chat": chat}
        return 200, True
