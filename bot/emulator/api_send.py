"""sendMessage, sendSticker and sendDocument."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from aiohttp.web_request import FileField

from .api_types import Handler
from .errors import bad_request
from .formatting import formatted
from .message_parts import MAX_TEXT_LENGTH, caption, post_bot_message
from .params import Params
from .state import EmulatorState

WRONG_FILE = "wrong file identifier/HTTP URL specified"
DEFAULT_DOCUMENT_MIME = "application/octet-stream"


async def send_message(state: EmulatorState, params: Params) -> dict[str, Any]:
    text, entities = formatted(params.text("text") or "", params.text("parse_mode"))
    if not text.strip():
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    content: dict[str, Any] = {"text": text}
    entities = entities or params.json_value("entities")
    if isinstance(entities, list) and entities:
        content["entities"] = entities
    return post_bot_message(state, params, content)


async def send_sticker(state: EmulatorState, params: Params) -> dict[str, Any]:
    raw = params.raw("sticker")
    if isinstance(raw, FileField):
        suffix = PurePath(raw.filename or "sticker.webp").suffix or ".webp"
        sticker = state.stickers.register(raw.file.read(), params.text("emoji"), None, suffix)
    else:
        sticker = _known_sticker(state, params.text("sticker"))
    return post_bot_message(state, params, {"sticker": sticker})


def _known_sticker(state: EmulatorState, file_id: str | None) -> dict[str, Any]:
    if not file_id:
        raise bad_request("sticker is empty")
    sticker = state.stickers.by_file_id(file_id)
    if sticker is not None:
        return sticker
    stored = state.files.get(file_id)
    if stored is not None:
        raise bad_request(f"can't use file of type {stored.kind.title()} as Sticker")
    raise bad_request(WRONG_FILE)


async def send_document(state: EmulatorState, params: Params) -> dict[str, Any]:
    raw = params.raw("document")
    if isinstance(raw, FileField):
        name = raw.filename or "document"
        stored = state.files.add(
            raw.file.read(),
            "document",
            PurePath(name).suffix,
            file_name=name,
            mime_type=raw.content_type or DEFAULT_DOCUMENT_MIME,
        )
    else:
        file_id = params.text("document")
        if not file_id:
            raise bad_request("document is empty")
        found = state.files.get(file_id)
        if found is None:
            raise bad_request(WRONG_FILE)
        stored = found
    document = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
    }
    if stored.file_name:
        document["file_name"] = stored.file_name
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    return post_bot_message(state, params, {"document": document, **caption(params)})


METHODS: dict[str, Handler] = {
    "sendmessage": send_message,
    "sendsticker": send_sticker,
    "senddocument": send_document,
}
