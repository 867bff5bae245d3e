"""Writing a modified copy of a benchmark dataset (engine.bench.described, .reworded)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.errors import CatalogError


def refuse_existing(out: Path) -> None:
    """A copy goes to a new folder: one in the way is never overwritten."""
    if out.exists():
        raise CatalogError(str(out), 0, "folder", "already exists; choose a new one")


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
