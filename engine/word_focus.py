"""How much a word says about what people pick after typing it: its focus, from the query log.

People type words around what they mean: "the spy one", "un toboggan per favore", "cat pls".
Such words are rare in a catalog of short captions, so idf weighs them as rare content ("the
spy one" found the clock at one-thirty), and a past query "my cat pls" shared only a third of
its words with "the cat one". Counting the query log in the idf (engine.lexical) is not
enough: "pls" in 4% of past queries is no rarer than a popular subject. On copies of the
development sets with words around every query and typed pick (`stickerbot bench-pad`), it took
nDCG@10 from 0.665 to 0.784 on the sparse set and from 0.648 to 0.649 on emoji-dev, where the
query log answers most queries.

What tells them apart is where the picks after them land. The stickers picked after "chat" mean
much the same (cats); those picked after "pls" are as spread as picks at random. In the meaning
vectors' space that is the picks' mean resultant length: R² = |mean of their unit vectors|²,
which n picks at random would bring to E = 1/n + (1 - 1/n) |μ|² (μ: the catalog's mean vector).
The focus κ = (R² - E) / (1 - E) is 0 for picks as spread as chance and 1 for one meaning. On the
padded emoji-dev, the 36 words added scored κ 0.00-0.05 over the 137-154 picks sampled each;
the languages' own small words ("de", "di", "con") -0.01-0.14; words of meanings ("tete",
"faccina", "naranja", "stylo", "chat") 0.22-1.

A word weighs in full from a focus of FOCUSED up, and in proportion below; the evidence counts
as n picks against PICKS_PRIOR picks that found it focused, so a word seen a few times keeps
about its full weight: weight = 1 - (1 - min(1, κ / FOCUSED)) · n / (n + PICKS_PRIOR).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from engine.row_files import read_rows

if TYPE_CHECKING:
    from engine.index import CatalogIndex

# A word whose picks are a quarter of the way from chance to one meaning weighs in full. In a
# first trial on the padded sparse set (weights from the whole history, caption vectors), 0.1,
# 0.25 and 0.5 gave nDCG@10 0.877, 0.888 and 0.892.
FOCUSED = 0.25
# The evidence of n picks weighs n / (n + PICKS_PRIOR): in that trial 3, 10 and 30 gave 0.895,
# 0.888 and 0.872.
PICKS_PRIOR = 10
# The picks after a word are read from its most recent logged queries, at most this many, and
# only until this many stickers are among them: a sample is enough to tell spread from focus,
# and the meaning vectors are memory-mapped (a large catalog's stay on disk). The newest are
# a fair sample; the most picked were not: a few popular stickers made words look focused
# (nDCG@10 0.745 on the padded emoji-dev, 0.759 with every pick read, 0.756 with the newest
# 128 stickers).
SAMPLED_QUERIES = 200
SAMPLED_STICKERS = 128
# Words weighed anew per call, at most: the others keep their weight so far (full, if none) for
# a later call. A Chinese query is a dozen tokens (characters and their pairs), and a past
# query's words are weighed too: weighing every new word took queries at 543,098 stickers to
# 48-66 ms (p99 of all queries 16.7 ms, 8.6 ms without weights that hour). One a call cost
# the padded emoji-dev nothing (nDCG@10 0.754, 0.756 with all); 32 stickers a word instead of
# 128 cost 0.023.
WEIGHED_PER_CALL = 1
MEAN_SAMPLE = 4096  # rows averaged for μ, evenly spaced
# A word's weight is computed again once this many more logged queries hold it, in proportion
# (or once fewer do): a word typed often changes its count with nearly every pick.
RECOUNT_GROWTH = 0.1


class QueryLog(Protocol):
    """The query log as word weights read it (engine.crowd.Crowd)."""

    def holding(self, words: Iterable[str]) -> dict[str, int]:
        """How many logged queries hold each of `words`."""
        ...

    def picked_after(self, word: str) -> Counter[str]:
        """The picks after the latest logged queries that hold `word` (see SAMPLED_QUERIES)."""
        ...


def focus(vectors: np.ndarray, counts: np.ndarray, mean_square: float) -> float:
    """κ of picks with unit meaning `vectors`, each picked `counts` times (see the module)."""
    n = float(counts.sum())
    if n < 2:
        return 1.0  # one pick cannot be spread
    resultant = (counts[:, None] * vectors).sum(axis=0) / n
    expected = 1 / n + (1 - 1 / n) * mean_square
    if expected >= 1:
        return 1.0
    return float((resultant @ resultant - expected) / (1 - expected))


def weight(kappa: float, picks: float) -> float:
    """A word's weight from its focus κ over `picks` picks (see the module)."""
    shortfall = 1 - min(1.0, max(0.0, kappa) / FOCUSED)
    return 1 - shortfall * picks / (picks + PICKS_PRIOR)


class WordWeights:
    """Each word's weight by its focus, kept per word until its count moves (RECOUNT_GROWTH) or
    the index changes. Its methods are called from the query threads: a race between two of
    them costs a computation twice, not a wrong weight."""

    def __init__(self) -> None:
        self._weights: dict[str, tuple[int, float]] = {}  # word -> (queries at the time, weight)
        self._index: CatalogIndex | None = None
        self._mean_square = 0.0

    def clear(self) -> None:
        """Forget every weight (a user's picks were taken out of the log)."""
        self._weights = {}

    def of(self, words: Iterable[str], index: CatalogIndex, log: QueryLog) -> dict[str, float]:
        """The weight of each of `words` (1 for a word never typed before a pick)."""
        if index is not self._index:
            self._index, self._weights = index, {}
            self._mean_square = _mean_square(index.text)
        found = {}
        budget = WEIGHED_PER_CALL
        for word, queries in log.holding(words).items():
            kept = self._weights.get(word)
            if queries == 0:
                found[word] = 1.0
            elif kept is not None and kept[0] <= queries <= kept[0] * (1 + RECOUNT_GROWTH):
                found[word] = kept[1]
            elif budget > 0:
                budget -= 1
                found[word] = self._weigh(index, log.picked_after(word))
                self._weights[word] = (queries, found[word])
            else:  # weighed by a later call: its weight so far, or full
                found[word] = 1.0 if kept is None else kept[1]
        return found

    def _weigh(self, index: CatalogIndex, picked: Counter[str]) -> float:
        """The weight of a word after which `picked` (sticker id -> picks) were picked."""
        rows = index.row_of.rows_of(list(picked))
        counts = np.fromiter(picked.values(), np.float64, len(picked))[rows >= 0]
        rows = rows[rows >= 0]
        # Read from the file (the vectors are memory-mapped), not through the mapping.
        vectors, meant = _unit(read_rows(index.text, rows))
        counts = counts[meant]  # a sticker with nothing known of its meaning says nothing
        return weight(focus(vectors, counts, self._mean_square), float(counts.sum()))


def _unit(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The non-zero rows of `vectors` as unit vectors (float64), and which rows they were."""
    vectors = np.asarray(vectors, np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    meant = norms > 0
    return vectors[meant] / norms[meant, None], meant


def _mean_square(vectors: np.ndarray) -> float:
    """|μ|²: the squared length of the mean of up to MEAN_SAMPLE evenly spaced rows with a
    meaning, as unit vectors (once per index)."""
    units, _ = _unit(
        read_rows(vectors, np.arange(0, len(vectors), max(1, len(vectors) // MEAN_SAMPLE)))
    )
    if not len(units):
        return 0.0
    mean = units.mean(axis=0)
    return float(mean @ mean)
