"""The catalog index on disk: saved beside its folder and swapped in whole, opened with the
arrays serving reads little or nothing of memory-mapped, and checked against the engine that
opens it."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from engine.dense import DenseIndex
from engine.errors import IndexMismatch
from engine.field_segments import SegmentedField
from engine.index import FIELDS, CatalogIndex, Encoders
from engine.row_files import save_rows
from engine.sticker_rows import StickerRows
from engine.style import STYLE_DIM, StyleScaler

INDEX_VERSION = 7  # stamp on index folders; bump when the files' meaning changes
# The oldest stamp still read: format 6 kept at most one live lexical segment, which format 7
# reads as the first of its levels (engine.field_segments).
OLDEST_READABLE = 6
GROWING_PREFIX = ".growing-"  # a live growth's grown vector files, beside the index folder
# Work folders beside the index (a save's staging, a growth's files) older than this were left
# by a process killed mid-way, and are removed when an engine opens. A save or growth takes
# seconds; a day leaves any still running alone, even on a slow disk.
ABANDONED_SECONDS = 24 * 3600
IDS_PER_WRITE = 10_000  # sticker ids decoded and written to the manifest at a time


def growth_folder(folder: Path) -> tempfile.TemporaryDirectory[str]:
    """A new folder beside the index folder `folder`, removed on exit, where a growth writes
    its grown per-row files (engine.row_files): the save then links them into the index."""
    return tempfile.TemporaryDirectory(prefix=GROWING_PREFIX, dir=folder.parent)


def remove_abandoned_work(folder: Path, now: float | None = None) -> list[str]:
    """Remove the work folders beside the index folder `folder` that a killed process left
    (older than ABANDONED_SECONDS): saves' staging and old copies, growths' files. Their names."""
    now = time.time() if now is None else now
    prefixes = (f".{folder.name}-", GROWING_PREFIX)
    removed = []
    for path in folder.parent.glob(".*"):
        work = path.name.startswith(prefixes) and path.is_dir()
        if work and now - path.stat().st_mtime > ABANDONED_SECONDS:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return sorted(removed)


def save_index(index: CatalogIndex, folder: Path) -> None:
    """Write beside `folder`, then swap it in with renames, so readers never see half an index."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        _write_files(index, staging)
        _swap_in(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # From now on the saved files hold them: an index grown live (whose concatenated arrays
    # are in memory) keeps serving with them mapped, as a loaded one does.
    index.book, index.folder = None, folder
    index.dense.moved(folder / "text.hnsw")
    if index.image_dense is not None:
        index.image_dense.moved(folder / "image.hnsw")
    index.text = _mapped(folder, "text")
    index.style_raw = _mapped(folder, "style_raw")
    index.neighbour_rows = _mapped(folder, "neighbour_rows")
    index.neighbour_sims = _mapped(folder, "neighbour_sims")
    if index.image is not None:
        index.image = _mapped(folder, "image")


def _mapped(folder: Path, name: str) -> np.ndarray:
    """An array of the index folder, memory-mapped: only the pages read are brought in (serving
    never reads the per-row vectors, and the meanings' neighbour tables a few rows a query),
    and a growth appends to a copy of its file instead of to memory (engine.row_files)."""
    return np.load(folder / f"{name}.npy", mmap_mode="r")


def _write_files(index: CatalogIndex, folder: Path) -> None:
    # The per-row arrays of a loaded or grown index are files already: linked, not rewritten.
    save_rows(index.text, folder / "text.npy")
    save_rows(index.style_raw, folder / "style_raw.npy")
    np.save(folder / "trust.npy", index.trust)
    np.save(folder / "emoji_only.npy", index.emoji_only)
    np.save(folder / "meaning_of_row.npy", index.meaning_of_row)
    np.save(folder / "pack_vectors.npy", index.pack_vectors)
    np.save(folder / "pack_means.npy", index.pack_means)
    save_rows(index.neighbour_rows, folder / "neighbour_rows.npy")
    save_rows(index.neighbour_sims, folder / "neighbour_sims.npy")
    np.save(folder / "meaning_mean.npy", index.meaning_mean)
    np.save(folder / "common_wording.npy", index.common_wording)
    index.dense.save(folder / "text.hnsw")
    book = index.meaning_book()
    if book is not None:
        book.save(folder)
    for name, field_index in index.fields.items():
        field_index.save(_field_stem(folder, name))
    if index.image is not None and index.image_dense is not None:
        save_rows(index.image, folder / "image.npy")
        index.image_dense.save(folder / "image.hnsw")
    index.generation = new_generation()
    manifest = {
        "version": INDEX_VERSION,
        "generation": index.generation,
        "text_model": index.text_model,
        "text_dim": int(index.text.shape[1]),
        "count": len(index),
        "style_scaler": index.scaler.to_dict(),
        "image_dim": None if index.image is None else int(index.image.shape[1]),
    }
    _write_manifest(folder / "manifest.json", manifest, index.rows.sticker_ids)


def _write_manifest(path: Path, manifest: dict[str, Any], sticker_ids: Iterable[str]) -> None:
    """`manifest` as a JSON object whose last member is "sticker_ids", an array of the ids
    written IDS_PER_WRITE at a time: the ids are packed in memory (engine.packed_texts), and
    as str objects all at once 543,098 of them took 46 MB, at a live growth's peak."""
    ids = iter(sticker_ids)
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps(manifest)[:-1] + ', "sticker_ids": [')
        separator = ""
        while chunk := list(islice(ids, IDS_PER_WRITE)):
            out.write(separator + json.dumps(chunk)[1:-1])
            separator = ", "
        out.write("]}")


