"""Scale benchmark: how fast and how big the engine is on a catalog of PerSRV's size.

A synthetic catalog is generated without any image: multilingual captions, OCR text, emoji and
pack titles built from the bundled CLDR emoji keywords (about a quarter of the meanings are
exact duplicates, as in PerSRV's pool), style vectors drawn around a few dozen art-style
centres, packs of 30-120 stickers. The engine's own index steps then build a `CatalogIndex`
from those records and raw style arrays (image decoding is the one step bypassed), saved with
the stickers in a data folder. A fresh process opens that folder as `stickerbot serve` does,
replays a history of users through `Engine.observe`, and times `Engine.suggest` end to end and
stage by stage (the recall and rank functions are called directly for the split).

Two modes, always named in the results:
- `use`: meanings and queries are embedded with the engine's text encoder (USE, ~2,500
  documents/s, so 543k stickers take minutes);
- `fake-vectors`: a hash-seeded encoder draws clustered unit vectors instead. It measures the
  index, recall and ranking cost only: the text-encoding figures are not the real model's.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import multiprocessing
import os
import random
import resource
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from engine.bench.protocol import typed_so_far
from engine.bench.runner import percentile
from engine.build import index_records
from engine.config import EngineConfig
from engine.crowd import Crowd
from engine.dense import HNSW_M
from engine.emoji import EmojiKeywords
from engine.encoders import TextEncoder, UniversalSentenceEncoder, encode_soon, l2_normalise
from engine.engine import Engine, limit_blas_threads
from engine.index import CatalogIndex, Encoders
from engine.index_files import save_index
from engine.profile import Profile
from engine.protocol import MAX_PAGE
from engine.rank import rank
from engine.recall import recall_text
from engine.style import N_STATS, STYLE_DIM
from engine.types import Event, StickerRecord

MODE_FAKE, MODE_USE = "fake-vectors", "use"
PERSRV_POOL = 543_098  # stickers in PerSRV's pool, the size the product must serve
TARGET_P99_MS, TARGET_RSS_MB = 8.0, 1536.0  # the product's goal on two cores
MB = 1024 * 1024

# -- catalog shape ----------------------------------------------------------------------------
PACK_MIN, PACK_MAX = 30, 120  # stickers per pack
STYLE_CENTRES = 48  # art styles packs are drawn in ("a few dozen")
PACK_STYLE_NOISE, STICKER_STYLE_NOISE = 0.35, 0.25  # spread around a style, then around a pack
PALETTE_SWATCHES = 12  # active palette buckets per style centre
# A file_id as long as Telegram's (71 characters): serving keeps one per sticker in memory.
FILE_ID_HEAD, FILE_ID_TAIL = "CAACAgIAAxkBAAEL", "Zmc2wABHgPX_aKlm3-bT0H5AAJFAAPANk8TNc7rYQ8c"
DUPLICATE_SHARE = 0.25  # stickers whose caption, OCR and emoji repeat an earlier sticker's
NO_TEXT_SHARE = 0.08  # stickers known only by their emoji
OCR_SHARE = 0.3  # stickers with words drawn on them
WRONG_EMOJI_SHARE = 0.1  # pack authors who picked an emoji the caption does not support
NSFW_SHARE = 0.03
NSFW_SCORE = 0.9
PACK_THEMES = 6  # emoji a pack is about; each sticker draws its concept from them
CAPTION_WORDS = (2, 6)  # keywords in a caption, inclusive
OCR_WORDS = (1, 3)
# Catalog languages (pack authors): English and Russian dominate Telegram's sticker packs.
CATALOG_LANGUAGES = {
    "en": 0.40, "ru": 0.15, "es": 0.07, "pt": 0.06, "de": 0.04, "fr": 0.04, "it": 0.03,
    "uk": 0.03, "ja": 0.04, "zh": 0.04, "ko": 0.03, "vi": 0.02, "pl": 0.02, "nl": 0.02,
    "hi": 0.01,
}  # fmt: skip
CJK_LANGUAGES = frozenset({"ja", "zh", "zh-hant", "ko", "th"})

# -- fake vectors -----------------------------------------------------------------------------
FAKE_DIM = 512  # as USE, so the dense index has the real model's size and search cost
FAKE_TOPICS = 256  # meaning clusters
FAKE_NOISE_BANK = 8192  # noise rows; a text mixes two, so distinct texts rarely collide
# Noise norm relative to the topic centre: two texts of one topic meet at cosine ~0.5, below
# the engine's same-meaning threshold (0.85), so only duplicates become meaning neighbours.
FAKE_NOISE = 1.0
FAKE_CHUNK = 65_536  # rows turned into vectors at a time, to bound temporaries

# -- history and queries ----------------------------------------------------------------------
EVENTS_PER_USER = (10, 60)  # inclusive
PICK_SHARE = 0.4  # events that are inline picks after a query (the rest are sends)
FAVOURITE_PACKS = (2, 6)  # packs a user mostly sends from, inclusive
QUERY_WORDS = (1, 3)  # inclusive
EMPTY_QUERY_SHARE = 0.1
# Queries of words timed half-typed (engine.bench.protocol.typed_so_far): Telegram asks on
# nearly every keystroke, and a partial word is completed from the vocabularies.
TYPING_SHARE = 0.3
NEW_USER_SHARE = 0.2  # queries from users with no history
WARMUP_QUERIES = 20  # first queries fill caches and are not timed
# The pack added live once the queries are timed (what the bot does with a pack it has not seen).
GROWTH_PACK, GROWTH_PACK_NAME, GROWTH_IMAGE_SIDE = 20, "grown_live_by_bench", 128
SECONDS_PER_EVENT = 60.0  # spacing of replayed history (recency weights count events only)


@dataclass
class ScaleConfig:
    stickers: int = 50_000
    queries: int = 1_000
    users: int = 300
    fake_vectors: bool = False
    seed: int = 7


@dataclass
class Catalog:
    records: list[StickerRecord]
    style_raw: np.ndarray  # (n, STYLE_DIM) unscaled, as style_features would give
    pack_of_row: np.ndarray  # (n,) pack number per row
    pack_language: list[str]


@dataclass
class Query:
    kind: str  # "words", "typing" (the same, half-typed), "cjk" or "empty"
    text: str
    user_id: str


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


# -- fake encoder -----------------------------------------------------------------------------


class FakeTextEncoder:
    """Hash-seeded clustered unit vectors: the same text always gets the same vector."""

    name = "fake-clustered"
    dim = FAKE_DIM

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self._topics = l2_normalise(rng.standard_normal((FAKE_TOPICS, FAKE_DIM)))
        noise = l2_normalise(rng.standard_normal((FAKE_NOISE_BANK, FAKE_DIM)))
        self._noise = noise * np.float32(FAKE_NOISE / math.sqrt(2))

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), FAKE_DIM), np.float32)
        for start in range(0, len(texts), FAKE_CHUNK):
            chunk = texts[start : start + FAKE_CHUNK]
            out[start : start + len(chunk)] = self._vectors(_hashes(chunk))
        return out

    def _vectors(self, hashes: np.ndarray) -> np.ndarray:
        topic = self._topics[hashes % FAKE_TOPICS]
        first = self._noise[(hashes >> 16) % FAKE_NOISE_BANK]
        second = self._noise[(hashes >> 32) % FAKE_NOISE_BANK]
        return l2_normalise(topic + first + second)


def _hashes(texts: Sequence[str]) -> np.ndarray:
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest()) >> 1 for t in texts),
        dtype=np.int64,
        count=len(texts),
    )


# -- vocabulary -------------------------------------------------------------------------------


class Vocabulary:
    """Emoji and their keywords per language, from the engine's bundled CLDR table."""

    def __init__(self, keywords: EmojiKeywords) -> None:
        self.keywords = keywords
        # Base emoji only: skin-tone variants repeat their base's words.
        self.emoji = [e for e in keywords if len(e) <= 2]
        self._words: dict[tuple[str, str], list[str]] = {}

    def words(self, emoji: str, language: str) -> list[str]:
        key = (emoji, language)
        if key not in self._words:
            found = self.keywords.keywords(emoji, [language]) or self.keywords.keywords(emoji)
            self._words[key] = found or ["sticker"]
        return self._words[key]

    def phrase(self, rng: random.Random, emoji: str, language: str, count: tuple[int, int]) -> str:
        """`count` keywords of `emoji` in `language`, label first when it is drawn."""
        words = self.words(emoji, language)
        n = min(len(words), rng.randint(*count))
        return " ".join(rng.sample(words, n))


