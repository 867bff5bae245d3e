"""Writing a modified copy of a benchmark dataset (engine.bench.described, .reworded,
.restyled), and what the copies read off a development set: its captions' emoji and its styles."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.catalog import read_catalog, read_history, read_jsonl, read_queries
from engine.emoji import EmojiKeywords
from engine.errors import CatalogError

NAME_LOCALE = "en"  # the development sets caption a sticker with its CLDR name in this locale


def refuse_existing(out: Path) -> None:
    """A copy goes to a new folder: one in the way is never overwritten."""
    if out.exists():
        raise CatalogError(str(out), 0, "folder", "already exists; choose a new one")


def refuse_unreadable(dataset: Path) -> None:
    """Refuses what the bench would refuse (files outside the folder too), before anything is
    copied."""
    read_catalog(dataset)
    list(read_history(dataset))
    list(read_queries(dataset))


def plain_rows(path: Path) -> list[dict[str, Any]]:
    return [row for _, row in read_jsonl(path)]


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    path.write_text(lines, encoding="utf-8")


def copy_sticker_files(dataset: Path, out: Path, catalog: Sequence[dict[str, Any]]) -> None:
    """The folders (or files) the catalog's `file` paths start with, copied whole."""
    for top in {Path(str(row["file"])).parts[0] for row in catalog if row.get("file")}:
        source = dataset / top
        if source.is_dir():
            shutil.copytree(source, out / top)
        elif source.is_file():
            shutil.copyfile(source, out / top)


def emoji_by_name(emoji: EmojiKeywords) -> dict[str, str]:
    """Each emoji under its CLDR name (casefolded), the captions of the development sets."""
    by_name = {}
    for one in emoji:
        words = emoji.keywords(one, [NAME_LOCALE])
        if words:
            by_name[words[0].casefold()] = one
    return by_name


def pack_styles(
    catalog: Sequence[dict[str, Any]], queries: Sequence[dict[str, Any]]
) -> dict[str, str]:
    """Each pack's style, named by one of its packs: packs are joined when grade-2 stickers of
    one query (one user's style) come from both."""
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    pack = {row["sticker_id"]: str(row["set"]) for row in catalog}
    for row in queries:
        packs = [pack[s] for s, grade in row["relevant"].items() if grade == 2 and s in pack]
        for other in packs[1:]:
            parent[root(other)] = root(packs[0])
    return {name: root(name) for name in set(pack.values())}
