"""Building an index from sticker records: decode each file once, read its style off the
pixels, run the per-sticker steps (OCR, NSFW), embed the meanings, and index them all
(engine.index). Stickers whose file fails are skipped and counted."""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

from engine import media, style
from engine.dense import DenseIndex
from engine.documents import emoji_text, has_own_meaning, meaning_text, title_text
from engine.embed_cache import (
    CachedTextEncoder,
    EmbedCache,
    code_identity,
    file_key,
    model_identity,
)
from engine.emoji import EmojiKeywords
from engine.emoji_trust import emoji_trust, reference_meanings
from engine.encoders import ENCODE_CHUNK, ImageEncoder, encode_in_chunks, per_row
from engine.field_segments import SegmentedField
from engine.groups import number_texts
from engine.index import FIELDS, NEIGHBOURS, BuiltIndex, CatalogIndex, Encoders
from engine.lexical import FieldIndex
from engine.meaning_book import MeaningBook
from engine.media import MediaError, load_sticker_image
from engine.sticker_rows import StickerRows
from engine.style import STYLE_DIM, StyleScaler, style_features
from engine.timing import StepTimer, untimed
from engine.types import StickerRecord
from engine.word_meaning import recall_vectors, word_meaning_vectors

log = logging.getLogger(__name__)

ALL_CORES = -1  # hnswlib's "every core": offline builds use them all
# Cosine of word vectors (engine.word_meaning) above which two captions say the same thing:
# on emoji-dev's captions worded by `bench-describe`, 98% of the pairs so found were copies of
# one meaning, and 84% of the copies were found (with short names, all of them).
SAME_WORDING = 0.99
# The build report counts index_records' steps under coarser stages: these, else "index".
BUILD_STAGE_OF_STEP = {
    "meaning_encode": "embed text",
    "emoji_trust": "embed text",
    "word_meaning": "embed text",
}
NO_FILE = "no_file"  # skip reason: the catalog names no file (an import could not fetch it)
# Cache kinds, and the identity of the code behind style features (pixels -> numbers).
STYLE_KIND, IMAGE_KIND = "style", "image"
STYLE_CODE = (Path(style.__file__), Path(media.__file__))
STYLE_PACKAGES = ("pillow", "numpy", "av", "rlottie-python")

# (stage, steps just done, steps in the stage): lets a command draw one bar per build stage.
StageProgress = Callable[[str, int, int], None]


@dataclass
class BuildReport:
    indexed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    # Wall seconds per stage (decode, style, embed text, ... and each hook step by its name).
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))


class StageClock:
    """Adds wall time per stage to a report; a stage timed inside another (a lazy decode
    inside the OCR step) is counted once, in the inner stage."""

    def __init__(self, seconds: dict[str, float]) -> None:
        self._seconds = seconds
        self._inner: list[float] = []  # per open stage: seconds spent in stages nested in it

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        self._inner.append(0.0)
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self._seconds[name] += elapsed - self._inner.pop()
            if self._inner:
                self._inner[-1] += elapsed


class StickerFile:
    """A sticker's file during a build: hashed and decoded only when something needs it, once."""

    def __init__(
        self, path: Path, decode: Callable[[Path], Image.Image], clock: StageClock
    ) -> None:
        self.path = path
        self._decode = decode
        self._clock = clock

    @cached_property
    def sha256(self) -> str:
        """Content hash, the cache key of everything read off the pixels."""
        try:
            return file_key(self.path)
        except FileNotFoundError:
            raise MediaError("missing", str(self.path)) from None
        except OSError as error:
            raise MediaError("unreadable", str(error)) from None

    @cached_property
    def image(self) -> Image.Image:
        with self._clock.stage("decode"):
            return self._decode(self.path)


# A per-sticker step over the decoded file (OCR, NSFW): returns the record, filled in.
ImageStep = Callable[[StickerRecord, StickerFile], StickerRecord]


