"""Per-row arrays grown on disk and saved by linking (engine.row_files), on real files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from engine.row_files import appended, file_behind, read_rows, row_chunks, save_rows


@pytest.fixture
def mapped(tmp_path: Path) -> np.ndarray:
    array = np.arange(40, dtype=np.float32).reshape(10, 4)
    np.save(tmp_path / "rows.npy", array)
    return np.load(tmp_path / "rows.npy", mmap_mode="r")


def test_only_a_whole_mapped_file_counts_as_one(mapped: np.ndarray, tmp_path: Path) -> None:
    assert file_behind(mapped) == (tmp_path / "rows.npy", mapped.offset)
    assert file_behind(mapped[2:]) is None  # a view of part of it
    assert file_behind(mapped[:, :2]) is None
    assert file_behind(np.array(mapped)) is None  # a copy in memory


@pytest.mark.parametrize("sendfile", [True, False], ids=["by the kernel", "by hand"])
def test_rows_appended_to_a_mapped_file_go_to_a_new_file(
    mapped: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sendfile: bool
) -> None:
    if not sendfile:

        def refuse(*args: object) -> int:
            raise OSError("no sendfile between these files")

        monkeypatch.setattr(os, "sendfile", refuse)
    before = (tmp_path / "rows.npy").read_bytes()
    extra = np.full((3, 4), -1.0, np.float32)
    grown = appended(mapped, extra, tmp_path / "grown.npy")
    assert file_behind(grown) is not None and Path(grown.filename) == tmp_path / "grown.npy"
    np.testing.assert_array_equal(grown, np.concatenate([mapped, extra]))
    assert (tmp_path / "rows.npy").read_bytes() == before  # the source is never changed
    assert np.load(tmp_path / "grown.npy").shape == (13, 4)


def test_a_writable_grown_file_takes_changes_and_its_source_does_not(
    mapped: np.ndarray, tmp_path: Path
) -> None:
    before = (tmp_path / "rows.npy").read_bytes()
    grown = appended(mapped, np.zeros((1, 4), np.float32), tmp_path / "grown.npy", writable=True)
    grown[0] = 5.0  # a row of the source's, changed in the new file only
    grown.flush()
    assert np.load(tmp_path / "grown.npy")[0].tolist() == [5.0] * 4
    assert (tmp_path / "rows.npy").read_bytes() == before
    with pytest.raises(ValueError, match="read-only"):
        appended(mapped, np.zeros((1, 4), np.float32), tmp_path / "other.npy")[0] = 5.0


def test_rows_appended_to_an_array_in_memory_are_concatenated(tmp_path: Path) -> None:
    grown = appended(np.zeros((2, 3)), np.ones((1, 3)), tmp_path / "unused.npy")
    assert not isinstance(grown, np.memmap)
    assert grown.tolist() == [[0, 0, 0], [0, 0, 0], [1, 1, 1]]
    assert not (tmp_path / "unused.npy").exists()


def test_rows_read_from_a_file_equal_the_mapped_ones(mapped: np.ndarray) -> None:
    rows = np.array([7, 0, 7, 3])
    np.testing.assert_array_equal(read_rows(mapped, rows), mapped[rows])
    np.testing.assert_array_equal(read_rows(np.array(mapped), rows), mapped[rows])
    assert read_rows(mapped, np.zeros(0, np.int64)).shape == (0, 4)


def test_a_mapped_file_is_saved_as_a_link_and_anything_else_written(
    mapped: np.ndarray, tmp_path: Path
) -> None:
    save_rows(mapped, tmp_path / "linked.npy")
    assert os.stat(tmp_path / "linked.npy").st_ino == os.stat(tmp_path / "rows.npy").st_ino
    save_rows(mapped[2:], tmp_path / "part.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "part.npy"), mapped[2:])
    assert os.stat(tmp_path / "part.npy").st_ino != os.stat(tmp_path / "rows.npy").st_ino


def test_rows_are_read_in_chunks_from_a_file_or_from_memory(mapped: np.ndarray) -> None:
    for array in (mapped, np.array(mapped)):
        chunks = list(row_chunks(array, 4))
        assert [len(chunk) for chunk in chunks] == [4, 4, 2]
        np.testing.assert_array_equal(np.concatenate(chunks), mapped)
