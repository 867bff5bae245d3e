"""Reading folders in the benchmark format (FORMAT.md): catalog, history and queries as JSONL.

Every malformed line becomes a CatalogError naming the file, line and field.
"""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import CatalogError
from engine.safe_text import UNSTORABLE, storable
from engine.types import Event, StickerRecord

EVENT_KINDS = ("send", "pick")
DATASET_FILES = ("catalog.jsonl", "history.jsonl", "queries.jsonl")
FOLDER_HINT = "a dataset folder holds catalog.jsonl, history.jsonl and queries.jsonl (FORMAT.md)"
# Fields that name something: one holding a character no database can store (NUL, a lone
# surrogate; JSON carries both) is refused, so that two names never become one. Other text
# keeps the rest, each such character replaced (engine.safe_text).
NAMES = frozenset({"sticker_id", "set", "user_id", "qid"})


@dataclass(frozen=True, slots=True)
class HistoryRow:
    user_id: str
    event: Event


@dataclass(frozen=True, slots=True)
class QueryRow:
    qid: str
    user_id: str
    ts: float
    lang: str | None
    text: str


def require_dataset(folder: Path, files: tuple[str, ...] = DATASET_FILES) -> None:
    """Refuse, before any work, a dataset that is no folder or lacks one of `files`."""
    if not folder.is_dir():
        problem = "is a file, not a folder" if folder.exists() else "does not exist"
        raise CatalogError(str(folder), 0, "folder", f"{problem}; {FOLDER_HINT}")
    for name in files:
        if not (folder / name).is_file():
            raise CatalogError(str(folder / name), 0, "file", f"is missing; {FOLDER_HINT}")


