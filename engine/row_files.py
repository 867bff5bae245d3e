"""Per-row arrays as .npy files: grown by appending on disk, saved by linking.

An index keeps its per-row vectors (meaning, pixel statistics, CLIP image) and its meanings'
neighbour tables memory-mapped from its folder. Growing one live used to concatenate each in
memory: at 543,098 stickers the meaning vectors alone are 1.1 GB, read whole through the
mapping, copied, and written again by the save. Here a growth copies the file's bytes into a
new file and writes the new rows after them, and the save links that file into the new index
folder: no row passes through the process's memory. A growth may change rows of its new file
(the neighbour lists it touches) before the save; once saved, index files are never changed in
place, only replaced, so two folders may share one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

COPY_BUFFER = 1 << 20  # bytes per read when copying a file's rows


def file_behind(array: np.ndarray) -> tuple[Path, int] | None:
    """The .npy file `array` maps whole (as np.load(path, mmap_mode="r") returns it) and where
    its rows start in it, or None: an array in memory, or a view of part of a file."""
    if not isinstance(array, np.memmap) or array.filename is None:
        return None
    path = Path(array.filename)
    try:
        with path.open("rb") as file:
            shape, dtype, offset = _header(file)
    except (OSError, ValueError):
        return None
    whole = (
        shape == array.shape
        and dtype == array.dtype
        and offset == array.offset
        and array.flags.c_contiguous
    )
    return (path, offset) if whole else None


def _header(file: BinaryIO) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, where the data starts) of the .npy file open in `file`."""
    version = np.lib.format.read_magic(file)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(file)
    else:
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(file)
    if fortran_order:
        raise ValueError("column-major .npy file")
    return shape, dtype, file.tell()


def read_rows(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """`array[rows]`, each row of a mapped file read on its own. Read through the mapping, each
    row would bring its neighbours in too (the kernel maps up to 64 KB around a page it faults
    in): 4,096 rows scattered over a 100,000-row file made the whole 200 MB of it resident."""
    rows = np.asarray(rows, np.int64)
    behind = file_behind(array)
    if behind is None:
        return np.asarray(array[rows])
    path, offset = behind
    out = np.empty((len(rows), *array.shape[1:]), array.dtype)
    row_bytes = out[0].nbytes if len(rows) else 0
    with path.open("rb") as file:
        descriptor = file.fileno()
        for i, row in enumerate(rows.tolist()):
            out[i] = np.frombuffer(
                os.pread(descriptor, row_bytes, offset + row * row_bytes), array.dtype
            ).reshape(array.shape[1:])
    return out


def row_chunks(array: np.ndarray, rows_per_chunk: int) -> Iterator[np.ndarray]:
    """`array`'s rows in order, `rows_per_chunk` at a time. A mapped file's are read from the
    file, so reading all of them does not leave the whole file resident in the process."""
    behind = file_behind(array)
    if behind is None:
        for start in range(0, len(array), rows_per_chunk):
            yield np.asarray(array[start : start + rows_per_chunk])
        return
    path, offset = behind
    values_per_row = int(np.prod(array.shape[1:]))
    with path.open("rb") as file:
        file.seek(offset)
        for start in range(0, len(array), rows_per_chunk):
            count = min(rows_per_chunk, len(array) - start)
            values = np.fromfile(file, array.dtype, count * values_per_row)
            yield values.reshape(count, *array.shape[1:])


def appended(
    array: np.ndarray, rows: np.ndarray, path: Path, *, writable: bool = False
) -> np.ndarray:
    """`array` with `rows` after it. When `array` maps a whole .npy file, the result is written
    to `path` (a new file) and returned mapped, `writable` to change rows of the new file in
    place before anyone else reads it; otherwise it is concatenated in memory."""
    rows = np.ascontiguousarray(rows, dtype=array.dtype)
    behind = file_behind(array)
    if behind is None:
        return np.concatenate([array, rows])
    source, offset = behind
    header = np.lib.format.header_data_from_array_1_0(array)
    header["shape"] = (array.shape[0] + len(rows), *array.shape[1:])
    with source.open("rb") as old, path.open("wb") as new:
        np.lib.format.write_array_header_2_0(new, header)
        new.flush()
        _copy_from(old, offset, new)
        new.write(rows.tobytes())
    return np.load(path, mmap_mode="r+" if writable else "r")


def _copy_from(source: BinaryIO, offset: int, target: BinaryIO) -> None:
    """The bytes of `source` from `offset` on, appended to `target`: by the kernel where it can
    (sendfile, no copy through this process), else read and written a buffer at a time."""
    size = os.fstat(source.fileno()).st_size
    try:
        while offset < size:
            sent = os.sendfile(target.fileno(), source.fileno(), offset, size - offset)
            if sent == 0:
                break
            offset += sent
    except OSError:  # no sendfile between these files: copy what is left by hand
        target.seek(0, os.SEEK_END)
    source.seek(offset)
    shutil.copyfileobj(source, target, COPY_BUFFER)


def save_rows(array: np.ndarray, path: Path) -> None:
    """`array` written to `path` as .npy: a link to the file it maps whole when it does (no byte
    copied), a copy of that file where links are not possible, else np.save."""
    behind = file_behind(array)
    if behind is None:
        np.save(path, array)
        return
    link_or_copy(behind[0], path)


def link_or_copy(source: Path, path: Path) -> None:
    """`path` made the same file as `source`: a hard link, or a copy where links are not
    possible (another file system, or one without them)."""
    try:
        os.link(source, path)
    except OSError:
        shutil.copyfile(source, path)
