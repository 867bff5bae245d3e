"""Sticker sets, files and downloads, as a real PTB Bot sees them."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from telegram import Bot
from telegram.error import BadRequest

from bot.emulator import BotApiEmulator


async def test_sticker_set_file_and_download_round_trip(
    emu: BotApiEmulator, bot: Bot, sticker_files: list[tuple[Path, str]], pack: str
) -> None:
    sticker_set = await bot.get_sticker_set(pack)
    assert [s.emoji for s in sticker_set.stickers] == ["🐱", "🐶", "🦊"]
    cat = sticker_set.stickers[0]
    assert (cat.width, cat.height) == (512, 384)
    assert cat.type == "regular" and not cat.is_animated and not cat.is_video
    assert cat.set_name == pack and cat.file_size == sticker_files[0][0].stat().st_size

    telegram_file = await bot.get_file(cat.file_id)
    assert telegram_file.file_unique_id == cat.file_unique_id
    data = await telegram_file.download_as_bytearray()
    assert bytes(data) == sticker_files[0][0].read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (512, 384)


async def test_file_ids_are_stable_across_emulators(
    emu: BotApiEmulator, sticker_files: list[tuple[Path, str]], pack: str
) -> None:
    again = BotApiEmulator()
    again.add_sticker_set("copy", "Copy", sticker_files)
    first, second = emu.sticker_set(pack)["stickers"][0], again.sticker_set("copy")["stickers"][0]
    assert first["file_id"] == second["file_id"]
    assert first["file_unique_id"] == second["file_unique_id"]


async def test_load_packs_reads_folders_and_emoji(
    emu: BotApiEmulator, tmp_path: Path, png: Any
) -> None:
    folder = tmp_path / "packs" / "animals"
    folder.mkdir(parents=True)
    png(folder / "a.png", (128, 128), "blue")
    (folder / "b.tgs").write_bytes(b"\x1f\x8b fake lottie")
    (folder / "c.webm").write_bytes(b"\x1aE\xdf\xa3 fake webm")
    (folder / "notes.txt").write_text("ignored")
    (folder / "emoji.json").write_text(json.dumps({"a.png": "😀"}), encoding="utf-8")

    assert emu.load_packs(tmp_path / "packs") == ["animals"]
    a, b, c = emu.sticker_set("animals")["stickers"]
    assert (a["emoji"], a["width"], a["is_animated"], a["is_video"]) == ("😀", 128, False, False)
    assert (b["is_animated"], b["width"], b["height"]) == (True, 512, 512)
    assert c["is_video"] is True and c["emoji"] == "🙂"


async def test_send_document_bytes_are_readable(emu: BotApiEmulator, bot: Bot) -> None:
    emu.send_text("/export", user_id=11)
    payload = bytes(range(256)) * 10
    message = await bot.send_document(11, payload, filename="export.bin", caption="your data")
    assert message.document is not None and message.document.file_name == "export.bin"
    assert message.caption == "your data"

    sent = emu.messages(11)[-1]["document"]
    assert emu.file_bytes(sent["file_id"]) == payload
    assert sent["file_size"] == len(payload)
    downloaded = await (await bot.get_file(sent["file_id"])).download_as_bytearray()
    assert bytes(downloaded) == payload


async def test_send_sticker_by_file_id_and_upload(
    emu: BotApiEmulator, bot: Bot, tmp_path: Path, pack: str, png: Any
) -> None:
    emu.send_text("hello", user_id=12)
    fox = emu.sticker_set(pack)["stickers"][2]
    reply = await bot.send_sticker(12, fox["file_id"], reply_to_message_id=1)
    assert reply.sticker is not None and reply.sticker.file_unique_id == fox["file_unique_id"]
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "hello"

    upload = png(tmp_path / "new.png", (100, 200), "green")
    uploaded = await bot.send_sticker(12, upload.read_bytes(), emoji="🌿")
    assert uploaded.sticker is not None and uploaded.sticker.width == 100
    assert [m.get("sticker", {}).get("emoji") for m in emu.messages(12)] == ["🦊", "🌿"]

    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_sticker(12, "CAAC-unknown")


async def test_user_sticker_message_reaches_updates(
    emu: BotApiEmulator, bot: Bot, pack: str
) -> None:
    emu.send_text("look", user_id=13)
    sent = emu.send_sticker(set_name=pack, index=1, user_id=13, reply_to=1)
    updates = await bot.get_updates(timeout=0)
    assert [u.message.message_id for u in updates if u.message] == [1, sent["message_id"]]
    last = updates[-1].message
    assert last is not None and last.sticker is not None and last.sticker.emoji == "🐶"
    assert last.reply_to_message is not None and last.reply_to_message.text == "look"
