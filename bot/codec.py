"""Short strings that round-trip through Telegram: inline offsets, result ids, button data."""

from __future__ import annotations

from dataclasses import dataclass

MAX_TELEGRAM_ID_BYTES = 64  # Bot API limit for result ids, next_offset and callback_data
CALLBACK_PREFIX = "p"  # marks our settings buttons
SEPARATOR = ":"


def encode_offset(offset: int | None) -> str:
    """The `next_offset` string for an engine offset; empty means the last page."""
    return "" if offset is None else str(offset)


def decode_offset(raw: str) -> int:
    """The engine offset for Telegram's `offset`; anything unexpected restarts at 0."""
    return int(raw) if raw.isdigit() and len(raw) < MAX_TELEGRAM_ID_BYTES else 0


def encode_result_id(sticker_id: str) -> str | None:
    """The inline result id for a sticker, or None when the id cannot fit."""
    # file_unique_id is short and URL-safe, so it is the id itself and maps back exactly.
    return sticker_id if 0 < len(sticker_id.encode()) <= MAX_TELEGRAM_ID_BYTES else None


def decode_result_id(result_id: str) -> str:
    """The sticker id a chosen result id stands for."""
    return result_id


@dataclass(frozen=True, slots=True)
class Button:
    """A settings button: who may press it, what it does, and an optional argument."""

    owner_id: int
    action: str
    arg: str = ""


def encode_button(button: Button) -> str:
    """Callback data carrying the owner's id, so nobody else can press the button."""
    data = SEPARATOR.join((CALLBACK_PREFIX, str(button.owner_id), button.action, button.arg))
    if len(data.encode()) > MAX_TELEGRAM_ID_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def decode_button(data: str) -> Button | None:
    """The button behind callback data, or None when it is not one of ours."""
    parts = data.split(SEPARATOR, 3)
    if len(parts) != 4 or parts[0] != CALLBACK_PREFIX or not parts[1].isdigit():
        return None
    return Button(owner_id=int(parts[1]), action=parts[2], arg=parts[3])
