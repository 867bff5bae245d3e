"""The offline demo: index the bundled demo pack, replay its history, answer a few queries.

Returns plain data; the CLI decides how to show it. The demo keeps its own data folder and
rebuilds it only when the pack changed, so a second run starts in well under a second.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from engine.catalog import read_catalog, read_history, read_jsonl
from engine.engine import Engine
from engine.errors import StickerbotError
from engine.index_files import INDEX_VERSION
from engine.resources import resource_path
from engine.types import StickerRecord

DEMO_DIR = resource_path("data/demo")
# Marks a folder as the demo's own: only such a folder (or an empty one) is ever wiped.
MARKER_NAME = ".stickerbot-demo"
PACK_FILES = ("catalog.jsonl", "history.jsonl")  # what the built state depends on
TOP = 5  # suggestions shown per scenario: enough to see the order, short enough to read


class DemoError(StickerbotError):
    """The demo cannot use the data folder it was given."""


@dataclass(frozen=True)
class Scenario:
    """One thing a user types (or an empty query answering a chat message)."""

    title: str
    user_id: str
    text: str
    context: tuple[str, ...] = ()


SCENARIOS = (
    Scenario("alice sends Noto stickers and types 'cat'", "alice", "cat"),
    Scenario("bruno sends Twemoji stickers and types the same 'cat'", "bruno", "cat"),
    Scenario("finn is new: no history, so no style to prefer", "finn", "cat"),
    Scenario(
        "chloe (OpenMoji) types nothing, answering 'happy birthday!!'",
        "chloe",
        "",
        ("happy birthday!!",),
    ),
    Scenario("diego (Noto) types Spanish: 'gato'", "diego", "gato"),
    Scenario("bruno (Twemoji) is still typing: 'slee'", "bruno", "slee"),
)


@dataclass(frozen=True)
class Shown:
    """One suggestion with what a person needs to recognise the sticker."""

    sticker_id: str
    pack: str
    pack_title: str | None
    emoji: str | None
    caption: str | None
    score: float
    reason: str


@dataclass(frozen=True)
class Answer:
    scenario: Scenario
    items: list[Shown]


@dataclass
class DemoRun:
    data_dir: Path
    built: bool  # False when an up-to-date index was reused
    stickers: int = 0
    events: int = 0
    skipped_events: int = 0
    seconds: float = 0.0
    answers: list[Answer] = field(default_factory=list)


async def run_demo(
    data_dir: Path,
    demo_dir: Path = DEMO_DIR,
    scenarios: tuple[Scenario, ...] = SCENARIOS,
    on_progress: Callable[[int], None] | None = None,
) -> DemoRun:
    """Build (or reuse) the demo state in `data_dir` and answer every scenario."""
    start = time.perf_counter()
    records = read_demo_catalog(demo_dir)
    digest = _digest(demo_dir)
    run = DemoRun(data_dir=data_dir, built=not _up_to_date(data_dir, digest))
    if run.built:
        _reset(data_dir)
    engine = await Engine.open(data_dir)
    try:
        if run.built:
            await _build(engine, records, demo_dir, run, on_progress)
            (data_dir / MARKER_NAME).write_text(digest, encoding="utf-8")
        run.stickers = len(records)
        run.answers = [await _answer(engine, s, records) for s in scenarios]
    finally:
        await engine.close()
    run.seconds = round(time.perf_counter() - start, 2)
    return run


def read_demo_catalog(demo_dir: Path) -> list[StickerRecord]:
    """The catalog with pack titles: the demo's catalog carries a `title` beside `set`."""
    records = read_catalog(demo_dir)
    titles = {
        obj["set"]: obj["title"]
        for _, obj in read_jsonl(demo_dir / "catalog.jsonl")
        if isinstance(obj.get("title"), str)
    }
    for record in records:
        record.set_title = titles.get(record.set_name)
    return records


async def _build(
    engine: Engine,
    records: list[StickerRecord],
    demo_dir: Path,
    run: DemoRun,
    on_progress: Callable[[int], None] | None,
) -> None:
    await engine.build(records, on_progress=on_progress)
    for row in read_history(demo_dir):
        try:
            await engine.observe(row.user_id, row.event)
            run.events += 1
        except StickerbotError:
            run.skipped_events += 1  # a sticker whose image could not be indexed


async def _answer(engine: Engine, scenario: Scenario, records: list[StickerRecord]) -> Answer:
    by_id = {r.sticker_id: r for r in records}
    page = await engine.suggest(
        scenario.user_id, scenario.text, context=scenario.context, limit=TOP
    )
    items = []
    for item in page.items:
        record = by_id.get(item.sticker_id)
        items.append(
            Shown(
                sticker_id=item.sticker_id,
                pack=record.set_name if record else "?",
                pack_title=record.set_title if record else None,
                emoji=record.emoji if record else None,
                caption=record.caption if record else None,
                score=item.score,
                reason=item.reason,
            )
        )
    return Answer(scenario, items)


def _digest(demo_dir: Path) -> str:
    """What the built state was made from: the pack's files, this code's version and the index
    format (a source tree keeps its version while the format moves on)."""
    digest = hashlib.sha256(f"{_version()} index {INDEX_VERSION}".encode())
    for name in PACK_FILES:
        digest.update((demo_dir / name).read_bytes())
    return digest.hexdigest()


def _version() -> str:
    try:
        return metadata.version("stickerbot")
    except metadata.PackageNotFoundError:  # running from a source tree without installing
        return "source"


def _up_to_date(data_dir: Path, digest: str) -> bool:
    marker = data_dir / MARKER_NAME
    return marker.is_file() and marker.read_text(encoding="utf-8").strip() == digest


def _reset(data_dir: Path) -> None:
    """Empty `data_dir` for a fresh build, refusing a folder the demo did not make."""
    if data_dir.exists():
        if not (data_dir / MARKER_NAME).exists() and any(data_dir.iterdir()):
            raise DemoError(f"{data_dir} holds other data; pass --data with an empty or new folder")
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    # Written before the build, so an interrupted build leaves a folder the demo may redo.
    (data_dir / MARKER_NAME).write_text("", encoding="utf-8")
