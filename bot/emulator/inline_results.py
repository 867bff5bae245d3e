"""The limits Telegram enforces on answerInlineQuery, checked before an answer is stored."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import bad_request

MAX_RESULTS = 50
MAX_RESULT_ID_BYTES = 64
MAX_NEXT_OFFSET_BYTES = 64
START_PARAMETER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_CACHE_TIME = 300  # seconds, the documented default

# The fields each result type cannot do without; `|` separates alternatives.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "article": ("title", "input_message_content"),
    "photo": ("photo_url|photo_file_id",),
    "gif": ("gif_url|gif_file_id",),
    "mpeg4_gif": ("mpeg4_url|mpeg4_file_id",),
    "video": ("video_url|video_file_id", "title"),
    "audio": ("audio_url|audio_file_id",),
    "voice": ("voice_url|voice_file_id",),
    "document": ("document_url|document_file_id", "title"),
    "sticker": ("sticker_file_id",),
    "location": ("latitude", "longitude", "title"),
    "venue": ("latitude", "longitude", "title", "address"),
    "contact": ("phone_number", "first_name"),
    "game": ("game_short_name",),
}


def validate_results(results: Any, sticker_known: Callable[[str], bool]) -> list[dict[str, Any]]:
    """The results list as Telegram would accept it, or the 400 it would answer."""
    if not isinstance(results, list):
        raise bad_request("can't parse inline query results JSON object")
    if len(results) > MAX_RESULTS:
        raise bad_request("RESULTS_TOO_MUCH")
    seen: set[str] = set()
    for result in results:
        _validate_one(result, sticker_known)
        if result["id"] in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result["id"])
    return results


def _validate_one(result: Any, sticker_known: Callable[[str], bool]) -> None:
    if not isinstance(result, dict):
        raise bad_request("can't parse inline query result")
    kind = result.get("type")
    if kind not in REQUIRED_FIELDS:
        raise bad_request(f'Unsupported inline query result type "{kind}"')
    result_id = str(result.get("id", ""))
    if not result_id or len(result_id.encode()) > MAX_RESULT_ID_BYTES:
        raise bad_request("RESULT_ID_INVALID")
    result["id"] = result_id
    for needed in REQUIRED_FIELDS[kind]:
        if not any(result.get(name) not in (None, "") for name in needed.split("|")):
            field = needed.split("|")[0]
            raise bad_request(f"can't parse inline query result: Can't find field \"{field}\"")
    if kind == "sticker" and not sticker_known(str(result["sticker_file_id"])):
        raise bad_request("wrong file identifier/HTTP URL specified")


def validate_next_offset(next_offset: str) -> str:
    if len(next_offset.encode()) > MAX_NEXT_OFFSET_BYTES:
        raise bad_request("NEXT_OFFSET_INVALID")
    return next_offset


def validate_button(button: Any) -> dict[str, Any] | None:
    """InlineQueryResultsButton: text plus exactly one of web_app or start_parameter."""
    if button is None:
        return None
    if not isinstance(button, dict) or not button.get("text"):
        raise bad_request("can't parse inline query results button")
    start = button.get("start_parameter")
    if start is not None and not START_PARAMETER.match(str(start)):
        raise bad_request("START_PARAM_INVALID")
    if (start is None) == (button.get("web_app") is None):
        raise bad_request("BUTTON_TYPE_INVALID")
    return button
