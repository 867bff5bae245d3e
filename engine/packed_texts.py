"""Many short texts (or None) held as UTF-8 bytes in a few buffers, not as a str object each.

A Python str costs 49 bytes of header beside its characters, and a list 8 more for its pointer:
at 543,098 stickers, Telegram's file ids (71 characters) took 71 MB as a list and 41 MB here
(their 37 MB of bytes, and where each ends).
A catalog grown live shares the buffers of the one it grows and adds one of its own, so a
growth copies none of them. Buffers of like size are merged as they come (as the levels of a
log-structured merge tree), so there are never more than about log2(rows) of them.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Generic, TypeVar, cast, overload

import numpy as np

T = TypeVar("T", str, str | None)  # texts, or texts some of which may be missing


@dataclass(frozen=True)
class _Buffer:
    # Python arrays, not numpy's: reading one text at a time, numpy's scalars cost more than
    # the text's decoding.
    data: bytes  # the texts' UTF-8 bytes, one after another
    bounds: array[int]  # text i is data[bounds[i] : bounds[i + 1]]
    missing: bytes | None  # 1 where the text is None (None: no text is missing)

    @classmethod
    def of(cls, texts: Sequence[str | None]) -> _Buffer:
        encoded = [(text or "").encode() for text in texts]
        bounds = array("q", [0])
        bounds.extend(accumulate(map(len, encoded)))
        missing = bytes(text is None for text in texts)
        return cls(b"".join(encoded), bounds, missing if any(missing) else None)

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def text(self, i: int) -> str | None:
        if self.missing is not None and self.missing[i]:
            return None
        return self.data[self.bounds[i] : self.bounds[i + 1]].decode()

    def __iter__(self) -> Iterator[str | None]:
        # One at a time: a list of a whole buffer's texts, decoded at once, took 25 MB at a
        # live growth's peak (543,098 ids written to the manifest).
        return map(self.text, range(len(self)))


def _merged(buffers: Sequence[_Buffer]) -> _Buffer:
    """One buffer holding the texts of `buffers`, in order."""
    bounds = array("q", [0])
    offset = 0
    for buffer in buffers:
        ends = np.frombuffer(buffer.bounds, np.int64)[1:] + offset
        bounds.frombytes(ends.tobytes())
        offset += len(buffer.data)
    missing = None
    if any(b.missing is not None for b in buffers):
        missing = b"".join(b.missing or bytes(len(b)) for b in buffers)
    return _Buffer(b"".join(b.data for b in buffers), bounds, missing)


def _levelled(buffers: list[_Buffer]) -> list[_Buffer]:
    """`buffers`, the last ones merged while the newest is at least half its predecessor."""
    while len(buffers) > 1 and 2 * len(buffers[-1]) >= len(buffers[-2]):
        buffers[-2:] = [_merged(buffers[-2:])]
    return buffers


class PackedTexts(Sequence[T], Generic[T]):
    """A sequence of texts (or None) that grows at its end; a text may be replaced."""

    def __init__(
        self, buffers: Iterable[_Buffer] = (), replaced: dict[int, T] | None = None
    ) -> None:
        self._hold([b for b in buffers if len(b)])
        # A few: file ids seen newer than the catalog's.
        self._replaced: dict[int, T] = dict(replaced or {})

    @classmethod
    def of(cls, texts: Iterable[T]) -> PackedTexts[T]:
        return cls([_Buffer.of(list(texts))])

    def __len__(self) -> int:
        return int(self._starts[-1])

    @overload
    def __getitem__(self, row: int) -> T: ...

    @overload
    def __getitem__(self, rows: slice) -> list[T]: ...

    def __getitem__(self, row: int | slice) -> T | list[T]:
        if isinstance(row, slice):
            return self.take(range(*row.indices(len(self))))
        size = self._starts[-1]
        at = row + size if row < 0 else row
        if not 0 <= at < size:
            raise IndexError(f"row {row} of {size}")
        return self._text(at)

    def take(self, rows: Iterable[int]) -> list[T]:
        """The texts at `rows` (each one of this sequence's), in their order: a page of
        results reads its ids this way, without a bounds check per text."""
        return [self._text(row) for row in rows]

    def _text(self, row: int) -> T:
        if row in self._replaced:
            return self._replaced[row]
        at = bisect_right(self._starts, row) - 1
        return cast(T, self._buffers[at].text(row - self._starts[at]))

    def __setitem__(self, row: int, text: T) -> None:
        if not 0 <= row < len(self):
            raise IndexError(f"row {row} of {len(self)}")
        self._replaced[row] = text

    def __iter__(self) -> Iterator[T]:
        for start, buffer in zip(self._starts, self._buffers, strict=False):
            for i, text in enumerate(cast(Iterator[T], iter(buffer))):
                yield self._replaced.get(start + i, text) if self._replaced else text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or len(other) != len(self):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable, as a list is

    def __add__(self, other: PackedTexts[T]) -> PackedTexts[T]:
        """These texts then `other`'s; this one's buffers are shared, not copied."""
        replaced = self._replaced | {len(self) + r: t for r, t in other._replaced.items()}
        return PackedTexts(_levelled([*self._buffers, *other._buffers]), replaced)

    def extend(self, texts: Sequence[T]) -> None:
        """Append `texts` (as one buffer, merged with the last ones when they are alike)."""
        if not texts:
            return
        self._hold(_levelled([*self._buffers, _Buffer.of(texts)]))

    def _hold(self, buffers: list[_Buffer]) -> None:
        """Hold `buffers`, and the row each starts at (then the total) for finding a row."""
        self._buffers = buffers
        self._starts = list(accumulate((len(b) for b in buffers), initial=0))

    def __repr__(self) -> str:
        return f"PackedTexts({len(self)} texts in {len(self._buffers)} buffers)"
