"""Live additions made while one is indexed are indexed together, and each caller hears of
its own."""

from __future__ import annotations

import asyncio

import pytest

from engine.growth_batch import GrowthBatches
from engine.types import StickerRecord


def _pack(name: str, size: int) -> list[StickerRecord]:
    return [StickerRecord(f"{name}{i}", name) for i in range(size)]


class Catalog:
    """A grow function over a set of ids: what it was asked to add, each time."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.known: set[str] = set()
        self.runs: list[list[str]] = []
        self.fail_on = fail_on
        self.release = asyncio.Event()
        self.release.set()
        self.started = asyncio.Event()  # set when a growth begins

    async def grow(self, records: list[StickerRecord]) -> list[StickerRecord]:
        self.runs.append([r.sticker_id for r in records])
        self.started.set()
        await self.release.wait()
        if self.fail_on and any(r.set_name == self.fail_on for r in records):
            raise OSError("disk full")
        added = [r for r in records if r.sticker_id not in self.known]
        self.known |= {r.sticker_id for r in added}
        return added


async def test_calls_made_while_a_growth_runs_are_grown_together() -> None:
    catalog = Catalog()
    batches = GrowthBatches(asyncio.Lock(), catalog.grow)
    catalog.release.clear()
    first = asyncio.create_task(batches.add(_pack("a", 2)))
    await asyncio.sleep(0)  # the first growth is running
    waiting = [asyncio.create_task(batches.add(_pack(name, 3))) for name in "bcd"]
    again = asyncio.create_task(batches.add(_pack("a", 2)))  # already being added
    await asyncio.sleep(0)
    catalog.release.set()
    assert await first == 2
    assert [await task for task in waiting] == [3, 3, 3]
    assert await again == 0
    assert len(catalog.runs) == 2  # not five
    expected = [f"{n}{i}" for n in "bcd" for i in range(3)] + ["a0", "a1"]
    assert sorted(catalog.runs[1]) == sorted(expected)


async def test_a_failed_growth_fails_every_call_of_its_batch_and_no_later_one() -> None:
    catalog = Catalog(fail_on="bad")
    batches = GrowthBatches(asyncio.Lock(), catalog.grow)
    catalog.release.clear()
    first = asyncio.create_task(batches.add(_pack("a", 1)))
    await asyncio.sleep(0)
    both = [asyncio.create_task(batches.add(_pack(name, 1))) for name in ("bad", "b")]
    await asyncio.sleep(0)
    catalog.release.set()
    assert await first == 1
    for task in both:
        with pytest.raises(OSError, match="disk full"):
            await task
    assert await batches.add(_pack("b", 1)) == 1  # the next batch starts afresh


async def test_a_cancelled_growth_is_run_by_another_caller_of_its_batch() -> None:
    catalog = Catalog()
    lock = asyncio.Lock()
    batches = GrowthBatches(lock, catalog.grow)
    await lock.acquire()  # a build, say: both calls join one batch while it holds the lock
    pair = [asyncio.create_task(batches.add(_pack(name, 1))) for name in "bc"]
    await asyncio.sleep(0)
    catalog.release.clear()
    lock.release()
    await catalog.started.wait()  # b's call takes the lock and starts growing
    pair[0].cancel()
    with pytest.raises(asyncio.CancelledError):
        await pair[0]
    catalog.release.set()
    assert await pair[1] == 1  # c's call grew the batch again
    assert catalog.runs == [["b0", "c0"], ["b0", "c0"]]
    assert catalog.known == {"b0", "c0"}
