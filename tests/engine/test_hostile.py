"""Any text a client can send, as a query, typed words, a message answered or a user id: the
engine answers or refuses with its own one-line error, and stores what it accepted as given,
but for the characters no database holds (engine.safe_text).

Hypothesis draws the texts from all of Unicode, lone surrogates and NUL included (JSON can carry
both), around the 256-character limit of an inline query.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.encoders import TextEncoder
from engine.engine import Engine
from engine.errors import StickerbotError
from engine.protocol import MAX_QUERY_CHARS
from engine.safe_text import UNSTORABLE, storable
from engine.types import Event

T = TypeVar("T")
STICKER_IDS = {"flat", "soft"}  # conftest.TWO_STICKERS
LONE_SURROGATE, NUL, RIGHT_TO_LEFT = "\ud83d", "\x00", "\u202e"
ANY_CHARACTER = st.characters(codec=None, categories=None)  # surrogates and controls too
texts = st.text(ANY_CHARACTER, max_size=MAX_QUERY_CHARS + 8)
EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Served:
    """An engine on its own event loop thread, so that Hypothesis may call it synchronously."""

    def __init__(self, engine: Engine, loop: asyncio.AbstractEventLoop) -> None:
        self.engine = engine
        self._loop = loop

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=60)


@pytest.fixture(scope="module")
def served(
    two_sticker_folder: Path, memo_encoder: TextEncoder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("hostile") / "data"
    shutil.copytree(two_sticker_folder, data)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    opened = asyncio.run_coroutine_threadsafe(
        Engine.open(data, text_encoder=memo_encoder), loop
    ).result()
    try:
        yield Served(opened, loop)
    finally:
        asyncio.run_coroutine_threadsafe(opened.close(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()


@EXAMPLES
@given(user=texts, text=texts, context=st.lists(texts, max_size=3))
@example(user="1", text=f"cat {LONE_SURROGATE}", context=[NUL])
@example(user="1", text="", context=[f"{RIGHT_TO_LEFT}pizza{NUL}"])
@example(user="1", text="x" * (MAX_QUERY_CHARS + 1), context=[])
@example(user=LONE_SURROGATE, text="cat", context=[])
def test_any_query_is_answered_or_refused_in_one_line(
    served: Served, user: str, text: str, context: list[str]
) -> None:
    try:
        page = served.run(served.engine.suggest(user, text, context=context))
    except StickerbotError as refused:
        assert len(text) > MAX_QUERY_CHARS or UNSTORABLE.search(user)
        assert "\n" not in str(refused)
        return
    assert len(text) <= MAX_QUERY_CHARS
    assert not UNSTORABLE.search(user)
    assert {item.sticker_id for item in page.items} <= STICKER_IDS
    assert all("\n" not in item.reason for item in page.items)


@EXAMPLES
@given(user=texts, query=texts, context=texts, sticker=st.sampled_from(sorted(STICKER_IDS)))
@example(user="1", query=f"cat {LONE_SURROGATE}", context=f"a{NUL}b", sticker="flat")
@example(user=f"2{NUL}", query="cat", context="", sticker="flat")
def test_any_typed_words_are_stored_as_given(
    served: Served, user: str, query: str, context: str, sticker: str
) -> None:
    engine = served.engine
    pick = Event("pick", sticker, ts=1.0, query=query, context=context)
    if UNSTORABLE.search(user):
        with pytest.raises(StickerbotError, match="user ids are plain text"):
            served.run(engine.observe(user, pick))
        return
    before = served.run(engine.export_user(user))["events"]

    served.run(engine.observe(user, pick))

    stored = served.run(engine.export_user(user))["events"]
    assert stored[:-1] == before
    assert (stored[-1]["query"], stored[-1]["context"]) == (storable(query), storable(context))


def test_a_sticker_id_that_is_not_text_is_refused_in_one_line(served: Served) -> None:
    with pytest.raises(StickerbotError, match="not in the catalog") as refused:
        served.run(served.engine.observe("1", Event("send", LONE_SURROGATE, ts=1.0)))
    assert str(refused.value).encode()  # shown to a user, so it must encode
