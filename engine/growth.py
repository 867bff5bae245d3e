"""Live growth: a new index with stickers appended to an existing one, sharing its dense
graphs. Only what the new rows change is computed: their meanings, the packs they join, and
the newest live levels of the lexical fields (engine.field_segments); every field is rebuilt
whole only for a folder saved without its meaning book."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from engine.build import (
    BuildHooks,
    BuildReport,
    add_dense,
    build_field,
    decode_all,
    emoji_only_rows,
    encode_images,
    fill_neighbours,
)
from engine.documents import meaning_text
from engine.emoji import EmojiKeywords
from engine.emoji_trust import emoji_trust, reference_meanings
from engine.encoders import per_row
from engine.errors import IndexMismatch
from engine.field_segments import SegmentedField
from engine.groups import number_texts
from engine.heap import release_freed_memory
from engine.index import (
    FIELDS,
    NEIGHBOURS,
    BuiltIndex,
    CatalogIndex,
    Encoders,
    centred_pack_styles,
    pack_means,
)
from engine.meaning_book import MeaningBook, has_meaning_book
from engine.row_files import appended, read_rows
from engine.sticker_rows import StickerRows
from engine.style import STYLE_DIM
from engine.types import StickerRecord
from engine.word_meaning import WordCounts, recall_vectors, word_meaning_vectors

# Cosine of sentence vectors above which a sticker added live means what an indexed one does
# (build.SAME_WORDING is for the words' vectors of a build; see _grown_neighbours).
SAME_MEANING = 0.85


def extend_index(
    index: CatalogIndex,
    indexed: Sequence[StickerRecord],
    records: Sequence[StickerRecord],
    encoders: Encoders,
    report: BuildReport,
    rows_folder: Path | None = None,
) -> BuiltIndex:
    """A new index with `records` appended (live growth); the dense graphs are shared.
    `indexed` are the stored records of the index's last rows, in row order (see
    growth_reads_from): of every row, and the lexical fields and meaning book are rebuilt from
    them, or of the live segments the new rows merge with, and only those are rebuilt, into one
    segment with the new rows (engine.field_segments). The result's records
    are the ones added. The grown per-row arrays of an index whose arrays are mapped from
    files are written as files to `rows_folder` (engine.row_files); without one they are
    concatenated in memory."""
    whole = _check_indexed(index, indexed, len(records))
    book = _book_from_records(index, indexed, encoders) if whole else index.meaning_book()
    if book is None or len(book) != len(index.meanings):
        raise IndexMismatch("the index's meaning book is missing; run `stickerbot build`")
    # New ids only, each once (grown batches may repeat a sticker two packs share).
    fresh = list({r.sticker_id: r for r in records if r.sticker_id not in index.row_of}.values())
    decoded = decode_all(fresh, report, None, want_images=index.image is not None)
    kept, raw = decoded.records, decoded.style_raw
    meanings = _grown_meanings(index, book, kept, encoders)
    reference = _grown_reference(index, meanings.new_vectors, len(meanings.book))
    fresh_trust = emoji_trust(kept, meanings.text, encoders.emoji, encoders.text, reference)
    means = _grown_pack_means(index, kept, raw)
    # The grown arrays are allocated next, beside the live index's: give back what decoding
    # and encoding freed first, or they land on top of it (543k stickers: the growth's peak
    # 1,432 -> 1,395 MB).
    release_freed_memory()
    grown = _grown_catalog(index, kept, raw, meanings, fresh_trust, means, rows_folder)
    if index.image is not None and index.image_dense is not None and encoders.clip is not None:
        image = encode_images(decoded, encoders.clip, BuildHooks())
        add_dense(index.image_dense, image, len(index))
        grown.image = _grown_rows(index.image, image, rows_folder, "image")
    start = len(index) - len(indexed)
    grown.fields = grown_fields(index, [*indexed, *kept], start, encoders.emoji, grown.trust)
    report.indexed += len(kept)
    return BuiltIndex(grown, kept)


class _GrownMeanings(NamedTuple):
    """What the new rows do to the meanings of an index (see _grown_meanings)."""

    book: MeaningBook  # the grown book: old meanings, then the new ones
    of_kept: np.ndarray  # each new row's meaning number (-1: none)
    new_vectors: np.ndarray  # sentence vectors of the new meanings
    searched: np.ndarray  # their vectors as the dense graph holds them
    common_wording: np.ndarray
    touched: np.ndarray  # the meanings the new rows carry, sorted
    vectors: np.ndarray  # sentence vectors of `touched`
    text: np.ndarray  # each new row's sentence vector


def _grown_catalog(
    index: CatalogIndex,
    kept: Sequence[StickerRecord],
    raw: np.ndarray,
    meanings: _GrownMeanings,
    trust: np.ndarray,
    means: np.ndarray,
    rows_folder: Path | None,
) -> CatalogIndex:
    """`index` with the rows of `kept` (pixel statistics `raw`, emoji trust `trust`) after its
    own, sharing its dense graphs, with the meanings and pack means they make; its lexical
    fields and CLIP image rows are the caller's to add."""
    known = len(index.meanings)
    added_meanings = len(meanings.book) - known
    grown = CatalogIndex(
        rows=index.rows + StickerRows.of(kept),
        grows=index.row_of,
        text=_grown_rows(index.text, meanings.text, rows_folder, "text"),
        style_raw=_grown_rows(index.style_raw, raw, rows_folder, "style_raw"),
        scaler=index.scaler,
        trust=np.concatenate([index.trust, trust]),
        emoji_only=np.concatenate([index.emoji_only, emoji_only_rows(kept)]),
        meaning_of_row=np.concatenate([index.meaning_of_row, meanings.of_kept]),
        neighbour_rows=_padded(index.neighbour_rows, added_meanings, -1, rows_folder, "rows"),
        neighbour_sims=_padded(index.neighbour_sims, added_meanings, 0, rows_folder, "sims"),
        dense=index.dense,
        text_model=index.text_model,
        image=index.image,
        image_dense=index.image_dense,
        meaning_mean=_grown_mean(index.meaning_mean, known, meanings.searched),
        common_wording=meanings.common_wording,
        pack_vectors=centred_pack_styles(means),
        pack_means=means,
        book=meanings.book,
    )
    _grown_neighbours(
        grown, meanings.vectors, meanings.touched, grown.neighbour_rows, grown.neighbour_sims
    )
    return grown


