"""Method parameters from any of the four encodings the Bot API accepts.

Query strings, url-encoded forms, multipart forms (files) and JSON bodies all land in one
mapping. In the form encodings every value is a string and nested objects arrive as JSON text,
so the typed getters below convert on read instead of trusting the transport.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField

from .errors import bad_request

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})


class Params:
    """Typed read access to one call's parameters; every miss or bad value is a 400."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def raw(self, name: str) -> Any:
        return self._values.get(name)

    def has(self, name: str) -> bool:
        return self._values.get(name) not in (None, "")

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, FileField):
            raise bad_request(f"{name} must be a string")
        return str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self._values.get(name)
        if value in (None, ""):
            return default
        if isinstance(value, bool):
            raise bad_request(f"{name} must be an integer")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"{name} must be an integer") from None

    def required_integer(self, name: str) -> int:
        value = self.integer(name)
        if value is None:
            raise bad_request(f"{name} is empty")
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self._values.get(name)
        if value in (None, ""):
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in TRUE_WORDS

    def json_value(self, name: str) -> Any:
        """A nested object: native in JSON bodies, JSON text in form bodies."""
        value = self._values.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise bad_request(f"can't parse {name} JSON object") from None


async def read_params(request: web.Request) -> Params:
    """Merge the query string with the body, whatever its encoding."""
    values: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json" and request.can_read_body:
        values.update(await _json_body(request))
    elif request.content_type in FORM_TYPES:
        values.update(await request.post())
    return Params(values)


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except json.JSONDecodeError:
        raise bad_request("can't parse JSON request body") from None
    if not isinstance(body, dict):
        raise bad_request("JSON request body must be an object")
    return body
