"""The catalog index: every sticker's meaning vector, style vector, lexical fields and meaning
neighbours, in row order. Immutable once built: live additions build a new index that shares
the dense graph, and the engine swaps the reference (readers keep the snapshot they started with).

Stickers whose meaning text is the same share one meaning: one vector in the dense graph, whose
labels are meanings, not rows (a quarter of a large catalog repeats a caption). The graph's
vectors blend each meaning's sentence vector with its words' (engine.word_meaning.recall_vectors);
`text` keeps the sentence vectors.
Meaning neighbours (other packs' copies of a meaning, worded alike or not) are found by the
rarity-weighted vectors of the captions' words (engine.word_meaning).

Built by engine.build, grown live by engine.growth, saved and opened by engine.index_files.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np
from scipy import sparse

from engine.dense import DenseIndex
from engine.emoji import EmojiKeywords
from engine.encoders import ImageEncoder, TextEncoder, l2_normalise
from engine.field_segments import SegmentedField
from engine.groups import RowGroups
from engine.meaning_book import MeaningBook
from engine.row_files import row_chunks
from engine.row_lookup import RowLookup
from engine.sticker_rows import StickerRows
from engine.style import STYLE_DIM, StyleScaler
from engine.types import StickerRecord

NEIGHBOURS = 16  # meaning neighbours kept per sticker
FIELDS = ("meaning", "emoji", "title")
ROWS_PER_READ = 16384  # pixel statistics read at a time when every pack's style is computed


@dataclass
class CatalogIndex:
    rows: StickerRows  # what serving keeps of each sticker: ids, pack, NSFW score
    # Per-row arrays that serving reads little or nothing of (they feed saving and live growth)
    # are memory-mapped once loaded or saved, so a large catalog's vectors stay on disk until
    # needed. Serving reads the meaning vectors of a few picked stickers (engine.word_focus).
    text: np.ndarray  # (n, d) meaning vectors, zero rows when nothing is known
    style_raw: np.ndarray  # (n, STYLE_DIM) unscaled pixel statistics
    scaler: StyleScaler
    trust: np.ndarray  # (n,) weight of the emoji field
    # (n,) bool: the row's meaning is only its emoji's name, with no caption or OCR text behind
    # it. Pack authors' emoji are loose, so such rows mean the same as others less surely.
    emoji_only: np.ndarray
    meaning_of_row: np.ndarray  # (n,) int64: each row's meaning (dense label), -1 if none
    # Per meaning (rows of one meaning share one list): same-meaning rows, -1 padded, and their
    # similarity; read them per row with neighbour_lists. Memory-mapped too once loaded or
    # saved: serving reads a few lists a query.
    neighbour_rows: np.ndarray  # (meanings, NEIGHBOURS) int32
    neighbour_sims: np.ndarray  # (meanings, NEIGHBOURS) float32
    dense: DenseIndex
    text_model: str
    # The average vector of the dense graph (dense recall's baseline): computed by a build,
    # kept up to date by engine.growth.extend_index, saved with the index.
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
        self.pack_of_row, self.set_rows = _packs(self.rows.set_names)
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


def _packs(set_names: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(each row's pack number, int32; each pack's rows, in order of the packs' first rows).
    Grouped by one sort, not by lists of each pack's rows, which held a Python int per row: at
    543,098 rows in 7,200 packs, the grouping's allocations peaked at 11 MB against 27 MB (this
    runs while a live growth holds the old index), and it took 43 ms against 72-82 ms."""
    numbers: dict[str, int] = {}
    pack_of_row = np.fromiter(
        (numbers.setdefault(name, len(numbers)) for name in set_names), np.int32, len(set_names)
    )
    if not numbers:
        return pack_of_row, {}
    order = np.argsort(pack_of_row, kind="stable")
    ends = np.cumsum(np.bincount(pack_of_row))
    return pack_of_row, dict(zip(numbers, np.split(order, ends[:-1]), strict=True))


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
