"""The bounded in-memory helpers: context window, file id cache, Telegram id codecs."""

from __future__ import annotations

import pytest

from bot.codec import (
    Button,
    decode_button,
    decode_offset,
    decode_result_id,
    encode_button,
    encode_offset,
    encode_result_id,
)
from bot.context_window import ContextWindow
from bot.file_ids import FileIdCache
from bot.ingest import parse_set_name


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_window_keeps_latest_messages_per_user() -> None:
    window = ContextWindow(max_messages=2, ttl_seconds=60, max_users=10)
    for text in ("one", "two", "three"):
        window.add(1, text)
    assert window.latest(1) == ["two", "three"]
    assert window.latest(2) == []


def test_window_expires_old_messages() -> None:
    clock = Clock()
    window = ContextWindow(max_messages=5, ttl_seconds=60, max_users=10, clock=clock)
    window.add(1, "old")
    clock.now = 30
    window.add(1, "new")
    clock.now = 70
    assert window.latest(1) == ["new"]
    clock.now = 200
    assert window.latest(1) == []
    assert len(window) == 0


def test_window_drops_least_recent_user_and_forgets() -> None:
    window = ContextWindow(max_messages=5, ttl_seconds=60, max_users=2)
    window.add(1, "a")
    window.add(2, "b")
    window.add(1, "c")
    window.add(3, "d")
    assert window.latest(2) == []
    assert window.latest(1) == ["a", "c"]
    window.forget(1)
    assert window.latest(1) == []


def test_file_id_cache_is_bounded_and_keeps_newest() -> None:
    cache = FileIdCache(capacity=2)
    cache.remember("a", "f1")
    cache.remember("a", "f2")
    cache.remember("b", "f3")
    cache.remember("c", "f4")
    assert cache.get("a") is None
    assert (cache.get("b"), cache.get("c")) == ("f3", "f4")


def test_offsets_round_trip_and_reject_garbage() -> None:
    assert encode_offset(None) == ""
    assert decode_offset(encode_offset(150)) == 150
    assert decode_offset("") == decode_offset("-3") == decode_offset("x") == 0


def test_result_ids_map_back_and_respect_the_limit() -> None:
    assert decode_result_id(encode_result_id("AgADxyz") or "") == "AgADxyz"
    assert encode_result_id("x" * 65) is None


def test_buttons_carry_their_owner() -> None:
    button = Button(owner_id=123456789, action="lang", arg="fr")
    assert decode_button(encode_button(button)) == button
    assert decode_button("something else") is None
    with pytest.raises(ValueError):
        encode_button(Button(1, "x" * 70))


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Animals", "Animals"),
        ("https://t.me/addstickers/Cats_by_bot", "Cats_by_bot"),
        ("t.me/addstickers/Dogs/", "Dogs"),
        ("not a name", None),
        ("https://example.com/addstickers/Dogs", None),
    ],
)
def test_parse_set_name(text: str, name: str | None) -> None:
    assert parse_set_name(text) == name
