"""Scale benchmark: how fast and how big the engine is on a catalog of PerSRV's size.

A synthetic catalog (engine.bench.synthetic: no image, text and style drawn from the bundled
CLDR emoji keywords, packs of 30-120 stickers) is indexed by the engine's own index steps
(image decoding is the one step bypassed) and saved with the stickers in a data folder. A
fresh process opens that folder as `stickerbot serve` does, replays a history of users
through `Engine.observe`, and times `Engine.suggest` end to end and stage by stage (the recall
and rank functions are called directly for the split).

Two modes, always named in the results:
- `use`: meanings and queries are embedded with the engine's text encoder (USE, ~2,500
  documents/s, so 543k stickers take minutes);
- `fake-vectors`: a hash-seeded encoder draws clustered unit vectors instead. It measures the
  index, recall and ranking cost only: the text-encoding figures are not the real model's.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from engine.bench.machine_speed import reference_ms
from engine.bench.query_costs import Counters, QueryCost, format_costs, summarise_costs
from engine.bench.runner import machine, percentile, versions
from engine.bench.synthetic import (
    FakeTextEncoder,
    Query,
    Vocabulary,
    generate_catalog,
    generate_history,
    generate_queries,
    growth_pack,
)
from engine.build import index_records
from engine.cores import off_encoder_core
from engine.dense import HNSW_M
from engine.encoders import TextEncoder, UniversalSentenceEncoder
from engine.engine import Engine, limit_blas_threads
from engine.index import CatalogIndex, Encoders
from engine.index_files import save_index
from engine.profile import Profile
from engine.protocol import MAX_PAGE
from engine.types import Event

MODE_FAKE, MODE_USE = "fake-vectors", "use"
PERSRV_POOL = 543_098  # stickers in PerSRV's pool, the size the product must serve
TARGET_P99_MS, TARGET_RSS_MB = 8.0, 1536.0  # the product's goal on two cores
MB = 1024 * 1024
WARMUP_QUERIES = 20  # first queries fill caches and are not timed


@dataclass
class ScaleConfig:
    stickers: int = 50_000
    queries: int = 1_000
    users: int = 300
    fake_vectors: bool = False
    seed: int = 7


@dataclass
class BuildLog:
    """Seconds and resident-memory growth of each build step, in order."""

    steps: dict[str, dict[str, float]] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        rss, start = current_rss(), time.perf_counter()
        yield
        self.steps[name] = {
            "seconds": round(time.perf_counter() - start, 3),
            "rss_delta_mb": round((current_rss() - rss) / MB, 1),
        }


# -- memory -----------------------------------------------------------------------------------


def current_rss() -> int:
    """Resident bytes now (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    """Peak resident bytes of this process. Linux's VmHWM first: ru_maxrss carries over the
    peak of the process a spawned one was forked from (it is in KiB on Linux)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    kib = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return int(kib) * 1024


def hnsw_bytes(count: int, dim: int, m: int = HNSW_M) -> int:
    """hnswlib's resident size: per element the vector, 2M level-0 links, a label and its
    bookkeeping; about 1/M of elements also hold M links per upper level."""
    level0 = dim * 4 + 2 * m * 4 + 4 + 8
    upper = (m * 4 + 4) * count / max(1, m - 1)
    bookkeeping = 40 + 48  # a per-element mutex and a label hash-map node (glibc, libstdc++)
    return int(count * (level0 + bookkeeping) + upper)


# -- index ------------------------------------------------------------------------------------


def structure_sizes(index: CatalogIndex) -> dict[str, int]:
    """Bytes of each array the index keeps in memory; hnswlib's from its layout (it is not
    numpy). Memory-mapped arrays (read from disk only when needed) are listed as `mapped_*`."""
    sizes = {}
    for name in ("text", "style_raw", "pack_vectors", "pack_of_row", "trust"):
        array = getattr(index, name)
        sizes[_held_as(name, array)] = int(array.nbytes)
    tables = (index.neighbour_rows, index.neighbour_sims)
    sizes[_held_as("neighbours", *tables)] = sum(int(table.nbytes) for table in tables)
    sizes["dense_hnsw_estimate"] = hnsw_bytes(len(index.dense), index.dense.dim)
    for name, field_index in index.fields.items():
        sizes[f"bm25_{name}_arrays"] = field_index.nbytes
    return sizes


def _held_as(name: str, *arrays: np.ndarray) -> str:
    """`name`, as `mapped_name` when every one of `arrays` is memory-mapped."""
    return f"mapped_{name}" if all(isinstance(a, np.memmap) for a in arrays) else name


# -- timing -----------------------------------------------------------------------------------


def summarise(samples: Sequence[float], scale: float = 1000.0) -> dict[str, float]:
    """Nearest-rank p50/p95/p99, mean and max of `samples` times `scale` (seconds -> ms)."""
    ms = [s * scale for s in samples]
    if not ms:
        return {"count": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "mean": 0.0, "max": 0.0}
    stats = {f"p{q}": percentile(ms, q) for q in (50, 95, 99)}
    stats |= {"mean": sum(ms) / len(ms), "max": max(ms)}
    return {"count": len(ms), **{k: round(v, 3) for k, v in stats.items()}}


class Stopwatch:
    """Per-step samples in seconds: wall clock, and this process's CPU time, which other
    workers on a shared machine cannot inflate (queries run on one thread at a time).
    `step` is an engine.timing.StepTimer."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start, cpu = time.perf_counter(), time.process_time()
        yield
        self.cpu.setdefault(name, []).append(time.process_time() - cpu)
        self.samples.setdefault(name, []).append(time.perf_counter() - start)


