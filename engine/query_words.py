"""The query log's words: which past queries share words with a new one.

The query log finds past queries that mean the same as a new one through the text model. Where
the model does not know the language (the bundled USE learnt 16, and Hindi, Vietnamese and
Ukrainian are not among them), a new query still often shares words with past ones: "con mèo
đen" with "mèo". This is the crowd text of a sticker's document (the words people typed before
picking it) matched word by word, as PerSRV's BM25 does, kept apart from the catalog's lexical
fields because it grows with every pick (bm25s's index is built once).

A past query counts as close as the share of the new query's words it holds, weighted by
rarity (the lexical fields' idf) and squared (as they count coverage), times the share of its
own words that the new query holds: "mèo" is half of "mèo con", and a past query that says more
than the new one says something else as well.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from engine.lexical import COVERAGE_POWER, idf
from engine.tokens import tokenize, tokens_of

# A query's words are scanned rarest first, each in full, while their rows together stay within
# this many; the commoner words left over still weigh in the coverage, but find no rows. Their
# weight (idf) is the lowest, and scanning them would cost the most: on a log of 300,000 random
# queries of Zipf-distributed words, a cap of 20,000 rows per word took up to 8 ms a query
# (p99 1.8 ms), this at most 0.4 ms (p99 0.3 ms). The development sets' logs (about 4,000
# queries) never reach it.
MAX_ROWS_SCANNED = 4_000
WORDS_REMEMBERED = 16_384  # logged queries whose words are kept at hand (words_of)


class QueryWords:
    """An inverted index from word to the rows of the logged queries that hold it."""

    def __init__(self) -> None:
        self._rows_of: dict[str, array[int]] = {}
        self._word_counts = array("H")  # per row: how many distinct words its query holds
        self._logged = 0  # rows with words in the index

    def logged(self, row: int, query: str) -> None:
        """Adds the query of log row `row` (rows come in increasing order)."""
        words = words_of(query)
        if len(self._word_counts) <= row:
            self._word_counts.extend([0] * (row + 1 - len(self._word_counts)))
        self._word_counts[row] = min(len(words), 0xFFFF)
        for word in words:
            self._rows_of.setdefault(word, array("q")).append(row)
        self._logged += bool(words)

    def forgotten(self, rows_and_queries: Iterable[tuple[int, str]]) -> None:
        """Takes these rows (and their queries) out of the index."""
        gone: dict[str, set[int]] = {}
        for row, query in rows_and_queries:
            words = words_of(query)
            for word in words:
                gone.setdefault(word, set()).add(row)
            self._word_counts[row] = 0
            self._logged -= bool(words)
        for word, rows in gone.items():
            kept = array("q", (row for row in self._rows_of.get(word, ()) if row not in rows))
            if kept:
                self._rows_of[word] = kept
            else:
                self._rows_of.pop(word, None)
        words_of.cache_clear()  # nothing of a forgotten query stays in memory

    def holding(self, word: str) -> int:
        """How many logged queries hold `word`."""
        return len(self._rows_of.get(word, ()))

    def recent_rows(self, word: str, most: int) -> Sequence[int]:
        """The rows of the `most` latest logged queries that hold `word`."""
        return self._rows_of.get(word, array("q"))[-most:]

    def counts(self, query: str) -> LoggedWords:
        """How many past queries hold each of `query`'s words, as the lexical fields count
        rows (engine.lexical.WordCounts): taken now, so it holds while the log grows."""
        return LoggedWords(self._logged, {word: self.holding(word) for word in tokenize(query)})

    def sharing(
        self, query: str, k: int, focus: Mapping[str, float] | None = None
    ) -> list[tuple[int, float]]:
        """The k past queries (rows) that share most of `query`'s words, with how close each
        is (0..1), closest first; ties in log order. A word's idf is scaled by its `focus`
        (engine.word_focus), if given."""
        # How many past queries hold each word, read once: weights and the budget both need it.
        df = {word: self.holding(word) for word in tokenize(query)}
        if not any(df.values()):  # most new words: nothing to do
            return []
        rarity = idf(self._logged, np.fromiter(df.values(), np.int64, len(df)))
        focus = focus or {}
        weights = {w: r * focus.get(w, 1.0) for w, r in zip(df, rarity.tolist(), strict=True)}
        total = sum(weights.values())
        scanned = _within_budget(df)
        if not scanned:
            return []
        coverage: np.ndarray
        shared: np.ndarray
        if len(scanned) == 1:  # one word's rows are distinct: nothing to group
            found = np.asarray(self._rows_of[scanned[0]])
            coverage = np.full(len(found), weights[scanned[0]] / total)
            shared = np.ones(len(found))
        else:
            rows = np.concatenate([np.asarray(self._rows_of[w]) for w in scanned])
            row_weights = np.repeat([weights[w] for w in scanned], [df[w] for w in scanned])
            found, at = np.unique(rows, return_inverse=True)
            coverage = np.bincount(at, weights=row_weights) / total
            shared = np.bincount(at)
        counts = np.frombuffer(self._word_counts, np.uint16)[found]
        closeness = coverage**COVERAGE_POWER * shared / np.maximum(counts, 1)
        best = np.argsort(-closeness, kind="stable")[:k]
        return [(int(found[i]), float(closeness[i])) for i in best]


@dataclass(frozen=True)
class LoggedWords:
    """The number of logged queries, and how many of them hold each of some words."""

    queries: int
    counts: dict[str, int]  # word -> logged queries holding it

    def __len__(self) -> int:
        return self.queries

    def row_frequency(self, tokens: Sequence[str]) -> np.ndarray:
        """How many logged queries hold each of `tokens` (0 for a word not counted here)."""
        return np.array([self.counts.get(token, 0) for token in tokens], np.float64)


def _within_budget(df: dict[str, int]) -> list[str]:
    """The words found in the log, rarest first, while their rows (`df`: how many past
    queries hold each word) add up to MAX_ROWS_SCANNED."""
    kept: list[str] = []
    budget = MAX_ROWS_SCANNED
    for word in sorted((w for w, n in df.items() if n > 0), key=lambda w: (df[w], w)):
        if df[word] > budget:
            break
        kept.append(word)
        budget -= df[word]
    return kept


@lru_cache(maxsize=WORDS_REMEMBERED)
def words_of(query: str) -> frozenset[str]:
    """The distinct words of a logged query, remembered: the same past queries are read again
    for the next query that shares their words, and folding them again took half that time."""
    return frozenset(tokens_of(query))
