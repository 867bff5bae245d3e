"""HTTP routing for the Bot API side: `/bot<token>/<method>` and `/file/bot<token>/<path>`."""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

from aiohttp import web

from .api_types import Described
from .bot_api import METHODS
from .errors import ApiError
from .params import read_params
from .state import CallRecord, EmulatorState

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # the Bot API's upload limit for documents
UNAUTHORIZED = ApiError(401, "Unauthorized")
NOT_FOUND = ApiError(404, "Not Found")
_dumps = functools.partial(json.dumps, ensure_ascii=False)  # Telegram sends raw UTF-8


def api_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


def error_response(error: ApiError) -> web.Response:
    return api_response(error.to_json(), status=error.error_code)


class BotApiRoutes:
    """Checks the token, applies injected faults, then runs the method handler."""

    def __init__(self, state: EmulatorState, token: str) -> None:
        self._state = state
        self._token = token

    def install(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self.call)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self.download)

    async def call(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self._token:
            return error_response(UNAUTHORIZED)
        handler = METHODS.get(method.lower())
        if handler is None:
            return error_response(NOT_FOUND)
        try:
            injected = self._state.faults.take(method)
            if injected is not None:
                raise injected
            result = await handler(self._state, await read_params(request))
        except ApiError as error:
            self._record(method, error.error_code)
            log.debug("%s failed: %s", method, error.description)
            return error_response(error)
        self._record(method, None)
        return api_response(_ok_body(result))

    async def download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self._token:
            return error_response(UNAUTHORIZED)
        stored = self._state.files.by_path(request.match_info["file_path"])
        if stored is None:
            return error_response(NOT_FOUND)
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.read(), content_type=content_type)

    def _record(self, method: str, error_code: int | None) -> None:
        self._state.calls.append(CallRecord(method, error_code is None, error_code))


def _ok_body(result: Any) -> dict[str, Any]:
    if isinstance(result, Described):
        return {"ok": True, "result": result.result, "description": result.description}
    return {"ok": True, "result": result}
