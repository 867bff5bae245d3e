"""answerInlineQuery and answerCallbackQuery: validated, then stored for the control side."""

from __future__ import annotations

from typing import Any

from .api_types import Handler
from .errors import bad_request
from .inline_results import (
    DEFAULT_CACHE_TIME,
    validate_button,
    validate_next_offset,
    validate_results,
)
from .params import Params
from .state import EmulatorState

MAX_CALLBACK_TEXT = 200  # characters in a callback notification


async def answer_inline_query(state: EmulatorState, params: Params) -> bool:
    query_id = params.text("inline_query_id") or ""
    state.queries.check_open("inline", query_id)
    results = validate_results(
        params.json_value("results"), lambda file_id: state.stickers.by_file_id(file_id) is not None
    )
    answer: dict[str, Any] = {
        "inline_query_id": query_id,
        "results": results,
        "next_offset": validate_next_offset(params.text("next_offset") or ""),
        "is_personal": params.boolean("is_personal"),
        "cache_time": params.integer("cache_time", DEFAULT_CACHE_TIME),
        "button": validate_button(_button(params)),
    }
    state.queries.answer("inline", query_id, answer)
    state.changed.notify()
    return True


def _button(params: Params) -> Any:
    """Older bots send switch_pm_text/switch_pm_parameter; Telegram maps them to a button."""
    button = params.json_value("button")
    if button is None and params.has("switch_pm_text"):
        return {
            "text": params.text("switch_pm_text"),
            "start_parameter": params.text("switch_pm_parameter"),
        }
    return button


async def answer_callback_query(state: EmulatorState, params: Params) -> bool:
    query_id = params.text("callback_query_id") or ""
    state.queries.check_open("callback", query_id)
    text = params.text("text")
    if text and len(text) > MAX_CALLBACK_TEXT:
        raise bad_request("MESSAGE_TOO_LONG")
    answer = {
        "callback_query_id": query_id,
        "text": text,
        "show_alert": params.boolean("show_alert"),
        "url": params.text("url"),
        "cache_time": params.integer("cache_time", 0),
    }
    state.queries.answer("callback", query_id, answer)
    state.changed.notify()
    return True


METHODS: dict[str, Handler] = {
    "answerinlinequery": answer_inline_query,
    "answercallbackquery": answer_callback_query,
}