def time_stages(engine: Engine, query: Query, profile: Profile, watch: Stopwatch) -> int:
    """The query once more through the engine's own ranking path, each step timed; returns
    how many candidates it ranked. The user's languages are the ones their picks taught (no
    one here sets any)."""
    # The words are encoded afresh, as a first query with them pays for. The engine's cache of
    # query vectors then holds this query's only, so suggest is timed without a cached vector
    # for a query repeating older words too (8 of the 455 timed ones with words, by default).
    engine._embed_query.cache_clear()
    index = engine._index
    languages = engine._languages.of_user(None, profile.languages, None)
    depth = MAX_PAGE + 1  # as deep as a first page, as Engine.suggest ranks it
    engine._ranked(index, query.text, [], profile, True, depth, languages, timer=watch.step)
    return len(engine._candidates(index, query.text, [], profile, languages))


# -- the run ----------------------------------------------------------------------------------


@dataclass
class Workload:
    """What the serving process replays and asks, made where the catalog was generated."""

    history: list[tuple[str, Event]]
    queries: list[Query]


async def run_scale(
    config: ScaleConfig, on_status: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Generate and build in this process, then replay and time in a fresh one that opens the
    data folder as `stickerbot serve` does; the results as a JSON-able dict.

    Serving is measured in its own process because a build leaves memory behind: Python keeps
    the arenas its freed objects lived in, so a process that built 543,098 stickers stays about
    as large whatever serving itself holds."""
    say = on_status or (lambda _: None)
    started_load = os.getloadavg()
    log = BuildLog()
    with tempfile.TemporaryDirectory(prefix="stickerbot-scale-") as folder:
        say(f"generating {config.stickers} stickers")
        workload = await _generate_and_build(Path(folder), config, log, say)
        build_peak = peak_rss()
        say(f"replaying {config.users} users and timing {config.queries} queries, served afresh")
        context = multiprocessing.get_context("spawn")  # nothing inherited from the build
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            served = await asyncio.get_running_loop().run_in_executor(
                pool, serve_and_time, Path(folder), config, workload
            )
    return {
        "mode": MODE_FAKE if config.fake_vectors else MODE_USE,
        "text_model": served.pop("text_model"),
        "stickers": served.pop("stickers"),
        "packs": served.pop("packs"),
        "queries": config.queries,
        "users": config.users,
        # When, where and with what it ran: rows of different days compare only roughly.
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "load_start": started_load, "load_end": os.getloadavg()},
        "versions": versions(),
        "build": log.steps,
        "build_seconds": round(sum(s["seconds"] for s in log.steps.values()), 1),
        "build_peak_rss_mb": round(build_peak / MB, 1),
        **served,
        "target": {"p99_ms": TARGET_P99_MS, "rss_mb": TARGET_RSS_MB, "stickers": PERSRV_POOL},
    }


def _text_encoder(config: ScaleConfig) -> TextEncoder:
    return FakeTextEncoder(config.seed) if config.fake_vectors else UniversalSentenceEncoder()


async def _generate_and_build(
    data: Path, config: ScaleConfig, log: BuildLog, say: Callable[[str], None]
) -> Workload:
    """A data folder `stickerbot serve` can open (the stickers in its store, the index beside
    them), and the workload to time on it."""
    engine = await Engine.open(data, text_encoder=_text_encoder(config))
    try:
        encoders: Encoders = engine._encoders
        vocab = Vocabulary(encoders.emoji)
        with log.step("generate"):
            catalog = generate_catalog(config.stickers, vocab, config.seed)
        say(f"building the index ({MODE_FAKE if config.fake_vectors else MODE_USE})")
        built = index_records(catalog.records, catalog.style_raw, encoders, timer=log.step)
        # The engine has no public call that adopts an index built outside `build` (which
        # decodes images): the bench stores the stickers and saves the index as `build` does.
        with log.step("save"):
            await engine._store.upsert_stickers(catalog.records)
            save_index(built, engine._index_dir)
        history = generate_history(catalog, vocab, config.users, config.seed)
        queries = generate_queries(
            vocab, config.queries + WARMUP_QUERIES, config.users, config.seed
        )
    finally:
        await engine.close()
    return Workload(history, queries)


def serve_and_time(data: Path, config: ScaleConfig, workload: Workload) -> dict[str, Any]:
    """The serving half of the run, in a process of its own (see run_scale)."""
    return asyncio.run(_serve_and_time(data, config, workload))


async def _serve_and_time(data: Path, config: ScaleConfig, workload: Workload) -> dict[str, Any]:
    limit_blas_threads()  # as `serve` runs
    engine = await Engine.open(data, text_encoder=_text_encoder(config))
    try:
        await engine.warm_up()  # as `serve` does before its first update
        speed_start = _machine_speed()
        observe = await _replay(engine, workload.history)
        latency = await _time_queries(engine, workload.queries)
        speed_end = _machine_speed()
        index = engine._index
        served = {
            "text_model": engine._encoders.text.name,
            "stickers": len(index),
            "packs": len(index.set_rows),
            "memory": _memory(index),  # before the growth below
            "observe_ms": observe,
            **latency,
            # The machine's speed that hour, before and after the timed work (see
            # engine.bench.machine_speed): compare runs of different hours by it.
            "reference_ms": {"start": speed_start, "end": speed_end},
        }
        del index  # the growth replaces it
        served["growth"] = await _time_growth(engine, data / "grown-pack", config.seed)
        return served
    finally:
        await engine.close()


async def _time_growth(engine: Engine, folder: Path, seed: int) -> dict[str, float]:
    """One pack added live, as the bot adds a pack it has not seen: how long it took, and the
    memory resident after it and at this process's peak (reached by the growth)."""
    records = growth_pack(Vocabulary(engine._encoders.emoji), folder, seed)
    start = time.perf_counter()
    added = await engine.add_stickers(records)
    return {
        "stickers": added,
        "seconds": round(time.perf_counter() - start, 2),
        "rss_after_mb": round(current_rss() / MB, 1),
        "peak_rss_mb": round(peak_rss() / MB, 1),
    }


def _machine_speed() -> float:
    with off_encoder_core():  # where queries run
        return reference_ms()


async def _replay(engine: Engine, history: list[tuple[str, Event]]) -> dict[str, Any]:
    """History through Engine.observe (SQLite write, profile update, crowd); timed per event."""
    samples = []
    for user_id, event in history:
        start = time.perf_counter()
        await engine.observe(user_id, event)
        samples.append(time.perf_counter() - start)
    return {"events": len(history), **summarise(samples)}


async def _time_queries(engine: Engine, queries: list[Query]) -> dict[str, Any]:
    total, stages, candidates, costs = Stopwatch(), Stopwatch(), [], []
    for i, query in enumerate(queries):
        timed = i >= WARMUP_QUERIES
        counters, wall, cpu = Counters.now(), time.perf_counter(), time.process_time()
        await engine.suggest(query.user_id, query.text)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        counters = Counters.now() - counters
        profile = await engine._profile(query.user_id)
        watch = stages if timed else Stopwatch()
        found = time_stages(engine, query, profile, watch)
        if timed:
            for kind in ("all", query.kind):
                total.samples.setdefault(kind, []).append(wall)
                total.cpu.setdefault(kind, []).append(cpu)
            candidates.append(found)
            costs.append(QueryCost(query.kind, wall * 1000, cpu * 1000, counters))
    return {
        "suggest_ms": _summaries(total.samples),
        "suggest_cpu_ms": _summaries(total.cpu),
        "stages_ms": _summaries(stages.samples),
        "stages_cpu_ms": _summaries(stages.cpu),
        "candidates": summarise(candidates, scale=1.0),
        "query_costs": summarise_costs(costs),
    }


def _summaries(samples: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {name: summarise(values) for name, values in samples.items()}


def _memory(index: CatalogIndex) -> dict[str, Any]:
    sizes = structure_sizes(index)
    return {
        "peak_rss_mb": round(peak_rss() / MB, 1),
        "rss_mb": round(current_rss() / MB, 1),
        "structures_mb": {name: round(size / MB, 1) for name, size in sizes.items()},
    }


# -- report -----------------------------------------------------------------------------------


def format_table(results: dict[str, Any]) -> str:
    """A plain-text table of the run: latency per stage, build steps and memory."""
    head = (
        f"{results['stickers']:,} stickers ({results['mode']}, {results['text_model']}), "
        f"{results['queries']} queries, {results['users']} users; load "
        f"{_load(results['machine']['load_start'])} -> {_load(results['machine']['load_end'])}"
    )
    speed = results["reference_ms"]
    head += (
        f"\nthe machine's reference workload (engine/bench/machine_speed.py): "
        f"{speed['start']:.3f} ms before the timed work, {speed['end']:.3f} ms after"
    )
    lines = [head, "", f"{'wall ms':<24}{'p50':>9}{'p95':>9}{'p99':>9}{'mean':>9}{'n':>7}"]
    lines += _latency_rows(results["suggest_ms"], results["stages_ms"])
    lines += ["", f"{'CPU ms':<24}{'p50':>9}{'p95':>9}{'p99':>9}{'mean':>9}{'n':>7}"]
    lines += _latency_rows(results["suggest_cpu_ms"], results["stages_cpu_ms"])
    lines.append("")
    lines.append(_latency_row("observe", results["observe_ms"]))
    cands = results["candidates"]
    lines.append(_latency_row("candidates/query", cands))
    lines += ["", *format_costs(results["query_costs"])]
    lines += ["", f"{'build step':<24}{'seconds':>9}{'RSS +MB':>9}"]
    for name, step in results["build"].items():
        lines.append(f"{name:<24}{step['seconds']:>9.1f}{step['rss_delta_mb']:>9.1f}")
    memory = results["memory"]
    lines += [
        "",
        f"build: peak RSS {results['build_peak_rss_mb']:.0f} MB",
        f"serving (a fresh process): peak RSS {memory['peak_rss_mb']:.0f} MB, "
        f"now {memory['rss_mb']:.0f} MB",
    ]
    lines += [f"  {name:<22}{size:>9.1f} MB" for name, size in memory["structures_mb"].items()]
    growth = results["growth"]
    lines += [
        "",
        f"live growth: {growth['stickers']:.0f} stickers in {growth['seconds']:.1f} s; "
        f"resident after {growth['rss_after_mb']:.0f} MB, peak {growth['peak_rss_mb']:.0f} MB",
    ]
    return "\n".join(lines)


def _latency_rows(
    totals: dict[str, dict[str, float]], stages: dict[str, dict[str, float]]
) -> list[str]:
    rows = [_latency_row(f"suggest[{name}]", stats) for name, stats in totals.items()]
    return rows + [_latency_row(f"  {name}", stats) for name, stats in stages.items()]


def _latency_row(name: str, stats: dict[str, float]) -> str:
    return (
        f"{name:<24}{stats['p50']:>9.3f}{stats['p95']:>9.3f}{stats['p99']:>9.3f}"
        f"{stats['mean']:>9.3f}{stats['count']:>7}"
    )


def _load(values: Sequence[float]) -> str:
    return "/".join(f"{v:.1f}" for v in values)