@dataclass
class BuildHooks:
    """Optional parts of a build. The defaults build exactly what `build_index` always did."""

    cache: EmbedCache | None = None
    steps: Sequence[tuple[str, ImageStep]] = ()  # named, so each is timed on its own
    decode: Callable[[Path], Image.Image] = load_sticker_image
    on_stage: StageProgress | None = None


def build_index(
    records: Sequence[StickerRecord],
    encoders: Encoders,
    *,
    report: BuildReport | None = None,
    scaler: StyleScaler | None = None,
    on_progress: Callable[[int], None] | None = None,
    hooks: BuildHooks | None = None,
) -> BuiltIndex:
    """Decode, describe and embed `records`; stickers whose image fails are skipped and counted.

    `hooks` adds a cache (only what changed is computed), per-sticker steps such as OCR and
    NSFW scoring, and per-stage progress.
    """
    report = report if report is not None else BuildReport()
    hooks = hooks or BuildHooks()
    clock = StageClock(report.seconds)
    if hooks.cache is not None:
        encoders = Encoders(
            CachedTextEncoder(encoders.text, hooks.cache), encoders.emoji, encoders.clip
        )
    decoded = decode_all(records, report, on_progress, bool(encoders.clip), hooks, clock)
    kept = decoded.records
    index = index_records(
        kept,
        decoded.style_raw,
        encoders,
        scaler=scaler,
        timer=lambda step: clock.stage(BUILD_STAGE_OF_STEP.get(step, "index")),
        on_stage=hooks.on_stage,
    )
    if encoders.clip is not None:
        with clock.stage("embed images"):
            index.image = encode_images(decoded, encoders.clip, hooks)
        with clock.stage("index"):
            index.image_dense = DenseIndex(encoders.clip.dim, capacity=len(kept))
            add_dense(index.image_dense, index.image, 0, threads=ALL_CORES)
    report.indexed = len(kept)
    return BuiltIndex(index, kept)


def index_records(
    records: Sequence[StickerRecord],
    style_raw: np.ndarray,
    encoders: Encoders,
    *,
    scaler: StyleScaler | None = None,
    timer: StepTimer = untimed,
    on_stage: StageProgress | None = None,
) -> CatalogIndex:
    """Index `records` whose pixel statistics (`style_raw`, row-aligned) are already known:
    meaning vectors, emoji trust, the dense graph, meaning neighbours and lexical fields.
    `timer` is given each step's name, for the build report and the scale bench."""
    with timer("style_scaler"):
        fit_on = style_raw if len(style_raw) else np.zeros((1, STYLE_DIM), np.float32)
        scaler = scaler or StyleScaler().fit(fit_on)
    with timer("meaning_encode"):
        texts, meanings, meaning_of_row = _encode_meaning(records, encoders, on_stage)
        text = per_row(meanings, meaning_of_row)
    with timer("emoji_trust"):
        reference = meanings[reference_meanings(len(meanings))]
        trust = emoji_trust(records, text, encoders.emoji, encoders.text, reference)
    with timer("word_meaning"):
        book = MeaningBook.of(texts)
        words, common_wording = word_meaning_vectors(texts, encoders.text, counts=book.words)
    with timer("dense_hnsw"):
        dense = DenseIndex(encoders.text.dim, capacity=len(meanings))
        searched = recall_vectors(meanings, words)  # in place: the sentences are not read again
        dense.add(searched, np.arange(len(searched)), threads=ALL_CORES)
        # Dense recall's baseline is the average vector the graph holds.
        mean = searched.mean(axis=0) if len(searched) else np.zeros(dense.dim, np.float32)
    with timer("catalog_rows"):  # row_of, set_rows, meanings and pack styles (__post_init__)
        index = CatalogIndex(
            rows=StickerRows.of(records),
            text=text,
            style_raw=style_raw,
            scaler=scaler,
            trust=trust,
            emoji_only=emoji_only_rows(records),
            meaning_of_row=meaning_of_row,
            neighbour_rows=np.zeros((0, NEIGHBOURS), np.int32),
            neighbour_sims=np.zeros((0, NEIGHBOURS), np.float32),
            dense=dense,
            text_model=encoders.text.name,
            meaning_mean=mean.astype(np.float32),
            common_wording=common_wording,
            book=book,
        )
    with timer("meaning_neighbours"):
        index.neighbour_rows, index.neighbour_sims = _meaning_neighbours(index, words)
    del words
    for name in FIELDS:
        with timer(f"lexical_{name}"):
            index.fields[name] = SegmentedField(build_field(name, records, encoders.emoji, trust))
    return index