def pick_language(rng: random.Random) -> str:
    return rng.choices(list(CATALOG_LANGUAGES), weights=list(CATALOG_LANGUAGES.values()))[0]


# -- catalog ----------------------------------------------------------------------------------


def generate_catalog(size: int, vocab: Vocabulary, seed: int) -> Catalog:
    rng = random.Random(seed)
    records: list[StickerRecord] = []
    packs: list[int] = []
    languages: list[str] = []
    while len(records) < size:
        pack = len(languages)
        languages.append(pick_language(rng))
        count = min(rng.randint(PACK_MIN, PACK_MAX), size - len(records))
        records.extend(_pack(rng, vocab, pack, languages[pack], count, records))
        packs.extend([pack] * count)
    pack_of_row = np.asarray(packs, dtype=np.int64)
    return Catalog(records, style_arrays(pack_of_row, seed), pack_of_row, languages)


def _pack(
    rng: random.Random,
    vocab: Vocabulary,
    pack: int,
    language: str,
    count: int,
    earlier: list[StickerRecord],
) -> list[StickerRecord]:
    themes = rng.sample(vocab.emoji, PACK_THEMES)
    title = f"{vocab.phrase(rng, themes[0], language, (1, 2))} {pack}"
    name = f"pack_{pack:06d}"  # one string per pack, as Store.stickers gives them
    out: list[StickerRecord] = []
    for _ in range(count):
        row = len(earlier) + len(out)
        sticker_id = f"AgAD{row:012d}"  # as long as Telegram's file_unique_id
        record = StickerRecord(
            sticker_id=sticker_id,
            set_name=name,
            set_title=title,
            # No path: serving reads its records without them (Store.stickers).
            file_id=f"{FILE_ID_HEAD}{row:012d}{FILE_ID_TAIL}",
            nsfw=NSFW_SCORE if rng.random() < NSFW_SHARE else 0.0,
        )
        if earlier and rng.random() < DUPLICATE_SHARE:
            _copy_meaning(record, rng.choice(earlier))
        else:
            _describe(record, rng, vocab, rng.choice(themes), language)
        out.append(record)
    return out


