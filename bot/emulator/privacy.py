"""Group privacy mode: which group messages Telegram actually hands to the bot.

With privacy on (the BotFather default) a bot in a group only sees commands, replies to its own
messages and messages that mention it. Private chats always reach the bot.
"""

from __future__ import annotations

from typing import Any

from .models import User


def reaches_bot(message: dict[str, Any], bot: User, privacy: bool) -> bool:
    if message["chat"]["type"] == "private" or not privacy:
        return True
    text = message.get("text", "")
    if text.startswith("/"):
        return True
    replied = message.get("reply_to_message")
    if replied is not None and replied["from"]["id"] == bot.id:
        return True
    return bool(bot.username) and f"@{bot.username}".lower() in text.lower()
