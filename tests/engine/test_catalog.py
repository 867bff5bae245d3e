"""Reading benchmark-format folders: every malformed line names its file, line and field."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.catalog import (
    read_catalog,
    read_history,
    read_jsonl,
    read_judged_queries,
    read_queries,
    require_dataset,
)
from engine.errors import CatalogError

GOOD_STICKER = {"sticker_id": "a", "set": "p", "file": "a.png", "emoji": "😴", "caption": "zzz"}
GOOD_EVENT = {"user_id": "u", "ts": 1, "event": "send", "sticker_id": "a", "query": None}
GOOD_QUERY = {"qid": "q1", "user_id": "u", "ts": 2, "lang": "it", "text": "nanna"}


def _write(folder: Path, name: str, lines: list[Any]) -> Path:
    """Lines may be dicts (dumped as JSON) or raw strings (written as they are)."""
    path = folder / name
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _expect_error(error: CatalogError, path: Path, line: int, field: str) -> None:
    message = str(error)
    assert message.startswith(f"{path}:{line}: field '{field}'"), message
    assert "\n" not in message
    assert (error.path, error.line, error.field) == (str(path), line, field)


CATALOG_CASES: dict[str, tuple[list[Any], int, str]] = {
    "bad json": ([GOOD_STICKER, '{"sticker_id": "b", '], 2, "line"),
    "not an object": ([GOOD_STICKER, "[1, 2]"], 2, "line"),
    "missing sticker_id": (
        [{k: v for k, v in GOOD_STICKER.items() if k != "sticker_id"}],
        1,
        "sticker_id",
    ),
    "empty sticker_id": ([{**GOOD_STICKER, "sticker_id": ""}], 1, "sticker_id"),
    "numeric sticker_id": ([{**GOOD_STICKER, "sticker_id": 7}], 1, "sticker_id"),
    "duplicate id": ([GOOD_STICKER, {**GOOD_STICKER, "file": "b.png"}], 2, "sticker_id"),
    "missing set": ([{k: v for k, v in GOOD_STICKER.items() if k != "set"}], 1, "set"),
    "file escapes": ([{**GOOD_STICKER, "file": "../outside.png"}], 1, "file"),
    "file escapes deeper": ([{**GOOD_STICKER, "file": "img/../../x.png"}], 1, "file"),
    "absolute file": ([{**GOOD_STICKER, "file": "/etc/passwd"}], 1, "file"),
    "caption not text": ([{**GOOD_STICKER, "caption": ["a"]}], 1, "caption"),
    "sticker_id with a lone surrogate": (
        [{**GOOD_STICKER, "sticker_id": "a\ud800"}],
        1,
        "sticker_id",
    ),
    "set with NUL": ([{**GOOD_STICKER, "set": "p\x00"}], 1, "set"),
}


HISTORY_CASES: dict[str, tuple[list[Any], int, str]] = {
    "text ts": ([GOOD_EVENT, {**GOOD_EVENT, "ts": "1700000000"}], 2, "ts"),
    "bool ts": ([{**GOOD_EVENT, "ts": True}], 1, "ts"),
    "missing ts": ([{k: v for k, v in GOOD_EVENT.items() if k != "ts"}], 1, "ts"),
    "event like": ([{**GOOD_EVENT, "event": "like"}], 1, "event"),
    "event missing": ([{k: v for k, v in GOOD_EVENT.items() if k != "event"}], 1, "event"),
    "missing sticker_id": ([{**GOOD_EVENT, "sticker_id": None}], 1, "sticker_id"),
    "missing user_id": ([{k: v for k, v in GOOD_EVENT.items() if k != "user_id"}], 1, "user_id"),
    "query not text": ([{**GOOD_EVENT, "event": "pick", "query": 5}], 1, "query"),
    "user_id with a lone surrogate": ([{**GOOD_EVENT, "user_id": "\udfffu"}], 1, "user_id"),
}


def test_missing_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as raised:
        read_catalog(tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'catalog.jsonl'} is missing; a dataset folder holds")
    assert "\n" not in message and "line" not in message


def test_text_no_database_can_store_is_kept_with_those_characters_replaced(
    tmp_path: Path,
) -> None:
    # JSON carries a lone surrogate and NUL; SQLite and PostgreSQL take neither.
    _write(
        tmp_path,
        "catalog.jsonl",
        [{**GOOD_STICKER, "emoji": "\ud83d", "caption": "z\ud800z", "ocr": "a\x00b"}],
    )
    [record] = read_catalog(tmp_path)
    assert (record.emoji, record.caption, record.ocr) == ("\ufffd", "z\ufffdz", "a\ufffdb")
    _write(tmp_path, "history.jsonl", [{**GOOD_EVENT, "event": "pick", "query": "ni\udc00"}])
    [row] = read_history(tmp_path)
    assert row.event.query == "ni\ufffd"


def test_blank_lines_are_skipped_and_do_not_shift_line_numbers(tmp_path: Path) -> None:
    second = {**GOOD_STICKER, "sticker_id": "b", "file": "sub/b.png", "emoji": None}
    path = _write(tmp_path, "catalog.jsonl", ["", GOOD_STICKER, "   ", "\t", second, ""])
    records = read_catalog(tmp_path)
    assert [r.sticker_id for r in records] == ["a", "b"]
    assert records[0].emoji == "😴"
    assert records[0].caption == "zzz"
    assert records[1].emoji is None
    assert records[1].ocr is None
    assert records[1].set_name == "p"
    # paths are made absolute inside the folder
    assert records[1].path == str(tmp_path.absolute() / "sub" / "b.png")
    # an error after blank lines reports the line as an editor shows it
    _write(tmp_path, "catalog.jsonl", ["", GOOD_STICKER, "", "{oops"])
    with pytest.raises(CatalogError) as raised:
        read_catalog(tmp_path)
    _expect_error(raised.value, path, 4, "line")


def test_history_reads_events_in_file_order(tmp_path: Path) -> None:
    pick = {**GOOD_EVENT, "event": "pick", "ts": 5.5, "query": "nanna", "context": "ciao"}
    _write(tmp_path, "history.jsonl", [GOOD_EVENT, "", pick])
    rows = list(read_history(tmp_path))
    assert [r.event.kind for r in rows] == ["send", "pick"]
    assert rows[0].event.ts == 1.0
    assert rows[0].event.query is None
    assert rows[1].user_id == "u"
    assert (rows[1].event.query, rows[1].event.context, rows[1].event.ts) == ("nanna", "ciao", 5.5)


def test_queries_never_need_the_relevant_field(tmp_path: Path) -> None:
    with_grades = {**GOOD_QUERY, "qid": "q2", "relevant": {"a": 2}}
    broken_grades = {**GOOD_QUERY, "qid": "q3", "relevant": "not even a dict"}
    empty_text = {**GOOD_QUERY, "qid": "q4", "text": "", "lang": None}
    _write(tmp_path, "queries.jsonl", [GOOD_QUERY, with_grades, broken_grades, empty_text])
    rows = list(read_queries(tmp_path))
    assert [r.qid for r in rows] == ["q1", "q2", "q3", "q4"]
    assert rows[0].text == "nanna"
    assert rows[0].lang == "it"
    assert rows[0].ts == 2.0
    assert rows[3].text == ""
    assert rows[3].lang is None
    assert not any(hasattr(r, "relevant") for r in rows)


def test_query_without_text_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "queries.jsonl", [GOOD_QUERY, {**GOOD_QUERY, "text": None}])
    with pytest.raises(CatalogError) as raised:
        list(read_queries(tmp_path))
    _expect_error(raised.value, path, 2, "text")


def test_a_byte_order_mark_before_the_first_line_is_no_part_of_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "catalog.jsonl", [GOOD_STICKER])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    [record] = read_catalog(tmp_path)
    assert record.sticker_id == "a"


def test_a_line_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "catalog.jsonl", [GOOD_STICKER])
    with path.open("ab") as out:
        out.write(b'{"sticker_id": "b", "set": "p", "caption": "caf\xe9"}\n')  # Latin-1
    with pytest.raises(CatalogError) as raised:
        read_catalog(tmp_path)
    _expect_error(raised.value, path, 2, "line")
    assert "UTF-8" in str(raised.value)


def test_images_may_be_linked_in_but_no_line_climbs_out(tmp_path: Path) -> None:
    shared = tmp_path / "shared-images"
    shared.mkdir()
    (shared / "a.png").write_bytes(b"png")
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    (dataset / "stickers").symlink_to(shared)  # two datasets sharing one copy of the images
    path = _write(dataset, "catalog.jsonl", [{**GOOD_STICKER, "file": "stickers/a.png"}])
    [record] = read_catalog(dataset)
    assert record.path is not None and Path(record.path).read_bytes() == b"png"
    [record] = read_catalog(shared / ".." / "dataset")  # a folder named with .. itself
    assert record.path == str(dataset / "stickers" / "a.png")

    _write(
        dataset, "catalog.jsonl", [{**GOOD_STICKER, "file": "stickers/../../shared-images/a.png"}]
    )
    with pytest.raises(CatalogError) as raised:
        read_catalog(dataset)
    _expect_error(raised.value, path, 1, "file")


JUDGED_CASES: dict[str, tuple[list[Any], int, str]] = {
    "no judgements": ([{**GOOD_QUERY}], 1, "relevant"),
    "empty judgements": ([{**GOOD_QUERY, "relevant": {}}], 1, "relevant"),
    "judgements as a list": ([{**GOOD_QUERY, "relevant": ["a"]}], 1, "relevant"),
    "grade as text": ([{**GOOD_QUERY, "relevant": {"a": "2"}}], 1, "relevant"),
    "repeated qid": ([{**GOOD_QUERY, "relevant": {"a": 2}}] * 2, 2, "qid"),
    "text missing": ([{**GOOD_QUERY, "text": None, "relevant": {"a": 2}}], 1, "text"),
}


# Each reader, the file it reads, and its malformed lines: (lines, line named, field named).
MALFORMED: dict[str, tuple[Callable[[Path], object], dict[str, tuple[list[Any], int, str]]]] = {
    "catalog.jsonl": (read_catalog, CATALOG_CASES),
    "history.jsonl": (lambda folder: list(read_history(folder)), HISTORY_CASES),
    "queries.jsonl": (read_judged_queries, JUDGED_CASES),  # as scoring reads them
}


@pytest.mark.parametrize(
    ("file", "case"), [(file, case) for file, (_, cases) in MALFORMED.items() for case in cases]
)
def test_a_malformed_line_names_its_file_line_and_field(
    tmp_path: Path, file: str, case: str
) -> None:
    read, cases = MALFORMED[file]
    lines, line, field = cases[case]
    path = _write(tmp_path, file, lines)
    with pytest.raises(CatalogError) as raised:
        read(tmp_path)
    _expect_error(raised.value, path, line, field)


def test_judged_queries_keep_their_judgements(tmp_path: Path) -> None:
    judged = {**GOOD_QUERY, "relevant": {"a": 2, "b": 1}}
    _write(tmp_path, "queries.jsonl", [judged, {**judged, "qid": "q2", "text": ""}])
    rows = read_judged_queries(tmp_path)
    assert [row["relevant"] for row in rows] == [{"a": 2, "b": 1}] * 2


def test_a_dataset_is_a_folder_with_its_three_files(tmp_path: Path) -> None:
    for name in ("catalog.jsonl", "history.jsonl"):
        (tmp_path / name).write_text("", encoding="utf-8")
    hint = "a dataset folder holds catalog.jsonl, history.jsonl and queries.jsonl"
    with pytest.raises(CatalogError, match=rf"queries\.jsonl is missing; {hint}"):
        require_dataset(tmp_path)
    with pytest.raises(CatalogError, match=rf"catalog\.jsonl is a file, not a folder; {hint}"):
        require_dataset(tmp_path / "catalog.jsonl")
    with pytest.raises(CatalogError, match=rf"elsewhere does not exist; {hint}"):
        require_dataset(tmp_path / "elsewhere")
    (tmp_path / "queries.jsonl").write_text("", encoding="utf-8")
    require_dataset(tmp_path)


def test_a_missing_file_of_another_kind_is_not_called_part_of_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as raised:
        list(read_jsonl(tmp_path / "captions.jsonl"))
    assert str(raised.value) == f"{tmp_path / 'captions.jsonl'} is missing"
