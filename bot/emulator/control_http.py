"""The control API over HTTP, so another process can play the users.

`POST /control/<action>` with a JSON object of keyword arguments calls the emulator method of
the same name and answers `{"ok": true, "result": ...}`. `GET /control/files/<file_id>`
returns a file's raw bytes.
"""

from __future__ import annotations

import inspect
import json
from typing import Any, Protocol

from aiohttp import web

from .errors import EmulatorError

ACTIONS = frozenset(
    {
        "add_user",
        "send_text",
        "send_sticker",
        "inline_query",
        "wait_inline_answer",
        "choose_inline_result",
        "press_button",
        "wait_callback_answer",
        "messages",
        "wait_bot_messages",
        "inline_message",
        "sticker_set",
        "webhook_info",
        "pending_updates",
        "api_calls",
        "inject_error",
        "add_sticker_set",
        "load_packs",
        "reset",
    }
)
REQUEST_TIMEOUT = 408  # what a timed-out wait_* call answers


class Controllable(Protocol):
    def file_bytes(self, file_id: str) -> bytes: ...


def control_failure(status: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )


class ControlRoutes:
    def __init__(self, emulator: Controllable) -> None:
        self._emulator = emulator

    def install(self, app: web.Application) -> None:
        app.router.add_post("/control/{action}", self.call)
        app.router.add_get("/control/files/{file_id}", self.file)

    async def call(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in ACTIONS:
            return control_failure(404, f"unknown control action {action!r}")
        try:
            kwargs = await _body(request)
            method = getattr(self._emulator, action)
            inspect.signature(method).bind(**kwargs)
        except (ValueError, TypeError) as exc:
            return control_failure(400, f"bad arguments for {action}: {exc}")
        try:
            result: Any = method(**kwargs)
            if inspect.isawaitable(result):
                result = await result
        except EmulatorError as exc:
            return control_failure(400, str(exc))
        except TimeoutError as exc:
            return control_failure(REQUEST_TIMEOUT, str(exc))
        return web.json_response({"ok": True, "result": result})

    async def file(self, request: web.Request) -> web.Response:
        try:
            data = self._emulator.file_bytes(request.match_info["file_id"])
        except EmulatorError as exc:
            return control_failure(404, str(exc))
        return web.Response(body=data, content_type="application/octet-stream")


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except json.JSONDecodeError as exc:
        raise ValueError(f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object of keyword arguments")
    return body
