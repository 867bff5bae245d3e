"""editMessageText, editMessageReplyMarkup and deleteMessage, for chat and inline messages."""

from __future__ import annotations

from typing import Any

from .api_types import Handler
from .errors import bad_request
from .formatting import formatted
from .message_parts import MAX_TEXT_LENGTH, inline_markup, target_chat
from .models import now
from .params import Params
from .state import EmulatorState

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


async def edit_message_text(state: EmulatorState, params: Params) -> Any:
    text, entities = formatted(params.text("text") or "", params.text("parse_mode"))
    if not text.strip():
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise bad_request("MESSAGE_TOO_LONG")
    # Omitting reply_markup removes the keyboard, as it does on Telegram.
    fields = {"text": text, "entities": entities or None, "reply_markup": inline_markup(params)}
    return _apply_edit(state, params, fields)


async def edit_message_reply_markup(state: EmulatorState, params: Params) -> Any:
    return _apply_edit(state, params, {"reply_markup": inline_markup(params)})


def _apply_edit(state: EmulatorState, params: Params, fields: dict[str, Any]) -> Any:
    inline_id = params.text("inline_message_id")
    if inline_id:
        return _edit_inline(state, inline_id, fields)
    chat = target_chat(state, params)
    message = state.chats.find(chat.id, params.required_integer("message_id"))
    if message is None:
        raise bad_request("message to edit not found")
    if message["from"]["id"] != state.bot.id:
        raise bad_request("message can't be edited")
    if "text" in fields and "text" not in message:
        raise bad_request("there is no text in the message to edit")
    if all(message.get(key) == value for key, value in fields.items()):
        raise bad_request(NOT_MODIFIED)
    edited = state.chats.update(chat.id, message["message_id"], {**fields, "edit_date": now()})
    state.changed.notify()
    return edited


def _edit_inline(state: EmulatorState, inline_id: str, fields: dict[str, Any]) -> bool:
    """Messages sent via inline mode are not in any chat we track; keep their latest state."""
    message = state.inline_messages.get(inline_id)
    if message is None:
        raise bad_request("MESSAGE_ID_INVALID")
    if all(message.get(key) == value for key, value in fields.items()):
        raise bad_request(NOT_MODIFIED)
    message.update(fields)
    state.changed.notify()
    return True


async def delete_message(state: EmulatorState, params: Params) -> bool:
    chat = target_chat(state, params)
    if not state.chats.delete(chat.id, params.required_integer("message_id")):
        raise bad_request("message to delete not found")
    state.changed.notify()
    return True


METHODS: dict[str, Handler] = {
    "editmessagetext": edit_message_text,
    "editmessagereplymarkup": edit_message_reply_markup,
    "deletemessage": delete_message,
}
