"""`stickerbot export index`: distil a catalog folder into the engine's live index, offline.

Steps in the clip-retrieval way, composed by a runner that times each one:

    reader   catalog.jsonl (+ a captions JSONL from `export captions` or elsewhere) -> records
    mappers  per sticker, inside the build: decode, OCR (only when the sticker has no text),
             NSFW score; each cached by the file's content hash
    writer   Engine.build: embed (cached), index, write beside the live index and swap it in

Crowd text needs no step: the engine reads past pick queries from its database's events. A
running bot picks the new index up by itself (see `Engine._watch_disk`).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from engine.build import BuildHooks, ImageStep, StageClock, StageProgress
from engine.catalog import read_catalog
from engine.config import EngineConfig
from engine.embed_cache import EmbedCache
from engine.engine import Engine
from engine.ocr import StickerOcr, ocr_available
from engine.safety import NsfwScorer, nsfw_available
from engine.steps import NSFW_KIND, OCR_KIND, NsfwStep, OcrStep
from engine.types import StickerRecord
from export.captions import apply_captions, read_captions

READ, BUILD, WRITE = "read", "build", "write"


@dataclass(frozen=True)
class PipelineOptions:
    catalog_dir: Path
    data_dir: Path
    captions: Path | None = None
    ocr: bool | None = None  # None: when the vision extra is installed
    nsfw: bool | None = None  # None: when the vision extra is installed
    clip_model: Path | None = None
    database_url: str | None = None  # PostgreSQL holding the catalog and users, else SQLite


@dataclass
class PipelineSummary:
    """What a run did, for the command to print."""

    indexed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    captions_applied: int = 0
    ocr_found: int | None = None  # None when OCR did not run
    nsfw_flagged: int | None = None  # None when NSFW scoring did not run
    nsfw_threshold: float = 0.0
    crowd_events: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # per stage, in run order
    cache_hits: Counter[str] = field(default_factory=Counter)
    cache_misses: Counter[str] = field(default_factory=Counter)


def read_records(catalog_dir: Path, captions: Path | None) -> tuple[list[StickerRecord], int]:
    """Reader: the catalog, with captions filled in; also how many captions were applied."""
    records = read_catalog(catalog_dir)
    if captions is None:
        return records, 0
    filled = apply_captions(records, read_captions(captions))
    applied = sum(a.caption != b.caption for a, b in zip(records, filled, strict=True))
    return filled, applied


def _wanted(flag: bool | None, available: bool) -> bool:
    """An explicit --ocr/--nsfw must run (and fails without the extra); no flag means 'if
    installed'."""
    return available if flag is None else flag


async def run_pipeline(
    options: PipelineOptions,
    *,
    on_stage: StageProgress | None = None,
    config: EngineConfig | None = None,
) -> PipelineSummary:
    """Read, map and write `options.catalog_dir` into `options.data_dir`; time every stage."""
    config = config or EngineConfig()
    if options.clip_model is not None:
        config = config.model_copy(update={"clip_model": str(options.clip_model)})
    summary = PipelineSummary(nsfw_threshold=config.nsfw_threshold)
    seconds: dict[str, float] = defaultdict(float)
    clock = StageClock(seconds)
    with clock.stage(READ):
        records, summary.captions_applied = read_records(options.catalog_dir, options.captions)
    options.data_dir.mkdir(parents=True, exist_ok=True)
    cache = EmbedCache.in_folder(options.data_dir)
    try:
        ocr_step = OcrStep(StickerOcr(), cache) if _wanted(options.ocr, ocr_available()) else None
        nsfw_step = (
            NsfwStep(NsfwScorer(), cache, config.nsfw_threshold)
            if _wanted(options.nsfw, nsfw_available())
            else None
        )
        steps: list[tuple[str, ImageStep]] = [
            (name, step) for name, step in ((OCR_KIND, ocr_step), (NSFW_KIND, nsfw_step)) if step
        ]
        hooks = BuildHooks(cache=cache, steps=steps, on_stage=on_stage)
        await _write(options, config, records, hooks, summary)
    finally:
        cache.close()
    summary.ocr_found = ocr_step.found if ocr_step else None
    summary.nsfw_flagged = nsfw_step.flagged if nsfw_step else None
    summary.seconds = {READ: seconds[READ], **summary.seconds}
    summary.cache_hits, summary.cache_misses = cache.hits, cache.misses
    return summary


async def _write(
    options: PipelineOptions,
    config: EngineConfig,
    records: list[StickerRecord],
    hooks: BuildHooks,
    summary: PipelineSummary,
) -> None:
    """Writer: build through the engine, which saves beside the live index and swaps it in."""
    engine = await Engine.open(
        options.data_dir, config, database_url=options.database_url, rebuilding=True
    )
    try:
        start = time.perf_counter()
        report = await engine.build(records, hooks=hooks)
        total = time.perf_counter() - start
        summary.crowd_events = (await engine.stats()).get("events", 0)
    finally:
        await engine.close()
    summary.indexed, summary.skipped = report.indexed, report.skipped
    stages = {name: secs for name, secs in report.seconds.items() if secs > 0}
    # What the build's own stages do not cover: the store upsert and the index files' save.
    stages[WRITE] = max(0.0, total - sum(stages.values()))
    summary.seconds = stages
