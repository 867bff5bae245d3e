"""The benchmark protocol of FORMAT.md, run through the engine's public methods.

1. build the index from catalog.jsonl; 2. replay history.jsonl through `observe` (the path the
bot takes for sends and picks); 3. answer queries.jsonl through `suggest` (the inline path),
keeping the first 50 results. Then, beyond FORMAT.md, each query is answered again as it reads
half-typed (its last word cut short), since Telegram asks a bot on nearly every keystroke.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple, Protocol

from engine.bench.metrics import words_key
from engine.catalog import (
    HistoryRow,
    QueryRow,
    read_catalog,
    read_history,
    read_judged_queries,
    read_queries,
)
from engine.completion import PREFIX_MIN
from engine.engine import limit_blas_threads
from engine.errors import CatalogError, StickerbotError
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
    # The rankings for the queries answered half-typed (see `typed_so_far`), by qid.
    typing: dict[str, list[str]] = field(default_factory=dict)


NEEDS = "a benchmark needs at least one (FORMAT.md)"
# A half-typed query shows this share of its last word's letters (at least PREFIX_MIN).
TYPED_SHARE = 0.6


async def run_protocol(ranker: Ranker, dataset: Path) -> RunResult:
    result = RunResult(ranker.name, {})
    catalog = read_catalog(dataset)
    if not catalog:
        raise CatalogError(str(dataset / "catalog.jsonl"), 0, "file", f"holds no stickers; {NEEDS}")
    await _timed(result, "build", ranker.build(catalog))
    # Events and queries are served as `serve` serves them, with one BLAS thread: with two, the
    # text encoder's small products waited on each other now and then (answer p99 on emoji-dev
    # 18.5 ms, 3.5 ms with one thread).
    with limit_blas_threads():
        await _timed(result, "replay", _replay(ranker, dataset, result))
        queries = list(read_queries(dataset))  # answered twice: whole, then half-typed
        await _timed(result, "answer", _answer(ranker, queries, result))
        await _timed(result, "typing", _answer_typing(ranker, queries, result))
    return result


def typed_so_far(text: str) -> str | None:
    """`text` as it reads while its last word is being typed: the word's first TYPED_SHARE
    of letters, at least PREFIX_MIN. None when the word is too short to be cut."""
    words = text.split()
    if not words:
        return None
    last = words[-1]
    shown = max(PREFIX_MIN, math.ceil(TYPED_SHARE * len(last)))
    if shown >= len(last):
        return None
    return text[: text.rindex(last) + shown]


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


async def _answer(ranker: Ranker, queries: list[QueryRow], result: RunResult) -> None:
    for query in queries:
        start = time.perf_counter()
        ranking = await ranker.answer(query)
        result.answer_ms.append((time.perf_counter() - start) * 1000)
        result.rankings[query.qid] = ranking[:MAX_PAGE]


async def _answer_typing(ranker: Ranker, queries: list[QueryRow], result: RunResult) -> None:
    for query in queries:
        text = typed_so_far(query.text)
        if text is not None:
            ranking = await ranker.answer(replace(query, text=text))
            result.typing[query.qid] = ranking[:MAX_PAGE]


def write_run(rankings: dict[str, list[str]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for qid, ranking in rankings.items():
            out.write(json.dumps({"qid": qid, "ranking": ranking}) + "\n")


class Judged(NamedTuple):
    """What scoring reads besides the run: never shown to a system under test."""

    queries: list[dict]  # with their judgements
    warm: set[str]  # users with history
    picked_after: dict[str, set[str]]  # metrics.words_key of a query -> stickers picked after it


def load_judged(dataset: Path) -> Judged:
    """The queries and what the history says about them, the history read once."""
    queries = read_judged_queries(dataset)
    if not queries:
        raise CatalogError(str(dataset / "queries.jsonl"), 0, "file", f"holds no queries; {NEEDS}")
    warm: set[str] = set()
    picked: dict[str, set[str]] = {}
    for row in read_history(dataset):
        warm.add(row.user_id)
        if row.event.kind == "pick" and row.event.query:
            picked.setdefault(words_key(row.event.query), set()).add(row.event.sticker_id)
    return Judged(queries, warm, picked)


EngineFactory = Callable[[], Awaitable[object]]
