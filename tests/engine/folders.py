"""Data folders built once per test module, for tests to copy and open."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from engine.encoders import TextEncoder
from engine.engine import Engine
from engine.types import StickerRecord


def build_folder(folder: Path, records: Sequence[StickerRecord], text_encoder: TextEncoder) -> int:
    """Index `records` into the data folder `folder`; how many were indexed."""

    async def build() -> int:
        engine = await Engine.open(folder, text_encoder=text_encoder)
        try:
            return (await engine.build(list(records))).indexed
        finally:
            await engine.close()

    # A thread of its own: asyncio.run must not touch the event loops of the async tests.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, build()).result()
