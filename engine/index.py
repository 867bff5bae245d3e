"""The catalog index: every sticker's meaning vector, style vector, lexical fields and meaning
neighbours, in row order. Immutable once built: live additions build a new index that shares
the dense graph, and the engine swaps the reference (readers keep the snapshot they started with).

Stickers whose meaning text is the same share one meaning: one vector in the dense graph, whose
labels are meanings, not rows (a quarter of a large catalog repeats a caption). The graph's
vectors blend each meaning's sentence vector with its words' (engine.word_meaning.recall_vectors);
`text` keeps the sentence vectors.
Meaning neighbours (other packs' copies of a meaning, worded alike or not) are found by the
rarity-weighted vectors of the captions' words (engine.word_meaning).

Built here; saved and opened by engine.index_files.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import InitVar, dataclass, field
from functools import cached_property
from itertools import islice
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import sparse

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
from engine.encoders import (
    ENCODE_CHUNK,
    ImageEncoder,
    TextEncoder,
    encode_in_chunks,
    l2_normalise,
    per_row,
)
from engine.errors import IndexMismatch
from engine.field_segments import TAIL_SHARE, SegmentedField
from engine.groups import RowGroups, number_texts
from engine.lexical import FieldIndex
from engine.meaning_book import MeaningBook, has_meaning_book
from engine.media import MediaError, load_sticker_image
from engine.row_files import appended, read_rows, row_chunks
from engine.row_lookup import RowLookup
from engine.sticker_rows import StickerRows
from engine.style import STYLE_DIM, StyleScaler, style_features
from engine.timing import StepTimer, untimed
from engine.types import StickerRecord
from engine.word_meaning import WordCounts, recall_vectors, word_meaning_vectors

log = logging.getLogger(__name__)

ALL_CORES = -1  # hnswlib's "every core": offline builds use them all
NEIGHBOURS = 16  # meaning neighbours kept per sticker
# Cosine of word vectors (engine.word_meaning) above which two captions say the same thing:
# on emoji-dev's captions worded by `bench-describe`, 98% of the pairs so found were copies of
# one meaning, and 84% of the copies were found (with short names, all of them).
SAME_WORDING = 0.99
SAME_MEANING = 0.85  # the same for meaning vectors, for stickers added live (_grown_neighbours)
FIELDS = ("meaning", "emoji", "title")
ROWS_PER_READ = 16384  # pixel statistics read at a time when every pack's style is computed
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


@dataclass
class CatalogIndex:
    rows: StickerRows  # what serving keeps of each sticker: ids, pack, NSFW score
    # Per-row arrays that serving never reads (they feed saving and live growth) are memory-
    # mapped once loaded or saved, so a large catalog's vectors stay on disk until needed.
    text: np.ndarray  # (n, d) meaning vectors, zero rows when nothing is known
    style_raw: np.ndarray  # (n, STYLE_DIM) unscaled pixel statistics
    scaler: StyleScaler
    trust: np.ndarray  # (n,) weight of the emoji field
    # (n,) bool: the row's meaning is only its emoji's name, with no caption or OCR text behind
    # it. Pack authors' emoji are loose, so such rows mean the same as others less surely.
    emoji_only: np.ndarray
    meaning_of_row: np.ndarray  # (n,) int64: each row's meaning (dense label), -1 if none
    # Per meaning (rows of one meaning share one list): same-meaning rows, -1 padded, and their
    # similarity; read them per row with neighbour_lists.
    neighbour_rows: np.ndarray  # (meanings, NEIGHBOURS) int32
    neighbour_sims: np.ndarray  # (meanings, NEIGHBOURS) float32
    dense: DenseIndex
    text_model: str
    # The average vector of the dense graph (dense recall's baseline): computed by a build,
    # kept up to date by extend_index, saved with the index.
    meaning_mean: np.ndarray
    # What the captions' words' vectors share, removed from each (engine.word_meaning): kept so
    # that meanings added live are blended into the dense graph as the first ones were.
    common_wording: np.ndarray
    image: np.ndarray | None = None  # (n, d_clip) CLIP image vectors when configured
    generation: str = ""  # set when saved: tells a running engine that the files changed
    image_dense: DenseIndex | None = None
    fields: dict[str, SegmentedField] = field(default_factory=dict)
    meanings: RowGroups = field(init=False, repr=False)  # the rows of each meaning
    row_of: RowLookup = field(init=False, repr=False)  # each sticker id's row
    # The look-up of the index this one grows (its rows come first): row_of extends it.
    grows: InitVar[RowLookup | None] = None
    set_rows: dict[str, np.ndarray] = field(default_factory=dict)
    # Per pack (in set_rows order): its style (centred_pack_styles), what taste is learnt and
    # matched on; pack_of_row maps each row to it. One vector per pack, not per sticker.
    # Computed from style_raw unless given for every pack (a saved index keeps them, so opening
    # one does not read every sticker's statistics off the disk).
    pack_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, STYLE_DIM), np.float32))
    pack_of_row: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    # Per pack, the mean of its scaled style vectors before centring (see pack_means): a live
    # growth recomputes only the packs it adds to. No rows when not known (older folders).
    pack_means: np.ndarray = field(default_factory=lambda: np.zeros((0, STYLE_DIM), np.float32))
    # The distinct meaning texts and their words (engine.meaning_book), which only a growth
    # reads: held by an index built or grown here until it is saved, then read from its file.
    book: MeaningBook | None = field(default=None, repr=False)
    folder: Path | None = None  # where the index was last saved or loaded from
    _safe: tuple[float, np.ndarray] | None = field(default=None, repr=False)

    def __post_init__(self, grows: RowLookup | None) -> None:
        known = self.meaning_of_row[self.meaning_of_row >= 0]
        self.meanings = RowGroups(self.meaning_of_row, int(known.max()) + 1 if len(known) else 0)
        ids = self.rows.sticker_ids
        self.row_of = RowLookup(ids) if grows is None else grows.grown(ids)
        by_set: dict[str, list[int]] = {}
        for i, set_name in enumerate(self.rows.set_names):
            by_set.setdefault(set_name, []).append(i)
        self.set_rows = {k: np.asarray(v, dtype=np.int64) for k, v in by_set.items()}
        self.pack_of_row = np.zeros(len(self.rows), np.int32)
        for pack, rows in enumerate(self.set_rows.values()):
            self.pack_of_row[rows] = pack
        if len(self.pack_vectors) != len(self.set_rows):
            self.pack_means = pack_means(
                self.style_raw, self.scaler, self.pack_of_row, len(self.set_rows)
            )
            self.pack_vectors = centred_pack_styles(self.pack_means)

    def meaning_book(self) -> MeaningBook | None:
        """The index's meaning book: held, or opened from its folder; None if neither has one
        (folders saved before it existed)."""
        if self.book is None and self.folder is not None:
            return MeaningBook.open(self.folder)
        return self.book

    @property
    def style(self) -> np.ndarray:
        """(n, STYLE_DIM) scaled unit style vectors, computed on demand (serving needs only
        the per-pack vectors)."""
        return self.scaler.transform(self.style_raw)

    def __len__(self) -> int:
        return len(self.rows)

    def safe_mask(self, threshold: float) -> np.ndarray:
        """Rows safe mode may show; computed once per index (the index never changes)."""
        if self._safe is None or self._safe[0] != threshold:
            self._safe = (threshold, self.rows.nsfw < threshold)
        return self._safe[1]

    def pack_style_of(self, rows: np.ndarray | int) -> np.ndarray:
        """The pack style vector(s) of `rows`: what taste is learnt and matched on."""
        return self.pack_vectors[self.pack_of_row[rows]]

    def rows_of_pack(self, pack: int) -> np.ndarray:
        """The rows of pack number `pack` (pack_of_row's numbering: set_rows order)."""
        return next(islice(self.set_rows.values(), pack, None))

    def neighbour_lists(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(len(rows), NEIGHBOURS): each row's same-meaning rows (-1: none, a row may list
        itself) and their similarity, from its meaning's list."""
        meanings = self.meaning_of_row[rows]
        known = meanings >= 0
        found = np.full((len(meanings), NEIGHBOURS), -1, np.int32)
        sims = np.zeros((len(meanings), NEIGHBOURS), np.float32)
        found[known] = self.neighbour_rows[meanings[known]]
        sims[known] = self.neighbour_sims[meanings[known]]
        return found, sims

    def neighbours(self, row: int) -> list[tuple[int, float]]:
        rows, sims = (table[0] for table in self.neighbour_lists(np.array([row])))
        return [(int(r), float(s)) for r, s in zip(rows, sims, strict=True) if r >= 0 and r != row]


def pack_means(
    style_raw: np.ndarray, scaler: StyleScaler, pack_of_row: np.ndarray, packs: int
) -> np.ndarray:
    """(packs, STYLE_DIM) float32: each pack's mean scaled style vector. The rows are read in
    order, a chunk at a time: a 543k catalog's statistics are 348 MB."""
    sums = np.zeros((packs, style_raw.shape[1]), np.float64)
    start = 0
    for chunk in row_chunks(style_raw, ROWS_PER_READ):
        owners = pack_of_row[start : start + len(chunk)]
        membership = sparse.csr_matrix(
            (np.ones(len(chunk)), (owners, np.arange(len(chunk)))), shape=(packs, len(chunk))
        )
        sums += membership @ scaler.transform(chunk)
        start += len(chunk)
    sizes = np.maximum(np.bincount(pack_of_row, minlength=packs), 1)[:, None]
    return (sums / sizes).astype(np.float32)


def centred_pack_styles(means: np.ndarray) -> np.ndarray:
    """Each pack's style: its mean scaled style vector (see pack_means) centred on the mean
    pack, as a unit vector.

    A pack is drawn in one art style, so averaging over it removes what single stickers add
    by their content (a red heart is red in every style); centring removes what all packs
    share, so styles that differ point apart.
    """
    if len(means) == 0:
        return np.zeros((0, means.shape[1]), np.float32)
    centred = np.asarray(means, np.float64)
    if len(centred) > 1:
        centred = centred - centred.mean(axis=0)
    return l2_normalise(centred).astype(np.float32)


@dataclass
class BuiltIndex:
    """An index and its stickers' records, row-aligned, as the per-sticker steps (OCR, NSFW)
    filled them in: what the store keeps, since the index holds only what serving reads."""

    index: CatalogIndex
    records: list[StickerRecord]


@dataclass
class Encoders:
    text: TextEncoder
    emoji: EmojiKeywords
    clip: ImageEncoder | None = None


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
    decoded = _decode_all(records, report, on_progress, bool(encoders.clip), hooks, clock)
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
            index.image = _encode_images(decoded, encoders.clip, hooks)
        with clock.stage("index"):
            index.image_dense = DenseIndex(encoders.clip.dim, capacity=len(kept))
            _add_dense(index.image_dense, index.image, 0, threads=ALL_CORES)
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
class _Decoded:
    """What the per-sticker pass produced, row-aligned with `records`."""

    records: list[StickerRecord]
    style_raw: np.ndarray
    files: list[StickerFile]  # for CLIP: hashed and decoded only on a cache miss


def _decode_all(
    records: Sequence[StickerRecord],
    report: BuildReport,
    on_progress: Callable[[int], None] | None,
    want_images: bool,
    hooks: BuildHooks | None = None,
    clock: StageClock | None = None,
) -> _Decoded:
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
    return _Decoded(kept, raw.astype(np.float32), files)


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


def _encode_images(decoded: _Decoded, clip: ImageEncoder, hooks: BuildHooks) -> np.ndarray:
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


def _add_dense(dense: DenseIndex, vectors: np.ndarray, first_row: int, *, threads: int = 1) -> None:
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
    _add_dense(graph, word_vectors, 0, threads=ALL_CORES)
    if len(graph):
        found, similarity = graph.search_many(word_vectors, NEIGHBOURS)
        close = (similarity >= SAME_WORDING) & np.any(word_vectors, axis=1).reshape(-1, 1)
        _fill_neighbours(
            index, np.arange(len(word_vectors)), (found, similarity, close), rows, sims
        )
    return rows, sims


def _grown_neighbours(
    index: CatalogIndex,
    vectors: np.ndarray,
    meanings: np.ndarray,
    rows: np.ndarray,
    sims: np.ndarray,
) -> None:
    """Neighbour lists of meanings touched by live growth, written into `rows` and `sims`. They
    are found by sentence vectors at SAME_MEANING: word weights belong to the catalog an index
    was built from, and live additions are mostly emoji names, short enough for these. The
    dense graph names the candidates; its blended vectors (recall_vectors) are on another
    scale, so each is measured again on its sentence vector."""
    if len(meanings) == 0 or len(index.dense) == 0:
        return
    found, _ = index.dense.search_many(vectors, NEIGHBOURS)
    found_vectors = _meaning_vectors(index, found.ravel()).reshape(*found.shape, -1)
    similarity = np.einsum("md,mkd->mk", vectors, found_vectors)
    _fill_neighbours(index, meanings, (found, similarity, similarity >= SAME_MEANING), rows, sims)


def _fill_neighbours(
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


def grown_fields(
    index: CatalogIndex,
    records: Sequence[StickerRecord],
    whole: bool,
    emoji: EmojiKeywords,
    trust: np.ndarray,
) -> dict[str, SegmentedField]:
    """The lexical fields of `index` grown: rebuilt `whole` over `records` (every row's), or
    their live segments rebuilt over `records` (the rows added since the build). `trust`
    holds every row's emoji weight (engine.field_segments)."""
    if whole:
        return {name: SegmentedField(build_field(name, records, emoji, trust)) for name in FIELDS}
    live_trust = trust[len(trust) - len(records) :]
    return {
        name: SegmentedField(
            index.fields[name].built, build_field(name, records, emoji, live_trust)
        )
        for name in FIELDS
    }


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


def extend_index(
    index: CatalogIndex,
    indexed: Sequence[StickerRecord],
    records: Sequence[StickerRecord],
    encoders: Encoders,
    report: BuildReport,
    rows_folder: Path | None = None,
) -> BuiltIndex:
    """A new index with `records` appended (live growth); the dense graphs are shared.
    `indexed` are the stored records of the index's last rows, in row order: of every row,
    and the lexical fields and meaning book are rebuilt from them, or of the rows added since
    the build, and only the live segments are (see growth_reads_from). The result's records
    are the ones added. The grown per-row arrays of an index whose arrays are mapped from
    files are written as files to `rows_folder` (engine.row_files); without one they are
    concatenated in memory."""
    whole = _check_indexed(index, indexed)
    book = _book_from_records(index, indexed, encoders) if whole else index.meaning_book()
    if book is None or len(book) != len(index.meanings):
        raise IndexMismatch("the index's meaning book is missing; run `stickerbot build`")
    # New ids only, each once (grown batches may repeat a sticker two packs share).
    fresh = list({r.sticker_id: r for r in records if r.sticker_id not in index.row_of}.values())
    decoded = _decode_all(fresh, report, None, want_images=index.image is not None)
    kept, raw = decoded.records, decoded.style_raw
    first, known = len(index), len(index.meanings)
    grown_book, of_fresh, new = book.grown([meaning_text(r, encoders.emoji) for r in kept])
    meaning_of_row = np.concatenate([index.meaning_of_row, of_fresh])
    new_vectors = encoders.text.encode_text(new) if new else np.zeros((0, index.text.shape[1]))
    searched, common_wording = _grown_recall_vectors(
        index, new_vectors, new, grown_book.words, encoders
    )
    index.dense.add(searched, np.arange(known, len(grown_book)))
    # The meanings the new rows carry: old ones (read from their first row) then every new one.
    touched = np.unique(of_fresh[of_fresh >= 0])
    vectors = np.concatenate([_meaning_vectors(index, touched[touched < known]), new_vectors])
    vectors = vectors.astype(np.float32)
    text = per_row(vectors, np.where(of_fresh >= 0, np.searchsorted(touched, of_fresh), -1))
    reference = _grown_reference(index, new_vectors, len(grown_book))
    fresh_trust = emoji_trust(kept, text, encoders.emoji, encoders.text, reference)
    means = _grown_pack_means(index, kept, raw)
    grown = CatalogIndex(
        rows=index.rows + StickerRows.of(kept),
        grows=index.row_of,
        text=_grown_rows(index.text, text, rows_folder, "text"),
        style_raw=_grown_rows(index.style_raw, raw, rows_folder, "style_raw"),
        scaler=index.scaler,
        trust=np.concatenate([index.trust, fresh_trust]),
        emoji_only=np.concatenate([index.emoji_only, emoji_only_rows(kept)]),
        meaning_of_row=meaning_of_row,
        neighbour_rows=_padded(index.neighbour_rows, len(grown_book) - known, -1),
        neighbour_sims=_padded(index.neighbour_sims, len(grown_book) - known, 0),
        dense=index.dense,
        text_model=index.text_model,
        image=index.image,
        image_dense=index.image_dense,
        meaning_mean=_grown_mean(index.meaning_mean, known, searched),
        common_wording=common_wording,
        pack_vectors=centred_pack_styles(means),
        pack_means=means,
        book=grown_book,
    )
    _grown_neighbours(grown, vectors, touched, grown.neighbour_rows, grown.neighbour_sims)
    if index.image is not None and index.image_dense is not None and encoders.clip is not None:
        image = _encode_images(decoded, encoders.clip, BuildHooks())
        _add_dense(index.image_dense, image, first)
        grown.image = _grown_rows(index.image, image, rows_folder, "image")
    grown.fields = grown_fields(index, [*indexed, *kept], whole, encoders.emoji, grown.trust)
    report.indexed += len(kept)
    return BuiltIndex(grown, kept)


def growth_reads_from(index: CatalogIndex, adding: int) -> int:
    """The first row whose stored record a growth by up to `adding` stickers reads (see
    extend_index): the first row added live since the build, or 0 when the lexical fields
    are to be rebuilt whole, because the live rows would pass TAIL_SHARE of the built ones or
    the index keeps no meaning book (folders saved before it existed)."""
    built = len(index.fields["meaning"].built)
    no_book = index.book is None and not has_meaning_book(index.folder)
    if no_book or len(index) + adding - built > TAIL_SHARE * built:
        return 0
    return built


def _check_indexed(index: CatalogIndex, indexed: Sequence[StickerRecord]) -> bool:
    """Whether `indexed` holds every row's record (else those of the live rows), or
    IndexMismatch if the records read are neither."""
    start = len(index) - len(indexed)
    if (
        start not in (0, len(index.fields["meaning"].built))
        or [r.sticker_id for r in indexed] != index.rows.sticker_ids[start:]
    ):
        raise IndexMismatch(
            f"the {len(indexed)} stored stickers read are not the index's last ones; "
            "run `stickerbot build`"
        )
    return start == 0


def _book_from_records(
    index: CatalogIndex, indexed: Sequence[StickerRecord], encoders: Encoders
) -> MeaningBook:
    """The meaning book of every row's record, numbered as the index numbers them."""
    distinct, numbers = number_texts(
        [meaning_text(r, encoders.emoji) for r in indexed], empty=False
    )
    if not np.array_equal(numbers, index.meaning_of_row):
        raise IndexMismatch(
            "the emoji keywords changed since the index was built; run `stickerbot build` again"
        )
    return MeaningBook.of(distinct)


def _grown_pack_means(
    index: CatalogIndex, kept: Sequence[StickerRecord], raw: np.ndarray
) -> np.ndarray:
    """The pack means (see pack_means) of `index` grown by `kept` (pixel statistics `raw`):
    its packs in their order, then the new ones as their first rows come. Only the packs the
    new rows join are computed, from their rows' statistics."""
    if len(index.pack_means) != len(index.set_rows):
        index.pack_means = pack_means(
            index.style_raw, index.scaler, index.pack_of_row, len(index.set_rows)
        )
    joined = list(dict.fromkeys(record.set_name for record in kept))
    added = [name for name in joined if name not in index.set_rows]
    means = np.concatenate([index.pack_means, np.zeros((len(added), STYLE_DIM), np.float32)])
    number = {name: len(index.set_rows) + i for i, name in enumerate(added)}
    no_rows = np.zeros(0, np.int64)
    for name in joined:
        new_rows = [i for i, record in enumerate(kept) if record.set_name == name]
        old_rows = index.set_rows.get(name, no_rows)
        styles = np.concatenate([read_rows(index.style_raw, old_rows), raw[new_rows]])
        pack = number[name] if name in number else int(index.pack_of_row[old_rows[0]])
        means[pack] = index.scaler.transform(styles).mean(axis=0)
    return means


def _grown_rows(array: np.ndarray, rows: np.ndarray, folder: Path | None, name: str) -> np.ndarray:
    """A per-row array with `rows` appended: as a file `name`.npy in `folder` when given."""
    if folder is None:
        return np.concatenate([array, rows])
    return appended(array, rows, folder / f"{name}.npy")


def _grown_recall_vectors(
    index: CatalogIndex,
    new_vectors: np.ndarray,
    new: list[str],
    words: WordCounts,
    encoders: Encoders,
) -> tuple[np.ndarray, np.ndarray]:
    """The dense graph's vectors of the `new` meanings (sentence vectors `new_vectors`), with
    words weighted by `words` (counted over every meaning of the grown catalog), and the common
    wording removed from them (the index's, or fitted now if it had none)."""
    if not new:
        return new_vectors.astype(np.float32), index.common_wording
    word_vectors, common = word_meaning_vectors(
        new, encoders.text, counts=words, common=index.common_wording
    )
    # A copy: the sentence vectors are kept as the rows' `text`.
    return recall_vectors(np.array(new_vectors, np.float32), word_vectors), common


def _grown_reference(index: CatalogIndex, new_vectors: np.ndarray, count: int) -> np.ndarray:
    """The emoji-trust reference of a catalog grown to `count` meanings, the new ones last."""
    ids = reference_meanings(count)
    known = len(index.meanings)
    old = _meaning_vectors(index, ids[ids < known])
    return np.concatenate([old, new_vectors[ids[ids >= known] - known]]).astype(np.float32)


def _meaning_vectors(index: CatalogIndex, meanings: np.ndarray) -> np.ndarray:
    """The vectors of `meanings` (from the first row of each): only these rows are read from
    the memory-mapped vectors, not the whole catalog's."""
    groups = index.meanings
    return read_rows(index.text, groups.members[groups.starts[meanings]]).astype(np.float32)


def _grown_mean(mean: np.ndarray, count: int, added: np.ndarray) -> np.ndarray:
    """The mean of `count` vectors averaging `mean`, with `added` ones."""
    total = count + len(added)
    if total == 0:
        return mean
    return ((mean * count + np.asarray(added, np.float64).sum(axis=0)) / total).astype(np.float32)


def _padded(table: np.ndarray, extra: int, fill: float) -> np.ndarray:
    """`table` with `extra` more rows of `fill`."""
    return np.concatenate([table, np.full((extra, table.shape[1]), fill, table.dtype)])
