"""parse_mode="HTML": strip the tags into entities and reject markup Telegram would reject.

Telegram answers 400 "can't parse entities" for unknown tags, stray "<" and unclosed tags;
catching that here is the point, since unescaped user text in HTML is a classic bot bug.
MarkdownV2 is passed through unparsed.
"""

from __future__ import annotations

import html
import re
from typing import Any

from .entities import utf16_length
from .errors import ApiError, bad_request

TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>")
CHAR_REFERENCE = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9A-Fa-f]+);")
ATTRIBUTE = re.compile(r"""([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+))""")
ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "tg-spoiler": "spoiler", "span": "spoiler", "code": "code",
    "pre": "pre", "a": "text_link", "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}  # fmt: skip


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and its entities (UTF-16 offsets), or Telegram's 400."""
    parts: list[str] = []
    entities: list[dict[str, Any]] = []
    open_tags: list[tuple[str, int, dict[str, Any]]] = []
    position = length = 0
    while position < len(source):
        if source[position] == "<":
            position = _tag(source, position, length, open_tags, entities)
            continue
        reference = CHAR_REFERENCE.match(source, position)
        piece = html.unescape(reference.group()) if reference else source[position]
        position = reference.end() if reference else position + 1
        parts.append(piece)
        length += utf16_length(piece)
    if open_tags:
        raise _cant_parse(f'Can\'t find end tag corresponding to start tag "{open_tags[-1][0]}"')
    entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(parts), entities


def _tag(
    source: str,
    position: int,
    length: int,
    open_tags: list[tuple[str, int, dict[str, Any]]],
    entities: list[dict[str, Any]],
) -> int:
    """Consume one tag at `position`; returns the position after it."""
    at_byte = len(source[:position].encode())
    match = TAG.match(source, position)
    name = match.group(2).lower() if match else ""
    if match is None or name not in ENTITY_TYPES:
        raise _cant_parse(f'Unsupported start tag "{name}" at byte offset {at_byte}')
    if not match.group(1):
        open_tags.append((name, length, _extra(name, match.group(3))))
        return match.end()
    if not open_tags or open_tags[-1][0] != name:
        expected = open_tags[-1][0] if open_tags else ""
        raise _cant_parse(f'Unmatched end tag at byte offset {at_byte}, expected "</{expected}>"')
    _, start, extra = open_tags.pop()
    if length > start:
        entities.append(
            {"type": ENTITY_TYPES[name], "offset": start, "length": length - start, **extra}
        )
    return match.end()


def _extra(name: str, raw: str) -> dict[str, Any]:
    attributes = {
        m.group(1): next(g for g in m.groups()[1:] if g is not None)
        for m in ATTRIBUTE.finditer(raw)
    }
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise _cant_parse('Unsupported start tag "span"')
    if name == "a":
        return {"url": attributes.get("href", "")}
    if name == "tg-emoji":
        return {"custom_emoji_id": attributes.get("emoji-id", "")}
    if name == "blockquote" and "expandable" in raw:
        return {"type": "expandable_blockquote"}
    return {}


def _cant_parse(reason: str) -> ApiError:
    return bad_request(f"can't parse entities: {reason}")


def formatted(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Apply parse_mode; only HTML is parsed, other modes keep the text as sent."""
    if parse_mode and parse_mode.upper() == "HTML":
        return parse_html(text)
    return text, []