def _copy_meaning(record: StickerRecord, source: StickerRecord) -> None:
    record.caption, record.ocr, record.emoji = source.caption, source.ocr, source.emoji


def _describe(
    record: StickerRecord, rng: random.Random, vocab: Vocabulary, concept: str, language: str
) -> None:
    wrong = rng.random() < WRONG_EMOJI_SHARE
    record.emoji = rng.choice(vocab.emoji) if wrong else concept
    if rng.random() < NO_TEXT_SHARE:
        return
    record.caption = vocab.phrase(rng, concept, language, CAPTION_WORDS)
    if rng.random() < OCR_SHARE:
        record.ocr = vocab.phrase(rng, rng.choice(vocab.emoji), language, OCR_WORDS)


def style_arrays(pack_of_row: np.ndarray, seed: int) -> np.ndarray:
    """Raw style features: statistics and palette swatches around each pack's style centre."""
    rng = np.random.default_rng(seed)
    centres = np.zeros((STYLE_CENTRES, STYLE_DIM), np.float32)
    centres[:, :N_STATS] = rng.uniform(0.0, 1.0, (STYLE_CENTRES, N_STATS))
    for centre in centres:
        swatches = rng.choice(STYLE_DIM - N_STATS, PALETTE_SWATCHES, replace=False)
        centre[N_STATS + swatches] = rng.dirichlet(np.ones(PALETTE_SWATCHES))
    packs = int(pack_of_row.max()) + 1 if len(pack_of_row) else 0
    style_of_pack = rng.integers(0, STYLE_CENTRES, packs)
    pack_raw = centres[style_of_pack] * _jitter(rng, (packs, STYLE_DIM), PACK_STYLE_NOISE)
    rows = pack_raw[pack_of_row] * _jitter(rng, (len(pack_of_row), STYLE_DIM), STICKER_STYLE_NOISE)
    return rows.astype(np.float32)


