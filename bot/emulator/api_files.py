"""getFile and getStickerSet."""

from __future__ import annotations

from typing import Any

from .api_types import Handler
from .errors import bad_request
from .params import Params
from .state import EmulatorState


async def get_file(state: EmulatorState, params: Params) -> dict[str, Any]:
    stored = state.files.get(params.text("file_id") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    return stored.to_file_json()


async def get_sticker_set(state: EmulatorState, params: Params) -> dict[str, Any]:
    sticker_set = state.stickers.get_set(params.text("name") or "")
    if sticker_set is None:
        raise bad_request("STICKERSET_INVALID")
    return sticker_set.to_json()


METHODS: dict[str, Handler] = {
    "getfile": get_file,
    "getstickerset": get_sticker_set,
}
