"""PostgreSQL pg_trgm's `similarity()`, and an inverted index to find similar strings fast.

pg_trgm splits a string into words (runs of letters and digits), lowercases each, pads it with
two spaces before and one after, and takes the set of its three-character windows; similarity is
|A ∩ B| / |A ∪ B| over the two sets. "cat" gives {"  c", " ca", "cat", "at "}.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+")  # letters and digits: pg_trgm's word characters
LEFT_PAD = "  "
RIGHT_PAD = " "


@lru_cache(maxsize=65536)
def trigrams(text: str) -> frozenset[str]:
    """pg_trgm's trigram set of `text` (`show_trgm`)."""
    grams: set[str] = set()
    for word in _WORD.findall(text.lower()):
        padded = f"{LEFT_PAD}{word}{RIGHT_PAD}"
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return frozenset(grams)


def similarity(left: str, right: str) -> float:
    """pg_trgm's `similarity(left, right)`: 0 when either side has no trigram."""
    a, b = trigrams(left), trigrams(right)
    shared = len(a & b)
    union = len(a) + len(b) - shared
    return shared / union if union and a and b else 0.0


class TrigramIndex:
    """Strings indexed by trigram; `search` returns those similar to a query, like a GIN index
    serving `similarity(item, query) >= threshold`."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._sizes: list[int] = []
        self._ids: dict[str, int] = {}
        self._postings: dict[str, list[int]] = defaultdict(list)

    def add(self, item: str) -> int:
        """Index `item` once; returns its id (the existing one for a repeat)."""
        known = self._ids.get(item)
        if known is not None:
            return known
        item_id = len(self.items)
        self._ids[item] = item_id
        self.items.append(item)
        grams = trigrams(item)
        self._sizes.append(len(grams))
        for gram in grams:
            self._postings[gram].append(item_id)
        return item_id

    def search(self, query: str, threshold: float) -> dict[int, float]:
        """{item id: similarity} for every item at or above `threshold` (which must be > 0)."""
        grams = trigrams(query)
        shared: dict[int, int] = defaultdict(int)
        for gram in grams:
            for item_id in self._postings.get(gram, ()):
                shared[item_id] += 1
        found: dict[int, float] = {}
        for item_id, count in shared.items():
            score = count / (len(grams) + self._sizes[item_id] - count)
            if score >= threshold:
                found[item_id] = score
        return found
