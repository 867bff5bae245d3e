"""How much each sticker is used and by how many people, as arrays.

One row of counts per sticker ever used (distinct users, picks, sends), so the utility of the
thousands of candidates a query ranks, or a sort of every used sticker for the popular list,
is a few numpy operations, not a Python loop over sticker objects. Holding the GIL through such
a loop once delayed a concurrent query by 30 ms at 10k used stickers.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

GROWTH = 2  # the count arrays double when full


class Usage:
    def __init__(self, capacity: int = 1024) -> None:
        self._slot: dict[str, int] = {}
        self._ids: list[str] = []
        self._users: list[set[str]] = []
        # Per slot: distinct users, picks, sends (separate arrays: each is read whole).
        self._user_counts = np.zeros(capacity, np.int64)
        self._picks = np.zeros(capacity, np.float64)
        self._sends = np.zeros(capacity, np.float64)
        self.max_users = 1  # the widest reach of any sticker, which reach is scaled by
        # The slot of each row of the catalog being served, -1 if unused: ranking reads the
        # utilities of its candidate rows from this without a look-up per sticker id.
        self._rows = _RowSlots({}, np.zeros(0, np.int32))
        # Who used what, once per (user, sticker) pair, as numbers in growable arrays: pack
        # co-usage (engine/pack_neighbours.py) is counted from these in numpy, not by walking
        # every sticker's set of users in Python.
        self._pairs = _Pairs(capacity)
        self.revision = 0  # grows with every new pair and every clear
        self.clears = 0  # grows with every clear (a user's data deleted, or counted anew)

    def __contains__(self, sticker_id: object) -> bool:
        slot = self._slot.get(sticker_id) if isinstance(sticker_id, str) else None
        return slot is not None and bool(self._users[slot])

    def used(self) -> list[str]:
        """Stickers someone uses now, in the order first used."""
        return [self._ids[slot] for slot in range(len(self._ids)) if self._users[slot]]

    def add(self, user_id: str, kind: str, sticker_id: str) -> None:
        slot = self._slot_of(sticker_id)
        users = self._users[slot]
        if user_id not in users:
            users.add(user_id)
            self._pairs.add(user_id, slot)
            self.revision += 1
        (self._picks if kind == "pick" else self._sends)[slot] += 1
        self._user_counts[slot] = len(users)
        self.max_users = max(self.max_users, len(users))

    def used_by(self, user_id: str) -> list[str]:
        """The stickers the user has used (a scan: for the rare deletion of a user)."""
        return [self._ids[slot] for slot, users in enumerate(self._users) if user_id in users]

    def clear(self, sticker_ids: Iterable[str]) -> None:
        """Forget every use of these stickers (to count them anew); call `rescale` when done."""
        cleared = []
        for sticker_id in sticker_ids:
            slot = self._slot.get(sticker_id)
            if slot is not None:
                self._users[slot] = set()
                self._user_counts[slot] = 0
                self._picks[slot] = self._sends[slot] = 0.0
                cleared.append(slot)
        self._pairs.drop_slots(np.asarray(cleared, np.int32))
        self.revision += 1
        self.clears += 1

    def rescale(self) -> None:
        """Recompute the widest reach after `clear`."""
        used = self._user_counts[: len(self._ids)]
        self.max_users = max(1, int(used.max())) if len(used) else 1

    def picks(self, sticker_id: str) -> int:
        slot = self._slot.get(sticker_id)
        return 0 if slot is None else int(self._picks[slot])

    def utilities(self, sticker_ids: Sequence[str]) -> np.ndarray:
        """0..1 per sticker: how many distinct people use it (log-scaled), nudged by its pick
        rate; 0 for stickers nobody uses."""
        slots = np.fromiter(
            (self._slot.get(s, -1) for s in sticker_ids), np.int64, len(sticker_ids)
        )
        return self._utilities_of_slots(slots)

    def bind_rows(self, row_of: Mapping[str, int], size: int) -> None:
        """Number stickers by the rows of a catalog (`row_of`, `size` rows) from now on."""
        rows = _RowSlots(row_of, np.full(size, -1, np.int32))
        self._rows = rows  # published first: a sticker used from now on enters it in _slot_of
        for sticker_id, slot in list(self._slot.items()):  # a copy: `add` may run meanwhile
            if (row := row_of.get(sticker_id)) is not None:
                rows.slots[row] = slot

    def utilities_by_row(self, row_of: Mapping[str, int], rows: np.ndarray) -> np.ndarray | None:
        """`utilities` of the stickers at `rows` of the catalog bound with `row_of`; None when
        another catalog is bound (a query that began before the catalog was swapped)."""
        bound = self._rows
        if bound.row_of is not row_of:
            return None
        return self._utilities_of_slots(bound.slots[rows])

    @property
    def pair_count(self) -> int:
        """How many (user, sticker) pairs are counted."""
        return self._pairs.count

    def pairs_by_row(self, row_of: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray] | None:
        """(user numbers, rows): who used which sticker of the catalog bound with `row_of`, once
        per pair; None when another catalog is bound. Numbers stand for users only here."""
        bound = self._rows
        if bound.row_of is not row_of:
            return None
        users, slots = self._pairs.snapshot()
        # A copy: a sticker first used meanwhile (on another thread) may enter it as we read.
        slot_of_row = bound.slots.copy()
        in_catalog = np.flatnonzero(slot_of_row >= 0)
        size = max(int(slot_of_row.max(initial=-1)), int(slots.max(initial=-1))) + 1
        row_of_slot = np.full(size, -1, np.int64)
        row_of_slot[slot_of_row[in_catalog]] = in_catalog
        rows = row_of_slot[slots]
        known = rows >= 0
        return users[known], rows[known]

    def top(self, k: int) -> list[str]:
        """The k most useful stickers, best first (ties: the first used first)."""
        utility = self._utility(slice(0, len(self._ids)))
        used = np.flatnonzero(utility > 0)
        if len(used) > k:  # only the k best need sorting
            used = used[np.argpartition(-utility[used], k - 1)[:k]] if k > 0 else used[:0]
        best = used[np.lexsort((used, -utility[used]))]
        return [self._ids[slot] for slot in best.tolist()]

    def _utilities_of_slots(self, slots: np.ndarray) -> np.ndarray:
        """`_utility` per slot, 0 where the slot is -1 (a sticker nobody used)."""
        out = np.zeros(len(slots))
        known = slots >= 0
        out[known] = self._utility(slots[known])
        return out

    def _utility(self, slots: np.ndarray | slice) -> np.ndarray:
        users = self._user_counts[slots]
        # A worker thread may read a count raised a moment before max_users follows it.
        widest = max(self.max_users, int(users.max(initial=0)))
        # log1p of a count, looked up: numpy's log1p costs ~17 ns an element, a gather ~2.
        reach = np.log1p(np.arange(widest + 1)) / math.log1p(widest)
        picks, sends = self._picks[slots], self._sends[slots]
        utility = 0.8 * reach[users] + 0.2 * (picks + 1) / (picks + sends + 2)
        utility[users == 0] = 0.0
        return utility

    def _slot_of(self, sticker_id: str) -> int:
        slot = self._slot.get(sticker_id)
        if slot is not None:
            return slot
        slot = len(self._ids)
        # Grown before the id is listed: a concurrent `top` reads len(_ids) counts.
        if slot == len(self._user_counts):
            self._user_counts, self._picks, self._sends = (
                _grown(counts) for counts in (self._user_counts, self._picks, self._sends)
            )
        self._users.append(set())
        self._ids.append(sticker_id)
        self._slot[sticker_id] = slot
        bound = self._rows
        if (row := bound.row_of.get(sticker_id)) is not None:
            bound.slots[row] = slot
        return slot


class _Pairs:
    """(user number, slot) once per user and sticker, appended as first seen. Users are
    numbered here; a number is dropped with the user's last pair (no id outlives its data)."""

    def __init__(self, capacity: int) -> None:
        self._lock = threading.Lock()  # ranking threads take snapshots while events arrive
        self._number: dict[str, int] = {}
        self._users = np.zeros(capacity, np.int32)
        self._slots = np.zeros(capacity, np.int32)
        self._count = 0
        self._next_number = 0

    @property
    def count(self) -> int:
        return self._count

    def add(self, user_id: str, slot: int) -> None:
        with self._lock:
            number = self._number.get(user_id)
            if number is None:
                number = self._number[user_id] = self._next_number
                self._next_number += 1
            if self._count == len(self._users):
                self._users, self._slots = _grown(self._users), _grown(self._slots)
            self._users[self._count], self._slots[self._count] = number, slot
            self._count += 1

    def drop_slots(self, slots: np.ndarray) -> None:
        """Forget the pairs of these slots, and the numbers of users left with none."""
        with self._lock:
            users, kept = self._users[: self._count], ~np.isin(self._slots[: self._count], slots)
            left = set(np.unique(users[kept]).tolist())
            gone = set(np.unique(users[~kept]).tolist()) - left
            self._number = {u: n for u, n in self._number.items() if n not in gone}
            self._count = int(kept.sum())
            self._users[: self._count] = users[kept]
            self._slots[: self._count] = self._slots[: len(kept)][kept]

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of (user numbers, slots)."""
        with self._lock:
            return self._users[: self._count].copy(), self._slots[: self._count].copy()


@dataclass(frozen=True)
class _RowSlots:
    row_of: Mapping[str, int]  # the catalog's sticker id -> row, identifying the catalog
    slots: np.ndarray  # (rows,) int32: usage slot per row, -1 if unused


def _grown(counts: np.ndarray) -> np.ndarray:
    grown = np.zeros(len(counts) * GROWTH, counts.dtype)
    grown[: len(counts)] = counts
    return grown