def _jitter(rng: np.random.Generator, shape: tuple[int, int], spread: float) -> np.ndarray:
    """Multiplicative noise: keeps every statistic and swatch non-negative, as real ones are."""
    return np.exp(rng.normal(0.0, spread, shape)).astype(np.float32)


# -- index ------------------------------------------------------------------------------------


def structure_sizes(index: CatalogIndex) -> dict[str, int]:
    """Bytes of each array the index keeps in memory; hnswlib's from its layout (it is not
    numpy). Memory-mapped arrays (read from disk only when needed) are listed as `mapped_*`."""
    sizes = {}
    for name in ("text", "style_raw", "pack_vectors", "pack_of_row", "trust"):
        array = getattr(index, name)
        sizes[f"mapped_{name}" if isinstance(array, np.memmap) else name] = int(array.nbytes)
    sizes["neighbours"] = int(index.neighbour_rows.nbytes + index.neighbour_sims.nbytes)
    sizes["dense_hnsw_estimate"] = hnsw_bytes(len(index.dense), index.dense.dim)
    for name, field_index in index.fields.items():
        sizes[f"bm25_{name}_arrays"] = field_index.nbytes
    return sizes


# -- users ------------------------------------------------------------------------------------


def generate_history(
    catalog: Catalog, vocab: Vocabulary, users: int, seed: int
) -> list[tuple[str, Event]]:
    """Each user sends mostly from a few favourite packs and picks after typing a query."""
    rng = random.Random(seed)
    packs = _rows_by_pack(catalog.pack_of_row)
    history: list[tuple[str, Event]] = []
    clock = 0.0
    for user in range(users):
        favourites = rng.sample(range(len(packs)), min(len(packs), rng.randint(*FAVOURITE_PACKS)))
        language = pick_language(rng)
        for _ in range(rng.randint(*EVENTS_PER_USER)):
            clock += SECONDS_PER_EVENT
            row = int(rng.choice(packs[rng.choice(favourites)]))
            history.append((f"u{user}", _event(rng, vocab, catalog.records[row], language, clock)))
    return history


def _rows_by_pack(pack_of_row: np.ndarray) -> list[np.ndarray]:
    bounds = np.flatnonzero(np.diff(pack_of_row)) + 1  # rows are generated pack by pack
    return np.split(np.arange(len(pack_of_row)), bounds)


def _event(
    rng: random.Random, vocab: Vocabulary, record: StickerRecord, language: str, ts: float
) -> Event:
    concepts = vocab.keywords.split(record.emoji or "")
    if rng.random() >= PICK_SHARE or not concepts:
        return Event("send", record.sticker_id, ts)
    query = vocab.phrase(rng, concepts[0], language, QUERY_WORDS)
    return Event("pick", record.sticker_id, ts, query=query)


