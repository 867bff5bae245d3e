"""A benchmark dataset with one of its art styles drawn anew.

The development sets draw every meaning in three art styles (Noto, Twemoji, OpenMoji), one
style per group of packs. Other datasets draw in other styles, and the style vectors
(engine.style) must tell those apart too. This copies a dataset with the packs of one style
redrawn from a folder of emoji artwork whose files are named by code points, as emoji image
packages name them (`1f431.png`, `0023-fe0f-20e3.webp`), so `stickerbot bench` measures a
style nothing was tuned on.

A sticker's emoji is read off its caption, which must be a CLDR English name, as in the
development sets. Ids, packs, history and judgements stay as they are: the same packs, drawn
differently. A sticker whose meaning the folder lacks keeps its image, and is counted.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from engine.bench.copies import (
    copy_sticker_files,
    emoji_by_name,
    pack_styles,
    plain_rows,
    refuse_existing,
    refuse_unreadable,
)
from engine.catalog import read_judged_queries
from engine.emoji import EmojiKeywords, normalise
from engine.errors import CatalogError

ART_SUFFIXES = (".png", ".webp")  # what Pillow decodes and emoji packages ship
REDRAWN_FORMATS = {".png": "PNG", ".webp": "WEBP"}  # sticker files that can be redrawn


@dataclass(frozen=True)
class Restyled:
    """What a copy holds: the packs redrawn, and their stickers redrawn or kept as they were."""

    packs: tuple[str, ...]
    redrawn: int
    kept: int


def write_restyled(dataset: Path, out: Path, art: Path, like: str | None = None) -> Restyled:
    """Copy `dataset` to `out` (a new folder) with the packs of one style redrawn from `art`:
    the style of pack `like`, else the first style by name."""
    drawings = art_by_emoji(art)
    refuse_existing(out)
    refuse_unreadable(dataset)
    catalog = plain_rows(dataset / "catalog.jsonl")
    styles = pack_styles(catalog, read_judged_queries(dataset))
    packs = _packs_of_style(styles, like, dataset)
    out.mkdir(parents=True)
    for name in ("catalog", "history", "queries"):
        shutil.copyfile(dataset / f"{name}.jsonl", out / f"{name}.jsonl")
    copy_sticker_files(dataset, out, catalog)
    by_name = emoji_by_name(EmojiKeywords.load())
    redrawn = kept = 0
    for row in catalog:
        if str(row["set"]) not in packs:
            continue
        drawing = drawings.get(by_name.get(str(row.get("caption") or "").casefold(), ""))
        if drawing is not None and _redraw(out / str(row["file"]), drawing):
            redrawn += 1
        else:
            kept += 1
    return Restyled(tuple(sorted(packs)), redrawn, kept)


def art_by_emoji(folder: Path) -> dict[str, Path]:
    """The images of `folder` by the emoji their names spell in hex code points, variation
    selectors dropped as the keyword table drops them."""
    if not folder.is_dir():
        raise CatalogError(str(folder), 0, "art", "is not a folder of emoji images")
    found = {}
    for path in sorted(folder.iterdir()):
        emoji = _emoji_of(path.stem)
        if path.suffix.lower() in ART_SUFFIXES and emoji:
            found[emoji] = path
    if not found:
        raise CatalogError(
            str(folder), 0, "art", "holds no PNG or WEBP named by code points, like 1f431.png"
        )
    return found


def _emoji_of(stem: str) -> str:
    try:
        return normalise("".join(chr(int(part, 16)) for part in stem.split("-")))
    except (ValueError, OverflowError):
        return ""


def _packs_of_style(styles: dict[str, str], like: str | None, dataset: Path) -> set[str]:
    if like is None:
        first = min(styles.values(), default=None)
        return {pack for pack, style in styles.items() if style == first}
    if like not in styles:
        raise CatalogError(str(dataset), 0, "set", f"has no pack '{like}'; name one of its packs")
    return {pack for pack, style in styles.items() if style == styles[like]}


def _redraw(target: Path, drawing: Path) -> bool:
    """`target` drawn anew from `drawing`, at its size and in its format; False (and untouched)
    when it is no PNG or WEBP, or either image cannot be read (or is too large to)."""
    image_format = REDRAWN_FORMATS.get(target.suffix.lower())
    if image_format is None:
        return False
    try:
        with Image.open(target) as old:
            size = old.size
        with Image.open(drawing) as new:
            image = new.convert("RGBA").resize(size, Image.Resampling.LANCZOS)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return False
    image.save(target, format=image_format)
    return True