def _grown_meanings(
    index: CatalogIndex, book: MeaningBook, kept: Sequence[StickerRecord], encoders: Encoders
) -> _GrownMeanings:
    """The meanings of `kept` numbered into `book` (the index's), the new ones encoded and
    added to the dense graph."""
    known = len(index.meanings)
    grown_book, of_kept, new = book.grown([meaning_text(r, encoders.emoji) for r in kept])
    new_vectors = encoders.text.encode_text(new) if new else np.zeros((0, index.text.shape[1]))
    searched, common_wording = _grown_recall_vectors(
        index, new_vectors, new, grown_book.words, encoders
    )
    index.dense.add(searched, np.arange(known, len(grown_book)))
    # The meanings the new rows carry: old ones (read from their first row) then every new one.
    touched = np.unique(of_kept[of_kept >= 0])
    vectors = np.concatenate([_meaning_vectors(index, touched[touched < known]), new_vectors])
    vectors = vectors.astype(np.float32)
    text = per_row(vectors, np.where(of_kept >= 0, np.searchsorted(touched, of_kept), -1))
    return _GrownMeanings(
        grown_book, of_kept, new_vectors, searched, common_wording, touched, vectors, text
    )


def growth_reads_from(index: CatalogIndex, adding: int) -> int:
    """The first row whose stored record a growth by up to `adding` stickers reads (see
    extend_index): the first row of the live segments its new rows merge with
    (SegmentedField.merge_start; len(index) if none), or 0 when the index keeps no meaning
    book (folders saved before it existed), so every field is rebuilt whole."""
    if index.book is None and not has_meaning_book(index.folder):
        return 0
    return index.fields["meaning"].merge_start(adding)


def _check_indexed(index: CatalogIndex, indexed: Sequence[StickerRecord], adding: int) -> bool:
    """Whether `indexed` holds every row's record (else those a growth by `adding` stickers
    reads: see growth_reads_from), or IndexMismatch if the records read are neither."""
    start = len(index) - len(indexed)
    if (
        start not in (0, growth_reads_from(index, adding))
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
    fill_neighbours(index, meanings, (found, similarity, similarity >= SAME_MEANING), rows, sims)


def grown_fields(
    index: CatalogIndex,
    records: Sequence[StickerRecord],
    start: int,
    emoji: EmojiKeywords,
    trust: np.ndarray,
) -> dict[str, SegmentedField]:
    """The lexical fields of `index` grown by `records`, the records of every row from `start`
    on: the segments before `start` kept, and one new segment over `records` (all of them, as
    the built segment, when `start` is 0). `trust` holds every row's emoji weight."""
    if start == 0:
        return {name: SegmentedField(build_field(name, records, emoji, trust)) for name in FIELDS}
    grown = {}
    for name in FIELDS:
        kept = index.fields[name].kept_before(start)
        segment = build_field(name, records, emoji, trust[start:])
        grown[name] = SegmentedField(kept.built, (*kept.live, segment))
    return grown


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


def _grown_rows(
    array: np.ndarray, rows: np.ndarray, folder: Path | None, name: str, *, writable: bool = False
) -> np.ndarray:
    """A per-row array with `rows` appended: as a file `name`.npy in `folder` when given
    (engine.row_files.appended)."""
    if folder is None:
        return np.concatenate([array, rows])
    return appended(array, rows, folder / f"{name}.npy", writable=writable)


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


def _padded(
    table: np.ndarray, extra: int, fill: float, folder: Path | None, part: str
) -> np.ndarray:
    """A neighbour table (`part`: rows or sims) with `extra` more rows of `fill`, to be written
    into: the growth rewrites the lists of the meanings it touches. As _grown_rows, a new file
    in `folder` when `table` maps one (at 543,098 stickers both tables hold 39 MB)."""
    padding = np.full((extra, table.shape[1]), fill, table.dtype)
    return _grown_rows(table, padding, folder, f"neighbour_{part}", writable=True)