def generate_queries(vocab: Vocabulary, count: int, users: int, seed: int) -> list[Query]:
    """1-3 keywords of a random emoji in a random catalog language, some half-typed, some
    empty, some by new users."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        known = users > 0 and rng.random() >= NEW_USER_SHARE
        user = f"u{rng.randrange(users)}" if known else f"new{i}"
        if rng.random() < EMPTY_QUERY_SHARE:
            out.append(Query("empty", "", user))
            continue
        language = pick_language(rng)
        text = vocab.phrase(rng, rng.choice(vocab.emoji), language, QUERY_WORDS)
        if language in CJK_LANGUAGES:
            out.append(Query("cjk", text, user))
        elif rng.random() < TYPING_SHARE and (typed := typed_so_far(text)) is not None:
            out.append(Query("typing", typed, user))
        else:
            out.append(Query("words", text, user))
    return out


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


def time_stages(
    engine: Engine, index: CatalogIndex, query: Query, profile: Profile, watch: Stopwatch
) -> int:
    """One query through the engine's recall and rank, each step timed; returns the
    candidates. The user's languages are the ones their picks taught (no one here sets any)."""
    crowd: Crowd = engine._crowd
    depth = EngineConfig().recall_depth
    if query.text:
        # Started here, read by recall after its lexical channels ("encode_wait": what they
        # did not cover), as Engine.suggest does.
        with watch.step("encode_start"):
            vector = encode_soon(engine._encoders.text, query.text)
        languages = engine._languages.of_user(None, profile.languages, None)
        candidates = recall_text(
            index, crowd, query.text, vector, depth, timer=watch.step, languages=languages
        )
    else:
        with watch.step("habits"):
            candidates = engine._habits(index, profile)
    with watch.step("rank"):  # as deep as a first page, as Engine.suggest ranks it
        rank(index, candidates, profile, crowd, limit=MAX_PAGE + 1)
    with watch.step("safe_mask"):
        engine._safe_mask(index)
    return len(candidates)


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
        "machine": {
            "cores": os.cpu_count(),
            "load_start": started_load,
            "load_end": os.getloadavg(),
        },
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
        observe = await _replay(engine, workload.history)
        latency = await _time_queries(engine, workload.queries)
        index = engine._index
        served = {
            "text_model": engine._encoders.text.name,
            "stickers": len(index),
            "packs": len(index.set_rows),
            "memory": _memory(index),  # before the growth below
            "observe_ms": observe,
            **latency,
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


def growth_pack(vocab: Vocabulary, folder: Path, seed: int) -> list[StickerRecord]:
    """GROWTH_PACK new stickers of one new pack, each with a small PNG of its own in `folder`
    (a live addition decodes its images, unlike the generated catalog)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, record in enumerate(generate_catalog(GROWTH_PACK, vocab, seed + 1).records):
        path = folder / f"{i}.png"
        Image.new("RGBA", (GROWTH_IMAGE_SIDE,) * 2, (200, 40 + 8 * i, 90, 255)).save(path)
        sticker_id = f"AgADgrown{i:07d}"
        out.append(
            replace(record, sticker_id=sticker_id, set_name=GROWTH_PACK_NAME, path=str(path))
        )
    return out


async def _replay(engine: Engine, history: list[tuple[str, Event]]) -> dict[str, Any]:
    """History through Engine.observe (SQLite write, profile update, crowd); timed per event."""
    samples = []
    for user_id, event in history:
        start = time.perf_counter()
        await engine.observe(user_id, event)
        samples.append(time.perf_counter() - start)
    return {"events": len(history), **summarise(samples)}


async def _time_queries(engine: Engine, queries: list[Query]) -> dict[str, Any]:
    total, stages, candidates = Stopwatch(), Stopwatch(), []
    for i, query in enumerate(queries):
        timed = i >= WARMUP_QUERIES
        wall, cpu = time.perf_counter(), time.process_time()
        await engine.suggest(query.user_id, query.text)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        profile = await engine._profile(query.user_id)
        watch = stages if timed else Stopwatch()
        found = time_stages(engine, engine._index, query, profile, watch)
        if timed:
            for kind in ("all", query.kind):
                total.samples.setdefault(kind, []).append(wall)
                total.cpu.setdefault(kind, []).append(cpu)
            candidates.append(found)
    return {
        "suggest_ms": _summaries(total.samples),
        "suggest_cpu_ms": _summaries(total.cpu),
        "stages_ms": _summaries(stages.samples),
        "stages_cpu_ms": _summaries(stages.cpu),
        "candidates": summarise(candidates, scale=1.0),
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
    lines = [head, "", f"{'wall ms':<24}{'p50':>9}{'p95':>9}{'p99':>9}{'mean':>9}{'n':>7}"]
    lines += _latency_rows(results["suggest_ms"], results["stages_ms"])
    lines += ["", f"{'CPU ms':<24}{'p50':>9}{'p95':>9}{'p99':>9}{'mean':>9}{'n':>7}"]
    lines += _latency_rows(results["suggest_cpu_ms"], results["stages_cpu_ms"])
    lines.append("")
    lines.append(_latency_row("observe", results["observe_ms"]))
    cands = results["candidates"]
    lines.append(_latency_row("candidates/query", cands))
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
