"""Shared fixtures of the engine tests: one loaded text model and drawn art per test module."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from engine.emoji import EmojiKeywords
from engine.encoders import TextEncoder, UniversalSentenceEncoder
from engine.index import Encoders
from engine.types import StickerRecord
from tests.bot.art import PALETTE, TURN, draw_flat, draw_soft
from tests.engine.folders import build_folder
from tests.postgres import PostgresServer

ART_SIDE = 96  # the engine reads a 64 px copy; small drawings keep the tests fast
DRAWERS = {"flat": draw_flat, "soft": draw_soft}
# The smallest catalog worth serving: (sticker id and style, shape, caption, emoji).
TWO_STICKERS = [("flat", 0, "a sleepy cat", "😴"), ("soft", 1, "a slice of pizza", "🍕")]

# (style, shape, shift) -> a PNG file of that drawing; shift varies colour and angle.
PngMaker = Callable[[str, int, int], Path]


@pytest.fixture(scope="module")
def encoder() -> UniversalSentenceEncoder:
    """The real multilingual text model, loaded once per module (loading is the slow part)."""
    model = UniversalSentenceEncoder()
    model.encode_text(["warm up"])
    return model


class MemoEncoder:
    """The real text model, remembering what it encoded: tests type the same queries many
    times, and each encoding costs the model a fifth of a second on a shared core."""

    name = UniversalSentenceEncoder.name
    dim = UniversalSentenceEncoder.dim

    def __init__(self, model: UniversalSentenceEncoder) -> None:
        self._model = model
        self._memo: dict[str, np.ndarray] = {}

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            self._memo.update(zip(missing, self._model.encode_text(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self._memo[t] for t in texts])


@pytest.fixture(scope="module")
def memo_encoder(encoder: UniversalSentenceEncoder) -> MemoEncoder:
    return MemoEncoder(encoder)


@pytest.fixture(scope="module")
def encoders(memo_encoder: MemoEncoder) -> Encoders:
    return Encoders(text=memo_encoder, emoji=EmojiKeywords.load())


@pytest.fixture(scope="module")
def png(tmp_path_factory: pytest.TempPathFactory) -> PngMaker:
    """Draws (once) a sticker in the 'flat' or 'soft' style and returns its PNG file."""
    root = tmp_path_factory.mktemp("art")
    made: dict[tuple[str, int, int], Path] = {}

    def make(style: str, shape: int, shift: int = 0) -> Path:
        key = (style, shape, shift)
        if key not in made:
            path = root / f"{style}_{shape}_{shift}.png"
            colour = PALETTE[(shape + shift) % len(PALETTE)]
            DRAWERS[style](shape % 6, TURN * (shape + shift), colour, ART_SIDE).save(path)
            made[key] = path
        return made[key]

    return make


@pytest.fixture(scope="module")
def two_sticker_folder(
    png: PngMaker, memo_encoder: TextEncoder, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A data folder whose index holds TWO_STICKERS (sticker ids "flat" and "soft"), to copy."""
    folder = tmp_path_factory.mktemp("two-stickers") / "data"
    records = [
        StickerRecord(
            style, f"{style}_pack", emoji=emoji, caption=caption, path=str(png(style, shape, 0))
        )
        for style, shape, caption, emoji in TWO_STICKERS
    ]

    assert build_folder(folder, records, memo_encoder) == len(records)
    return folder


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole run (installed if the machine has none)."""
    server = PostgresServer.start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database of the test server, named after the test."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    return postgres_server.create_database(f"{name}_{next(_DATABASE_NUMBERS)}")


_DATABASE_NUMBERS = itertools.count()
