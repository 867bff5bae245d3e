"""A running engine picks up an index another writer saved, without dropping a query; a build
that fails half-way leaves the live index as it was."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.build import BuildHooks, build_index
from engine.emoji import EmojiKeywords
from engine.encoders import UniversalSentenceEncoder
from engine.engine import INDEX_DIR, RELOAD_CHECK_SECONDS, Engine
from engine.index import Encoders
from engine.index_files import load_index, save_index
from engine.media import load_sticker_image
from engine.types import StickerRecord

SIDE = 64
CAPTIONS = ("sleepy cat", "pizza slice", "red rocket", "happy dog")
EXTRA = ("erupting volcano", "snowy mountain")
SWAP_TIMEOUT_S = 20.0  # generous: two cores, and the loading runs beside a build
QUERY_PAUSE_S = 0.05


@pytest.fixture(scope="module")
def use_model() -> UniversalSentenceEncoder:
    model = UniversalSentenceEncoder()
    model.encode_text(["warm up"])
    return model


def sticker(root: Path, index: int, caption: str) -> StickerRecord:
    path = root / f"s{index}.png"
    image = Image.new("RGBA", (SIDE, SIDE), (0, 0, 0, 0))
    shade = (40 * index) % 256
    ImageDraw.Draw(image).ellipse((4, 4, SIDE - 4, SIDE - 4), fill=(shade, 90, 200 - shade // 2))
    image.save(path)
    return StickerRecord(f"s{index}", "pack", caption=caption, path=str(path))


def catalog(root: Path, captions: tuple[str, ...]) -> list[StickerRecord]:
    return [sticker(root, i, caption) for i, caption in enumerate(captions)]


async def test_running_engine_answers_from_a_rebuild_by_another_engine(
    tmp_path: Path, use_model: UniversalSentenceEncoder
) -> None:
    data = tmp_path / "data"
    first = catalog(tmp_path, CAPTIONS)
    writer = await Engine.open(data, text_encoder=use_model)
    await writer.build(first)
    reader = await Engine.open(data, text_encoder=use_model)
    seen: set[str] = set()
    answered = 0

    async def ask_until_new() -> None:
        nonlocal answered
        while not seen & {"s4", "s5"}:
            page = await reader.suggest("u1", "volcano")
            seen.update(item.sticker_id for item in page.items)
            answered += 1
            await asyncio.sleep(QUERY_PAUSE_S)

    try:
        asking = asyncio.create_task(ask_until_new())
        await asyncio.sleep(RELOAD_CHECK_SECONDS / 2)  # the reader is answering before the build
        old = reader.generation
        await writer.build(catalog(tmp_path, CAPTIONS + EXTRA))
        await asyncio.wait_for(asking, SWAP_TIMEOUT_S)  # re-raises any failed suggest
        assert reader.generation == writer.generation != old
        assert answered > 1
        page = await reader.suggest("u1", "volcano")
        assert page.items[0].sticker_id == "s4"
    finally:
        await reader.close()
        await writer.close()


async def test_own_build_is_not_reloaded(
    tmp_path: Path, use_model: UniversalSentenceEncoder
) -> None:
    engine = await Engine.open(tmp_path / "data", text_encoder=use_model)
    try:
        await engine.build(catalog(tmp_path, CAPTIONS))
        generation = engine.generation
        await asyncio.sleep(RELOAD_CHECK_SECONDS * 1.1)
        await engine.suggest("u1", "cat")
        assert engine._reloading is None and engine.generation == generation
    finally:
        await engine.close()


class DecodeFailsOn:
    """A decoder that breaks (not a MediaError: a bug) on one file, after decoding the rest."""

    def __init__(self, bad: str) -> None:
        self.bad = bad

    def __call__(self, path: Path) -> Image.Image:
        if path.stem == self.bad:
            raise RuntimeError("decoder bug")
        return load_sticker_image(path)


async def test_crash_during_build_leaves_the_live_index(
    tmp_path: Path, use_model: UniversalSentenceEncoder
) -> None:
    data = tmp_path / "data"
    engine = await Engine.open(data, text_encoder=use_model)
    try:
        await engine.build(catalog(tmp_path, CAPTIONS))
        generation = engine.generation
        before = (data / INDEX_DIR / "manifest.json").read_bytes()
        with pytest.raises(RuntimeError, match="decoder bug"):
            bigger = catalog(tmp_path, CAPTIONS + EXTRA)
            await engine.build(bigger, hooks=BuildHooks(decode=DecodeFailsOn("s5")))
        assert (data / INDEX_DIR / "manifest.json").read_bytes() == before
        page = await engine.suggest("u1", "volcano")
        assert {item.sticker_id for item in page.items} <= {"s0", "s1", "s2", "s3"}
    finally:
        await engine.close()
    reopened = await Engine.open(data, text_encoder=use_model)
    try:
        assert reopened.generation == generation
        assert (await reopened.suggest("u1", "cat")).items[0].sticker_id == "s0"
    finally:
        await reopened.close()


class BrokenGraph:
    """An image graph whose save fails after the text files are already staged."""

    def save(self, path: Path) -> None:
        raise OSError("disk full")


def test_crash_while_saving_leaves_no_staging_and_the_old_files(
    tmp_path: Path, use_model: UniversalSentenceEncoder
) -> None:
    encoders = Encoders(use_model, EmojiKeywords.load())
    records = catalog(tmp_path, CAPTIONS)
    folder = tmp_path / "index"
    first = build_index(records, encoders).index
    save_index(first, folder)
    before = json.loads((folder / "manifest.json").read_text())
    broken = build_index(catalog(tmp_path, CAPTIONS + EXTRA), encoders).index
    broken.image = np.zeros((len(broken), 4), np.float32)
    broken.image_dense = BrokenGraph()  # type: ignore[assignment]
    with pytest.raises(OSError, match="disk full"):
        save_index(broken, folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index", *(f"s{i}.png" for i in range(6))]
    assert json.loads((folder / "manifest.json").read_text()) == before
    assert len(load_index(folder, first.rows, encoders)) == len(CAPTIONS)