def new_generation() -> str:
    """Unique per save, even for two saves within one clock tick or from two processes."""
    return f"{time.time_ns()}-{secrets.token_hex(4)}"


def _swap_in(staging: Path, folder: Path) -> None:
    old = folder.with_name(f".{folder.name}-old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.replace(folder, old)
    os.replace(staging, folder)
    shutil.rmtree(old, ignore_errors=True)


def load_index(folder: Path, stored: StickerRows, encoders: Encoders) -> CatalogIndex:
    """Open a saved index; `stored` (the store's rows) must cover every indexed sticker."""
    manifest = _read_manifest(folder, encoders)
    rows, missing = stored.ordered_as(manifest["sticker_ids"])
    if missing:
        raise IndexMismatch(
            f"index at {folder} holds {missing} stickers the database lacks; "
            "run `stickerbot build` again"
        )
    scaler = StyleScaler.from_dict(manifest["style_scaler"])
    index = CatalogIndex(
        rows=rows,
        text=_mapped(folder, "text"),
        style_raw=_mapped(folder, "style_raw"),
        scaler=scaler,
        trust=np.load(folder / "trust.npy"),
        emoji_only=np.load(folder / "emoji_only.npy"),
        meaning_of_row=np.load(folder / "meaning_of_row.npy"),
        neighbour_rows=_mapped(folder, "neighbour_rows"),
        neighbour_sims=_mapped(folder, "neighbour_sims"),
        dense=DenseIndex.load(folder / "text.hnsw", int(manifest["text_dim"])),
        text_model=manifest["text_model"],
        generation=str(manifest.get("generation", "")),
        pack_vectors=_load_if_present(folder / "pack_vectors.npy"),
        pack_means=_load_if_present(folder / "pack_means.npy"),
        meaning_mean=np.load(folder / "meaning_mean.npy"),
        common_wording=np.load(folder / "common_wording.npy"),
    )
    index.folder = folder  # a growth reads the meaning book there, if the folder has one
    if manifest.get("image_dim"):
        index.image = _mapped(folder, "image")
        index.image_dense = DenseIndex.load(folder / "image.hnsw", int(manifest["image_dim"]))
    # Read, not rebuilt: tokenising every text again took half a minute at 543k stickers and
    # left its garbage scattered through the heap.
    index.fields = {name: SegmentedField.load(_field_stem(folder, name)) for name in FIELDS}
    return index


def _field_stem(folder: Path, name: str) -> Path:
    return folder / f"lexical-{name}"


def _load_if_present(path: Path) -> np.ndarray:
    """The per-pack array at `path`, or no rows (folders saved before the file existed)."""
    if path.is_file():
        return np.load(path)
    return np.zeros((0, STYLE_DIM), np.float32)


def _read_manifest(folder: Path, encoders: Encoders) -> dict:
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise IndexMismatch(f"cannot read {path} ({error}); run `stickerbot build`") from None
    if manifest.get("version") not in range(OLDEST_READABLE, INDEX_VERSION + 1):
        raise IndexMismatch(
            f"index at {folder} is version {manifest.get('version')}, this Stickerbot reads "
            f"{OLDEST_READABLE}-{INDEX_VERSION}; run `stickerbot build` again"
        )
    if manifest.get("text_model") != encoders.text.name:
        raise IndexMismatch(
            f"index at {folder} was built with {manifest.get('text_model')}, the engine is "
            f"configured with {encoders.text.name}; run `stickerbot build` again"
        )
    return manifest
