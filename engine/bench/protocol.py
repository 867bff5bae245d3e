"""The benchmark protocol of FORMAT.md, run through the engine's public methods.

1. build the index from catalog.jsonl; 2. replay history.jsonl through `observe` (the path the
bot takes for sends and picks); 3. answer queries.jsonl through `suggest` (the inline path),
keeping the first 50 results.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from engine.catalog import HistoryRow, QueryRow, read_catalog, read_history, read_queries
from engine.errors import StickerbotError
from engine.protocol import MAX_PAGE
from engine.types import StickerRecord


class Ranker(Protocol):
    """Anything the protocol can drive: the engine, or a peer baseline."""

    name: str

    async def build(self, records: list[StickerRecord]) -> None: ...

    async def replay(self, row: HistoryRow) -> None: ...

    async def answer(self, query: QueryRow) -> list[str]: ...


@dataclass
class RunResult:
    name: str
    rankings: dict[str, list[str]]
    seconds: dict[str, float] = field(default_factory=dict)
    skipped_events: int = 0
    answer_ms: list[float] = field(default_factory=list)


async def run_protocol(ranker: Ranker, dataset: Path) -> RunResult:
    result = RunResult(ranker.name, {})
    await _timed(result, "build", ranker.build(read_catalog(dataset)))
    await _timed(result, "replay", _replay(ranker, dataset, result))
    await _timed(result, "answer", _answer(ranker, dataset, result))
    return result


async def _timed(result: RunResult, step: str, work: Awaitable[None]) -> None:
    start = time.perf_counter()
    await work
    result.seconds[step] = round(time.perf_counter() - start, 2)


async def _replay(ranker: Ranker, dataset: Path, result: RunResult) -> None:
    for row in read_history(dataset):
        try:
            await ranker.replay(row)
        except StickerbotError:
            result.skipped_events += 1  # e.g. a sticker whose image could not be indexed


async def _answer(ranker: Ranker, dataset: Path, result: RunResult) -> None:
    for query in read_queries(dataset):
        start = time.perf_counter()
        ranking = await ranker.answer(query)
        result.answer_ms.append((time.perf_counter() - start) * 1000)
        result.rankings[query.qid] = ranking[:MAX_PAGE]


def write_run(rankings: dict[str, list[str]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for qid, ranking in rankings.items():
            out.write(json.dumps({"qid": qid, "ranking": ranking}) + "\n")


def load_judged(dataset: Path) -> tuple[list[dict], set[str]]:
    """Queries with their judgements and the users with history: for scoring only."""
    with (dataset / "queries.jsonl").open(encoding="utf-8") as lines:
        queries = [json.loads(line) for line in lines if line.strip()]
    warm = {row.user_id for row in read_history(dataset)}
    return queries, warm


EngineFactory = Callable[[], Awaitable[object]]