def read_jsonl(
    path: Path, *, skip_partial_tail: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a line that is not a JSON object fails.

    With `skip_partial_tail`, a last line without its newline (a writer killed mid-line) is
    skipped instead of read.
    """
    if not path.is_file():
        hint = f"; {FOLDER_HINT}" if path.name in DATASET_FILES else ""
        raise CatalogError(str(path), 0, "file", f"is missing{hint}")
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if skip_partial_tail and not raw.endswith(b"\n"):
                continue
            line = _decoded(path, number, raw)
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as error:
                problem = f"is not JSON ({error.msg})"
                raise CatalogError(str(path), number, "line", problem) from None
            if not isinstance(obj, dict):
                raise CatalogError(str(path), number, "line", "is not a JSON object")
            yield number, obj


def _decoded(path: Path, number: int, raw: bytes) -> str:
    """A line's text. Read per line, so that bytes that are no UTF-8 are named by their line;
    a byte order mark, which some editors write first, is dropped."""
    if number == 1:
        raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CatalogError(str(path), number, "line", "is not UTF-8 text") from None


class _Fields:
    """Typed access to one JSON line's fields, failing with the file, line and field."""

    def __init__(self, path: Path, line: int, obj: dict[str, Any]) -> None:
        self.path, self.line, self.obj = path, line, obj

    def text(self, name: str, *, optional: bool = False) -> str | None:
        value = self.obj.get(name)
        if value is None and optional:
            return None
        if not isinstance(value, str) or (not optional and not value):
            raise CatalogError(str(self.path), self.line, name, "must be a non-empty string")
        if UNSTORABLE.search(value):
            if name in NAMES:
                problem = "holds NUL or a lone surrogate, which no database can store"
                raise CatalogError(str(self.path), self.line, name, problem)
            return storable(value)
        return value

    def required(self, name: str) -> str:
        value = self.text(name)
        assert value is not None  # text() raised otherwise
        return value

    def query_text(self) -> str:
        """A query's `text`: any string, empty included (a query with no words)."""
        text = self.obj.get("text")
        if not isinstance(text, str):
            raise CatalogError(str(self.path), self.line, "text", "must be a string")
        return text

    def number(self, name: str) -> float:
        value = self.obj.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CatalogError(str(self.path), self.line, name, "must be a number")
        return float(value)


def read_catalog(folder: Path) -> list[StickerRecord]:
    """Stickers of `folder/catalog.jsonl`, with image paths made absolute inside the folder."""
    require_dataset(folder, files=())  # the folder: a missing catalog is read_jsonl's to name
    path = folder / "catalog.jsonl"
    records: list[StickerRecord] = []
    seen: set[str] = set()
    for line, obj in read_jsonl(path):
        fields = _Fields(path, line, obj)
        sticker_id = fields.required("sticker_id")
        if sticker_id in seen:
            raise CatalogError(str(path), line, "sticker_id", f"repeats '{sticker_id}'")
        seen.add(sticker_id)
        # A sticker without a file (an import that could not fetch it) still loads: the build
        # skips it and counts it as 'missing', instead of failing the whole catalog.
        file = fields.text("file", optional=True)
        inside = None if file is None else _inside(folder, file)
        if file is not None and inside is None:
            raise CatalogError(str(path), line, "file", "must stay inside the dataset folder")
        records.append(
            StickerRecord(
                sticker_id=sticker_id,
                set_name=fields.required("set"),
                emoji=fields.text("emoji", optional=True),
                caption=fields.text("caption", optional=True),
                ocr=fields.text("ocr", optional=True),
                path=None if inside is None else str(inside),
            )
        )
    return records


def _inside(folder: Path, file: str) -> Path | None:
    """`folder / file` with its `..` worked out from the words alone; None if it leads out of
    the folder. Symbolic links are not followed here: whoever owns a dataset folder may link
    its images in from elsewhere (two datasets sharing one copy), but a catalog line, which
    may come from anyone, cannot climb out of it."""
    root = Path(os.path.normpath(folder.absolute()))  # the folder may be named with .. too
    joined = Path(os.path.normpath(root / file))
    return joined if joined.is_relative_to(root) else None


def read_history(folder: Path) -> Iterator[HistoryRow]:
    path = folder / "history.jsonl"
    for line, obj in read_jsonl(path):
        fields = _Fields(path, line, obj)
        kind = fields.required("event")
        if kind not in EVENT_KINDS:
            raise CatalogError(str(path), line, "event", "must be 'send' or 'pick'")
        yield HistoryRow(
            user_id=fields.required("user_id"),
            event=Event(
                kind=kind,  # type: ignore[arg-type]  # checked against EVENT_KINDS above
                sticker_id=fields.required("sticker_id"),
                ts=fields.number("ts"),
                query=fields.text("query", optional=True),
                context=fields.text("context", optional=True),
            ),
        )


def read_queries(folder: Path) -> Iterator[QueryRow]:
    """Queries to answer; the `relevant` field is never read here (only the scorer reads it)."""
    path = folder / "queries.jsonl"
    for line, obj in read_jsonl(path):
        fields = _Fields(path, line, obj)
        yield QueryRow(
            qid=fields.required("qid"),
            user_id=fields.required("user_id"),
            ts=fields.number("ts"),
            lang=fields.text("lang", optional=True),
            text=fields.query_text(),
        )


def read_judged_queries(folder: Path) -> list[dict[str, Any]]:
    """The queries with their judgements ({sticker id: grade}), as the scorer and the
    dataset copies read them: each line checked as far as scoring reads it."""
    path = folder / "queries.jsonl"
    rows = []
    seen: set[str] = set()
    for line, obj in read_jsonl(path):
        fields = _Fields(path, line, obj)
        qid = fields.required("qid")
        if qid in seen:  # the run file holds one ranking per qid
            raise CatalogError(str(path), line, "qid", f"repeats '{qid}'")
        seen.add(qid)
        fields.query_text()
        relevant = obj.get("relevant")
        if (
            not isinstance(relevant, dict)
            or not relevant
            or not all(isinstance(grade, int) for grade in relevant.values())
        ):
            problem = "must map sticker ids to grades, at least one"
            raise CatalogError(str(path), line, "relevant", problem)
        rows.append(obj)
    return rows
