"""Raw Bot API update payloads for tests, as Telegram would send them."""

from __future__ import annotations

import itertools
from typing import Any

ANN_ID, BOB_ID = 1, 2
ANN: dict[str, Any] = {"id": ANN_ID, "is_bot": False, "first_name": "Ann", "language_code": "en"}
BOB: dict[str, Any] = {"id": BOB_ID, "is_bot": False, "first_name": "Bob"}
GROUP: dict[str, Any] = {"id": -100, "type": "supergroup", "title": "Friends"}

_ids = itertools.count(1)


def private_chat(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "type": "private", "first_name": user["first_name"]}


def message(
    user: dict[str, Any], chat: dict[str, Any] | None = None, **fields: Any
) -> dict[str, Any]:
    body = {
        "message_id": next(_ids),
        "date": 1_700_000_000,
        "chat": chat or private_chat(user),
        "from": user,
        **fields,
    }
    return {"update_id": next(_ids), "message": body}


def command(user: dict[str, Any], text: str, chat: dict[str, Any] | None = None) -> dict[str, Any]:
    name = text.split()[0]
    entity = {"type": "bot_command", "offset": 0, "length": len(name)}
    return message(user, chat, text=text, entities=[entity])


def sticker(
    unique_id: str, set_name: str | None = "pack", file_id: str | None = None
) -> dict[str, Any]:
    body = {
        "file_id": file_id or f"file-{unique_id}",
        "file_unique_id": unique_id,
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "😀",
    }
    if set_name:
        body["set_name"] = set_name
    return body


def inline_query(
    user: dict[str, Any], query: str, offset: str = "", chat_type: str | None = "private"
) -> dict[str, Any]:
    body = {"id": str(next(_ids)), "from": user, "query": query, "offset": offset}
    if chat_type:
        body["chat_type"] = chat_type
    return {"update_id": next(_ids), "inline_query": body}


def chosen(user: dict[str, Any], result_id: str, query: str) -> dict[str, Any]:
    body = {"result_id": result_id, "from": user, "query": query}
    return {"update_id": next(_ids), "chosen_inline_result": body}


def press(user: dict[str, Any], data: str, owner: dict[str, Any] | None = None) -> dict[str, Any]:
    shown = {
        "message_id": next(_ids),
        "date": 1_700_000_000,
        "chat": private_chat(owner or user),
        "from": {"id": 4242, "is_bot": True, "first_name": "Stickerbot"},
        "text": "Your settings",
    }
    body = {
        "id": str(next(_ids)),
        "from": user,
        "chat_instance": "ci",
        "data": data,
        "message": shown,
    }
    return {"update_id": next(_ids), "callback_query": body}