@dataclass
class Decoded:
    """What the per-sticker pass produced, row-aligned with `records`."""

    records: list[StickerRecord]
    style_raw: np.ndarray
    files: list[StickerFile]  # for CLIP: hashed and decoded only on a cache miss


def decode_all(
    records: Sequence[StickerRecord],
    report: BuildReport,
    on_progress: Callable[[int], None] | None,
    want_images: bool,
    hooks: BuildHooks | None = None,
    clock: StageClock | None = None,
) -> Decoded:
    hooks = hooks or BuildHooks()
    clock = clock or StageClock(report.seconds)
    style_model = code_identity(STYLE_KIND, STYLE_CODE, STYLE_PACKAGES) if hooks.cache else ""
    kept: list[StickerRecord] = []
    features: list[np.ndarray] = []
    files: list[StickerFile] = []
    for record in records:
        try:
            if record.path is None:
                report.skipped[NO_FILE] += 1
                continue
            file = StickerFile(Path(record.path), hooks.decode, clock)
            feature = _style(file, hooks.cache, style_model, clock)
            for name, step in hooks.steps:
                with clock.stage(name):
                    record = step(record, file)
        except MediaError as error:
            report.skipped[error.reason] += 1
            log.warning("skipped sticker %s: %s", record.sticker_id, error)
        else:
            kept.append(record)
            features.append(feature)
            if want_images:
                files.append(file)
        finally:
            if on_progress:
                on_progress(1)
            if hooks.on_stage:
                hooks.on_stage("describe", 1, len(records))
    raw = np.stack(features) if features else np.zeros((0, STYLE_DIM), np.float32)
    return Decoded(kept, raw.astype(np.float32), files)


def _style(
    file: StickerFile, cache: EmbedCache | None, model: str, clock: StageClock
) -> np.ndarray:
    """The file's style features, from the cache when its bytes were seen before."""
    if cache is None:
        image = file.image
        with clock.stage("style"):
            return style_features(image)
    found = cache.vectors(STYLE_KIND, model, [file.sha256]).get(file.sha256)
    if found is not None:
        return found
    image = file.image
    with clock.stage("style"):
        feature = np.asarray(style_features(image), np.float32)
    cache.put_vectors(STYLE_KIND, model, {file.sha256: feature})
    return feature


