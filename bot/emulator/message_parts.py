"""Pieces every sending method shares: target chat, reply target and inline keyboards."""

from __future__ import annotations

from typing import Any

from .errors import bad_request
from .formatting import formatted
from .models import Chat
from .params import Params
from .state import EmulatorState

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
# A button must do something; plain text buttons exist only in reply keyboards.
BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


def target_chat(state: EmulatorState, params: Params) -> Chat:
    """The chat named by chat_id; @usernames and unknown ids are "chat not found"."""
    raw = params.text("chat_id")
    if not raw:
        raise bad_request("chat_id is empty")
    try:
        chat_id = int(raw)
    except ValueError:
        raise bad_request("chat not found") from None
    return state.chats.chat(chat_id)


def inline_markup(params: Params) -> dict[str, Any] | None:
    """The inline keyboard to echo in the Message; reply keyboards are not echoed."""
    markup = params.json_value("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    keyboard = markup.get("inline_keyboard")
    if keyboard is None:
        return None
    if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
        raise bad_request("can't parse inline keyboard markup JSON object")
    for row in keyboard:
        for button in row:
            _check_button(button)
    return {"inline_keyboard": keyboard}


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not button.get("text"):
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    if not BUTTON_ACTIONS & button.keys():
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if data is not None and len(str(data).encode()) > MAX_CALLBACK_DATA_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")


def reply_target(state: EmulatorState, chat: Chat, params: Params) -> int | None:
    """The message to reply to, from reply_parameters or the older reply_to_message_id."""
    reply = params.json_value("reply_parameters")
    if isinstance(reply, dict):
        message_id = reply.get("message_id")
        lenient = bool(reply.get("allow_sending_without_reply"))
    else:
        message_id = params.integer("reply_to_message_id")
        lenient = params.boolean("allow_sending_without_reply")
    if message_id is None:
        return None
    if state.chats.find(chat.id, int(message_id)) is None:
        if lenient:
            return None
        raise bad_request("message to be replied not found")
    return int(message_id)


def caption(params: Params) -> dict[str, Any]:
    text, entities = formatted(params.text("caption") or "", params.text("parse_mode"))
    if not text:
        return {}
    if len(text) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return {"caption": text, "caption_entities": entities} if entities else {"caption": text}


def post_bot_message(
    state: EmulatorState, params: Params, content: dict[str, Any]
) -> dict[str, Any]:
    """Validate the common parameters, then append the bot's message to the chat."""
    chat = target_chat(state, params)
    reply_to = reply_target(state, chat, params)
    markup = inline_markup(params)
    if markup is not None:
        content["reply_markup"] = markup
    message = state.chats.add(chat, state.bot, content, reply_to)
    state.changed.notify()
    return message
