"""getMe, the command menu, getChat, sendChatAction, close and logOut."""

from __future__ import annotations

import json
import re
from typing import Any

from .api_types import Handler
from .errors import bad_request
from .message_parts import target_chat
from .params import Params
from .state import EmulatorState

COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
MAX_COMMANDS = 100
MAX_DESCRIPTION = 256
DEFAULT_SCOPE = {"type": "default"}


async def get_me(state: EmulatorState, params: Params) -> dict[str, Any]:
    return {
        **state.bot.to_json(),
        "can_join_groups": True,
        "can_read_all_group_messages": not state.group_privacy,
        "supports_inline_queries": True,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def _menu_key(params: Params) -> str:
    """Menus are stored per (scope, language) pair, like Telegram's."""
    scope = params.json_value("scope") or DEFAULT_SCOPE
    return json.dumps(scope, sort_keys=True) + "|" + (params.text("language_code") or "")


async def set_my_commands(state: EmulatorState, params: Params) -> bool:
    commands = params.json_value("commands")
    if not isinstance(commands, list) or len(commands) > MAX_COMMANDS:
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        if not isinstance(command, dict) or not COMMAND_NAME.match(str(command.get("command"))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= MAX_DESCRIPTION:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    state.commands[_menu_key(params)] = commands
    return True


async def get_my_commands(state: EmulatorState, params: Params) -> list[dict[str, Any]]:
    return state.commands.get(_menu_key(params), [])


async def delete_my_commands(state: EmulatorState, params: Params) -> bool:
    state.commands.pop(_menu_key(params), None)
    return True


async def get_chat(state: EmulatorState, params: Params) -> dict[str, Any]:
    chat = target_chat(state, params)
    return {**chat.to_json(), "accent_color_id": 0, "max_reaction_count": 11}


async def send_chat_action(state: EmulatorState, params: Params) -> bool:
    target_chat(state, params)
    return True


async def always_true(state: EmulatorState, params: Params) -> bool:
    """close and logOut only matter to Telegram's own servers."""
    return True


METHODS: dict[str, Handler] = {
    "getme": get_me,
    "setmycommands": set_my_commands,
    "getmycommands": get_my_commands,
    "deletemycommands": delete_my_commands,
    "getchat": get_chat,
    "sendchataction": send_chat_action,
    "close": always_true,
    "logout": always_true,
}