def _encode_meaning(
    records: Sequence[StickerRecord], encoders: Encoders, on_stage: StageProgress | None = None
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(the distinct meaning texts, a vector for each, each row's meaning or -1)."""
    distinct, which = number_texts([meaning_text(r, encoders.emoji) for r in records], empty=False)
    report = (lambda done, total: on_stage("embed text", done, total)) if on_stage else None
    return distinct, encode_in_chunks(encoders.text, distinct, ENCODE_CHUNK, report), which


def encode_images(decoded: Decoded, clip: ImageEncoder, hooks: BuildHooks) -> np.ndarray:
    """CLIP vectors of every kept sticker; with a cache, only files not seen before are encoded."""
    files, cache = decoded.files, hooks.cache
    out = np.zeros((len(files), clip.dim), np.float32)
    model = model_identity(clip) if cache is not None else ""
    found = cache.vectors(IMAGE_KIND, model, [f.sha256 for f in files]) if cache else {}
    todo = [row for row, f in enumerate(files) if cache is None or f.sha256 not in found]
    for row, file in enumerate(files):
        if cache is not None and file.sha256 in found:
            out[row] = found[file.sha256]
    for start in range(0, len(todo), ENCODE_CHUNK):
        rows = todo[start : start + ENCODE_CHUNK]
        out[rows] = clip.encode_images([files[r].image for r in rows])
        if cache is not None:
            cache.put_vectors(IMAGE_KIND, model, {files[r].sha256: out[r] for r in rows})
        if hooks.on_stage:
            hooks.on_stage("embed images", len(rows), len(todo))
    return out


def add_dense(dense: DenseIndex, vectors: np.ndarray, first_row: int, *, threads: int = 1) -> None:
    rows = np.flatnonzero(np.abs(vectors).sum(axis=1) > 0)
    dense.add(vectors[rows], rows + first_row, threads=threads)


def _meaning_neighbours(
    index: CatalogIndex, word_vectors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each meaning's neighbours: rows whose meaning's words are at least SAME_WORDING close
    (`word_vectors`, from `engine.word_meaning`, one per meaning), up to NEIGHBOURS, its own rows
    first; and their similarity; -1 / 0 padded."""
    rows = np.full((len(word_vectors), NEIGHBOURS), -1, np.int32)
    sims = np.zeros((len(word_vectors), NEIGHBOURS), np.float32)
    graph = DenseIndex(word_vectors.shape[1], capacity=len(word_vectors))
    add_dense(graph, word_vectors, 0, threads=ALL_CORES)
    if len(graph):
        found, similarity = graph.search_many(word_vectors, NEIGHBOURS)
        close = (similarity >= SAME_WORDING) & np.any(word_vectors, axis=1).reshape(-1, 1)
        fill_neighbours(index, np.arange(len(word_vectors)), (found, similarity, close), rows, sims)
    return rows, sims


def fill_neighbours(
    index: CatalogIndex,
    meanings: np.ndarray,
    search: tuple[np.ndarray, np.ndarray, np.ndarray],
    rows: np.ndarray,
    sims: np.ndarray,
) -> None:
    """Writes the neighbour lists of `meanings` into `rows` and `sims`, one row per meaning,
    from what a search found for each: (meanings found, their similarity, close enough)."""
    found, similarity, close = search
    similarity = np.minimum(similarity, 1.0)  # float error can exceed 1 for identical texts
    for meaning, near, near_sims, near_close in zip(
        meanings.tolist(), found, similarity, close, strict=True
    ):
        keep = near_close & (near != meaning)
        near = np.concatenate([[meaning], near[keep]])  # its own, even if the search missed it
        near_sims = np.concatenate([[1.0], near_sims[keep]])
        members, source = index.meanings.of_many(near, NEIGHBOURS)
        rows[meaning] = -1
        rows[meaning, : len(members)] = members
        sims[meaning] = 0.0
        sims[meaning, : len(members)] = near_sims[source]


def emoji_only_rows(records: Sequence[StickerRecord]) -> np.ndarray:
    """(len(records),) bool: which records' meaning is only their emoji's name."""
    return np.fromiter((not has_own_meaning(r) for r in records), bool, len(records))


def build_field(
    name: str, records: Sequence[StickerRecord], emoji: EmojiKeywords, trust: np.ndarray
) -> FieldIndex:
    """One lexical field; rows sharing an emoji are returned most trusted first."""
    if name == "meaning":
        return FieldIndex([" ".join(filter(None, (r.caption, r.ocr))) for r in records])
    if name == "emoji":
        return FieldIndex(_emoji_texts(records, emoji), priority=trust)
    if name == "title":
        return FieldIndex([title_text(r) for r in records])
    raise ValueError(f"unknown lexical field {name!r}; expected one of {FIELDS}")


def _emoji_texts(records: Sequence[StickerRecord], emoji: EmojiKeywords) -> list[str]:
    """Each record's emoji keywords, looked up once per distinct emoji: a sticker's text
    depends on its emoji alone, and thousands of stickers share one."""
    by_emoji: dict[str | None, str] = {}
    texts = []
    for record in records:
        text = by_emoji.get(record.emoji)
        if text is None:
            text = by_emoji[record.emoji] = emoji_text(record, emoji)
        texts.append(text)
    return texts
