"""What everyone's behaviour says about stickers: utility figures and the query log.

Built from the stored events at start-up and updated live. The query log maps each distinct
typed query to the stickers picked after it; queries are embedded, so a new query recalls what
people picked after typing something that means the same, in any language.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from engine.background import BackgroundWork
from engine.completion import completions, partial_word
from engine.dense import DenseIndex
from engine.encoders import TextEncoder
from engine.query_hubs import QueryDensity
from engine.query_words import LoggedWords, QueryWords, words_of
from engine.tokens import fold, tokenize
from engine.usage import Usage
from engine.word_focus import SAMPLED_QUERIES, SAMPLED_STICKERS, WordWeights

QUERY_LOG_CAPACITY = 4096  # initial capacity of the query-vector graph; it grows as needed
# Search breadth of that graph: a query reads only its 10 nearest past queries, for which 64
# finds the same as the catalog graph's 128 on clustered vectors (FACTS.md) in half the time.
QUERY_LOG_EF = 64
# The popular list (empty query, no history) is re-sorted at most this often once it exists:
# popularity moves slowly, and a sort of every used sticker per query would grow with usage.
POPULAR_REFRESH_SECONDS = 10.0
POPULAR_KEPT = 1000
# A past query's cosine to a new one, less how much more crowded its neighbourhood is than the
# log's average (engine.query_hubs), ranks the past queries a new one borrows picks from; this
# many more of them are searched than are kept, so a hub's place is taken by one that stands out.
# The correction is taken at full weight: of 0.5 (CSLS's own), 1, 1.5 and 2, 1 did best on
# emoji-dev (nDCG@10 0.814 without it; 0.817, 0.819, 0.816, 0.808).
HUB_CORRECTION = 1.0
SEARCHED_PER_NEIGHBOUR = 3
# Past queries that share words with a new one are first found by how many of their words it
# holds, this many times as many as are kept; then by those words' weights (engine.word_focus).
REWEIGHED = 4
# The average logged query is taken as if this many zero vectors were logged too: while few
# queries are logged it stays near zero, so one past query cannot cancel out its own repeat.
MEAN_QUERY_PRIOR = 100

if TYPE_CHECKING:
    from engine.index import CatalogIndex

CrowdRow = tuple[str, str, str, str | None]  # an event as counted: user, kind, sticker, query


class Crowd:
    """Crowd statistics per sticker id and the embedded query log."""

    def __init__(self, encoder: TextEncoder) -> None:
        self._encoder = encoder
        self.usage = Usage()
        self._query_rows: dict[str, int] = {}
        self._sorted_queries: list[str] = []  # the logged queries' keys, for completions
        self._queries: list[str] = []
        self._picked: list[Counter[str]] = []  # per query row: sticker id -> picks
        self._vectors = DenseIndex(encoder.dim, capacity=QUERY_LOG_CAPACITY, ef=QUERY_LOG_EF)
        self._density = QueryDensity()  # how crowded each logged query's neighbourhood is
        self._words = QueryWords()  # which logged queries hold which words
        self._word_weights = WordWeights()  # how much each word says (engine.word_focus)
        self._vector_sum = np.zeros(encoder.dim, np.float64)  # of the logged queries' vectors
        self._logged = 0  # distinct queries in the log
        self._lock = threading.Lock()
        self._popular: list[str] = []
        self._popular_at = -math.inf
        self._sorting = BackgroundWork()  # the re-sort of a stale popular list
        self._forgotten = 0  # users forgotten so far: a sort begun before one is discarded

    def add(self, user_id: str, kind: str, sticker_id: str, query: str | None) -> None:
        self.usage.add(user_id, kind, sticker_id)
        if kind == "pick" and query and query.strip():
            self._log_query(query, sticker_id)

    def add_many(self, rows: Sequence[CrowdRow]) -> None:
        """Bulk load (start-up): embeds distinct queries in batches."""
        fresh: dict[str, str] = {}
        for _, kind, _, query in rows:
            if kind == "pick" and query and query.strip() and _key(query) not in self._query_rows:
                fresh.setdefault(_key(query), query.strip())
        if fresh:
            self._embed_new(fresh)
        for user_id, kind, sticker_id, query in rows:
            self.add(user_id, kind, sticker_id, query)

    def _log_query(self, query: str, sticker_id: str) -> None:
        key = _key(query)
        if key not in self._query_rows:
            self._embed_new({key: query.strip()})
        self._picked[self._query_rows[key]][sticker_id] += 1

    def _embed_new(self, texts: dict[str, str]) -> None:
        """Embed queries as typed (accents and case carry meaning for the encoder)."""
        keys = list(texts)
        vectors = self._encoder.encode_text([texts[k] for k in keys])
        with self._lock:
            first = len(self._queries)
            for offset, key in enumerate(keys):
                self._query_rows[key] = first + offset
                self._queries.append(key)
                self._picked.append(Counter())
                bisect.insort(self._sorted_queries, key)
                self._words.logged(first + offset, key)
            rows = np.arange(first, first + len(keys))
            self._vectors.add(vectors, rows)
            self._density.logged(self._vectors, rows, vectors)
            self._vector_sum += np.asarray(vectors, np.float64).sum(axis=0)
            self._logged += len(keys)

    def mean_query(self) -> np.ndarray:
        """The average logged query (float32), shrunk toward zero while few are logged.

        Dense recall measures each caption against it: a caption close to the average query
        is close to nearly every query, a hub that would top the list for any word the text
        model does not know."""
        with self._lock:
            return (self._vector_sum / (self._logged + MEAN_QUERY_PRIOR)).astype(np.float32)

    def similar_queries(self, vector: np.ndarray, k: int) -> list[tuple[str, float, Counter[str]]]:
        """The k past queries nearest to `vector`, hubs put back (engine.query_hubs):
        (query, cosine less the hub correction, picked sticker counts), nearest first."""
        rows, sims = self._vectors.search(vector, k * SEARCHED_PER_NEIGHBOUR)
        corrected = sims - HUB_CORRECTION * self._density.corrections(rows)
        nearest = np.argsort(-corrected, kind="stable")
        queries, picked = self._queries, self._picked
        return [
            (queries[row], similarity, picked[row])
            for row, similarity in zip(
                rows[nearest].tolist(), corrected[nearest].tolist(), strict=True
            )
            if row < len(queries) and queries[row]
        ][:k]

    def sharing_words(
        self, query: str, k: int, index: CatalogIndex | None = None
    ) -> list[tuple[str, float, Counter[str]]]:
        """The k past queries that share most of `query`'s words (engine.query_words):
        (query, how close, 0..1, picked sticker counts), closest first. With the `index`,
        words weigh by their focus (engine.word_focus), in both queries: "my cat pls" then
        shares nearly all it says with "the cat one"."""
        focus = None if index is None else self.word_weights(tokenize(query), index)
        with self._lock:  # the index's arrays grow under this lock, and are read under it
            found = self._words.sharing(query, k if index is None else k * REWEIGHED, focus)
            # A recount blanks a row's text before it takes the row out of the index: skip it.
            shared = [
                (past, closeness, self._picked[row])
                for row, closeness in found
                if (past := self._queries[row])
            ]
        if focus is None or index is None:
            return shared
        return self._reweighed(query, shared, index, focus)[:k]

    def _reweighed(
        self,
        query: str,
        shared: list[tuple[str, float, Counter[str]]],
        index: CatalogIndex,
        focus: dict[str, float],
    ) -> list[tuple[str, float, Counter[str]]]:
        """`shared` with each past query's share of its words held by `query` counted by
        their weights (`focus`: those of the query's words) instead of their number, closest
        first."""
        words = set(tokenize(query))
        own_words = [words_of(past) for past, _, _ in shared]
        # A past query with no word beyond the new one's holds all it says either way.
        beyond = frozenset().union(*own_words) - words
        weights = self.word_weights(beyond, index) if beyond else {}
        reweighed = []
        for (past, closeness, picked), own in zip(shared, own_words, strict=True):
            if own <= words:
                reweighed.append((past, closeness, picked))
                continue
            held = sum(focus.get(word, 1.0) for word in own & words)
            share_held = len(own & words) / len(own)
            total = held + sum(weights[word] for word in own - words)
            reweighed.append((past, closeness * held / total / share_held, picked))
        return sorted(reweighed, key=lambda found: -found[1])

    def word_weights(self, words: Iterable[str], index: CatalogIndex) -> dict[str, float]:
        """Each word's weight by how focused the picks after it are (engine.word_focus)."""
        return self._word_weights.of(words, index, self)

    def holding(self, words: Iterable[str]) -> dict[str, int]:
        """How many logged queries hold each of `words`."""
        with self._lock:
            return {word: self._words.holding(word) for word in words}

    def picked_after(self, word: str) -> Counter[str]:
        """The picks after the latest logged queries that hold `word`: at most SAMPLED_QUERIES
        of them, newest first, until SAMPLED_STICKERS stickers are among their picks."""
        picked: Counter[str] = Counter()
        with self._lock:
            for row in reversed(self._words.recent_rows(word, SAMPLED_QUERIES)):
                picked.update(self._picked[row])
                if len(picked) >= SAMPLED_STICKERS:
                    break
        return picked

    def word_counts(self, query: str) -> LoggedWords:
        """How many logged queries hold each of `query`'s words (engine.query_words)."""
        with self._lock:
            return self._words.counts(query)

    @staticmethod
    def key(query: str) -> str:
        """The form under which a query is logged (case, accents and spacing folded)."""
        return _key(query)

    def exact_query(self, query: str) -> Counter[str]:
        row = self._query_rows.get(_key(query))
        return Counter() if row is None else self._picked[row]

    def completed_queries(self, query: str) -> list[Counter[str]]:
        """What people picked after the past queries that `query` is the start of, when it
        ends in a word still being typed (engine.completion)."""
        if partial_word(query) is None:
            return []
        with self._lock:
            found = completions(self._sorted_queries, _key(query), self._picks_after)
            rows = [self._query_rows.get(key) for key in found]
        # A recount drops words from the log before it sorts the rest anew: skip those.
        return [self._picked[row] for row in rows if row is not None]

    def _picks_after(self, key: str) -> float:
        row = self._query_rows.get(key)
        return 0.0 if row is None else float(self._picked[row].total())

    def utility(self, sticker_id: str) -> float:
        """0..1: how many distinct people use it (log-scaled), nudged by its pick rate."""
        return float(self.usage.utilities([sticker_id])[0])

    def utilities(self, sticker_ids: Sequence[str]) -> np.ndarray:
        """`utility` of many stickers at once (float64); 0 for those nobody uses."""
        return self.usage.utilities(sticker_ids)

    def popular(self, k: int) -> list[str]:
        """The (up to) k most useful sticker ids, best first (k at most POPULAR_KEPT).

        Once a list exists no query waits for a sort of every used sticker (a few ms at 543k,
        in numpy): a stale list is served while a worker thread sorts anew."""
        if not self._popular:
            self._popular, self._popular_at = self._sort_popular(), time.monotonic()
        elif time.monotonic() - self._popular_at > POPULAR_REFRESH_SECONDS:
            self._refresh_popular_in_background()
        return self._popular[:k]

    def _sort_popular(self) -> list[str]:
        return self.usage.top(POPULAR_KEPT)

    def _refresh_popular_in_background(self) -> None:
        with self._lock:
            forgotten = self._forgotten
        if self._sorting.start(partial(self._sort_and_keep, forgotten)):
            self._popular_at = time.monotonic()  # one sort per period, however many queries

    def _sort_and_keep(self, forgotten: int) -> None:
        ordered = self._sort_popular()
        with self._lock:
            if forgotten == self._forgotten:  # a user's data deleted meanwhile: drop this sort
                self._popular = ordered

    def recount(self, sticker_ids: Collection[str] | None, rows: Sequence[CrowdRow]) -> None:
        """Count these stickers (None: all) anew from `rows`, every stored event of theirs.

        After a user's events are deleted, here or by another replica, counting what is left
        is the only way to take out their share: nothing of theirs outlives the deletion."""
        with self._lock:
            self._forgotten += 1
            self._popular = []  # re-sorted on next use, without them
        self._word_weights.clear()  # weighed with their picks
        # All anew (start-up, missed news): every row counts, so none is filtered.
        targets = None if sticker_ids is None else set(sticker_ids)
        self.usage.clear(self.usage.used() if targets is None else targets)
        for counts in self._picked:
            if targets is None:
                counts.clear()
                continue
            for sticker_id in targets.intersection(counts):
                del counts[sticker_id]
        self.add_many(rows if targets is None else [row for row in rows if row[2] in targets])
        self._drop_unpicked_queries()
        self.usage.rescale()

    def _drop_unpicked_queries(self) -> None:
        """Words nobody's pick stands behind any more leave the log, text and vector, and
        leave no trace in their neighbours' density."""
        dropped = [
            row for row, query in enumerate(self._queries) if query and not self._picked[row]
        ]
        if not dropped:
            return
        vectors = self._vectors.vectors(np.array(dropped))
        keys = [self._queries[row] for row in dropped]
        for row, key in zip(dropped, keys, strict=True):
            del self._query_rows[key]
            self._queries[row] = ""
            self._vectors.remove(row)
        with self._lock:
            self._vector_sum -= np.asarray(vectors, np.float64).sum(axis=0)
            self._logged -= len(dropped)
            self._sorted_queries = sorted(self._query_rows)
            self._density.forgotten(self._vectors, dropped, vectors)
            self._words.forgotten(zip(dropped, keys, strict=True))

    def used_by(self, user_id: str) -> list[str]:
        """The stickers whose figures count something of this user's."""
        return self.usage.used_by(user_id)

    def picks_of(self, sticker_id: str) -> int:
        return self.usage.picks(sticker_id)


def _key(query: str) -> str:
    return " ".join(fold(query).split())
