"""A synthetic sticker world of any size for the scale benchmark (engine.bench.scale).

No image is drawn for the catalog: multilingual captions, OCR text, emoji and pack titles are
built from the bundled CLDR emoji keywords (about a quarter of the meanings are exact
duplicates, as in PerSRV's pool), style vectors are drawn around a few dozen art-style centres,
and packs hold 30-120 stickers. Users send mostly from a few favourite packs and pick after
typing keywords; queries are keywords too, some half-typed, some empty, some by new users.
A hash-seeded text encoder can stand in for the real one (FakeTextEncoder)."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from engine.bench.protocol import typed_so_far
from engine.emoji import EmojiKeywords
from engine.encoders import l2_normalise
from engine.style import N_STATS, STYLE_DIM
from engine.types import Event, StickerRecord

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

# The pack added live once the queries are timed (what the bot does with a pack it has not seen).
GROWTH_PACK, GROWTH_PACK_NAME, GROWTH_IMAGE_SIDE = 20, "grown_live_by_bench", 128
SECONDS_PER_EVENT = 60.0  # spacing of replayed history (recency weights count events only)


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
