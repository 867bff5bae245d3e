"""The crowd follows the stored events: each counted once, whoever wrote it and whatever order
the news of it arrives in. Two SQLite stores on one file stand in for two replicas here; the
PostgreSQL announcements themselves are tested in test_pg_store.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest

from engine.crowd import Crowd
from engine.crowd_sync import CrowdSync
from engine.encoders import TextEncoder
from engine.storage import UserChange
from engine.store import Store
from engine.types import Event, StoredEvent

HEARD_WITHIN = 10.0


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[Store, Store]]:
    """This replica's store and another replica's, on one database."""
    mine, theirs = await Store.open(tmp_path / "state.db"), await Store.open(tmp_path / "state.db")
    yield mine, theirs
    await asyncio.gather(mine.close(), theirs.close())


async def _counted_afresh(store: Store, memo_encoder: TextEncoder) -> Crowd:
    """A crowd counted from scratch from what is stored now: what a restart would see."""
    fresh = Crowd(memo_encoder)
    fresh.add_many(
        [(s.user_id, s.event.kind, s.event.sticker_id, s.event.query) async for s in store.events()]
    )
    return fresh


async def _until_used(crowd: Crowd, sticker: str) -> None:
    deadline = asyncio.get_running_loop().time() + HEARD_WITHIN
    while sticker not in crowd.usage:
        assert asyncio.get_running_loop().time() < deadline, f"{sticker} was never counted"
        await asyncio.sleep(0.02)


async def test_news_of_an_event_a_recount_already_read_does_not_count_it_twice(
    stores: tuple[Store, Store], memo_encoder: TextEncoder
) -> None:
    mine, theirs = stores
    await mine.record("carl", Event("send", "s1", 1.0), None)
    crowd = Crowd(memo_encoder)
    sync = CrowdSync(mine, crowd)
    await sync.load()
    try:
        theirs_first = await theirs.record("ann", Event("pick", "s1", 2.0, query="hi"), None)
        # carl is forgotten here before the news of ann's pick arrives: the recount reads it
        await sync.delete("carl", partial(mine.forget_user, "carl"))
        sync.hear(UserChange("ann", event_id=theirs_first))  # the late news
        theirs_next = await theirs.record("bob", Event("send", "s2", 3.0), None)
        sync.hear(UserChange("bob", event_id=theirs_next))
        await _until_used(crowd, "s2")  # news is applied in order: ann's came before
        fresh = await _counted_afresh(mine, memo_encoder)
        assert crowd.utilities(["s1", "s2"]).tolist() == fresh.utilities(["s1", "s2"]).tolist()
        assert crowd.exact_query("hi") == fresh.exact_query("hi") == {"s1": 1}
        assert crowd.used_by("carl") == []
    finally:
        await sync.close()


async def test_news_of_events_in_the_first_count_does_not_count_them_again(
    stores: tuple[Store, Store], memo_encoder: TextEncoder
) -> None:
    mine, theirs = stores
    crowd = Crowd(memo_encoder)
    sync = CrowdSync(mine, crowd)
    early = await theirs.record("ann", Event("send", "s1", 1.0), None)
    sync.hear(UserChange("ann", event_id=early))  # heard while the replica was starting
    late = await theirs.record("cy", Event("pick", "s1", 1.5, query="hi"), None)
    await sync.load()
    sync.hear(UserChange("cy", event_id=late))  # arrives after the count that read it
    try:
        later = await theirs.record("bob", Event("send", "s2", 2.0), None)
        sync.hear(UserChange("bob", event_id=later))
        await _until_used(crowd, "s2")
        fresh = await _counted_afresh(mine, memo_encoder)
        assert crowd.utilities(["s1", "s2"]).tolist() == fresh.utilities(["s1", "s2"]).tolist()
    finally:
        await sync.close()


class _DriverLikeStore(Store):
    """A store whose next read, once `stall` is set, waits until cancelled and then fails with
    an error of its own, as psycopg may when a cancel lands mid-query."""

    stall = False

    async def events(self) -> AsyncIterator[StoredEvent]:  # type: ignore[override]
        if self.stall:
            self.stall = False
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                raise ConnectionError("server closed the connection") from None
        async for stored in super().events():
            yield stored


async def test_closing_stops_a_recount_whose_cancel_came_out_as_a_driver_error(
    tmp_path: Path, memo_encoder: TextEncoder
) -> None:
    store = await _DriverLikeStore.open(tmp_path / "state.db")
    sync = CrowdSync(store, Crowd(memo_encoder))
    try:
        await sync.load()
        store.stall = True
        sync.hear(UserChange(None))  # the worker starts a recount, which stalls
        await asyncio.sleep(0.05)
        # Without the check, the worker took the driver's error for an outage, slept and
        # waited for the next announcement: close() never returned.
        await asyncio.wait_for(sync.close(), timeout=HEARD_WITHIN)
    finally:
        await store.close()
