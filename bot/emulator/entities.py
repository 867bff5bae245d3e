"""The entities Telegram attaches to plain user text: bot commands and @mentions.

python-telegram-bot's CommandHandler only fires on a `bot_command` entity at offset 0, so
emulated user messages must carry them. Offsets and lengths count UTF-16 code units.
"""

from __future__ import annotations

import re
from typing import Any

COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
MENTION = re.compile(r"(?<![\w/])@[A-Za-z0-9_]{5,32}")


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def text_entities(text: str) -> list[dict[str, Any]]:
    found = [("bot_command", m) for m in COMMAND.finditer(text)]
    found += [("mention", m) for m in MENTION.finditer(text)]
    found.sort(key=lambda item: item[1].start())
    return [
        {
            "type": kind,
            "offset": utf16_length(text[: match.start()]),
            "length": utf16_length(match.group()),
        }
        for kind, match in found
    ]
