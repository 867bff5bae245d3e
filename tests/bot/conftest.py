"""A real Application wired to a fake engine and a recording Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_application
from bot.config import Settings
from tests.bot.fakes import FakeEngine, RecordingRequest
from tests.bot.harness import Harness, make_settings, records


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    engine = FakeEngine(records(3))
    api = RecordingRequest()

    async def factory(settings: Settings) -> FakeEngine:
        return engine

    app = build_application(make_settings(tmp_path), factory, request=api)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    await app.start()
    yield Harness(app, engine, api)
    await app.stop()
    assert app.post_shutdown is not None
    await app.post_shutdown(app)
    await app.shutdown()
    assert engine.closed
