"""Relevant recall: which stickers mean what the text says, each with a 0..1 relevance.

Channels, each mapped to 0..1 evidence:
- lexical matches in the sticker's meaning (caption, OCR), its emoji's keywords in every
  language (weighted by how far the emoji agrees with the caption, and by whether the words
  matched in the user's languages: engine.languages) and its pack title, a last word still
  being typed matching the words it starts (engine.completion);
- dense similarity between the text and each sticker's meaning;
- the query log: stickers people picked after typing something that means the same, or
  words that the text, still being typed, may become;
- CLIP text-to-image similarity, when a CLIP model is configured.
Evidence is fused as a noisy-OR, then shared with stickers that mean the same thing (the same
concept drawn in another style), so one sticker's evidence finds its siblings in every pack.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import numpy as np

from engine.completion import COMPLETION_CREDIT
from engine.crowd import Crowd
from engine.encoders import Pending
from engine.index import CatalogIndex
from engine.languages import UserLanguages
from engine.lexical import COVERAGE_POWER, WordCounts
from engine.selection import best_positions
from engine.timing import StepTimer, untimed
from engine.tokens import tokenize

# Channel weights: how much a perfect match in that channel alone is trusted.
W_MEANING = 0.9
W_EMOJI = 0.85
W_TITLE = 0.4
W_DENSE = 0.8
W_CROWD = 0.95
W_CLIP = 0.6
# Lexical fields (engine.index.FIELDS): weight of a full match, and the reason it gives.
LEXICAL_CHANNELS = (
    ("meaning", W_MEANING, "words of its caption"),
    ("emoji", W_EMOJI, "its emoji means that"),
    ("title", W_TITLE, "its pack's title"),
)
# Similarity ranges mapped onto 0..1 evidence (below LOW nothing, above HIGH everything).
# Dense recall's range is for the graph's blended vectors (engine.word_meaning.recall_vectors),
# whose cosines to a query run lower than a sentence vector's; on sentence vectors alone it was
# 0.35..0.85, and these were measured with the blend on the development sets and described copies.
DENSE_LOW, DENSE_HIGH = 0.25, 0.7
CROWD_LOW, CROWD_HIGH = 0.55, 0.95
CLIP_LOW, CLIP_HIGH = 0.20, 0.35
# One pick after a similar query is this sure; n picks: 1 - (1 - 0.6)^n. Consensus grows at the
# same rate per pick after the exact words: unanimity takes several picks, relevance only one.
PICK_EVIDENCE = 0.6
# One pick after these exact words is far surer: on both development sets 96-98% of the meanings
# picked after a query were relevant to it, even when picked once, so the count barely matters.
# Kept below 1 because real users sometimes pick a sticker for fun.
EXACT_PICK_EVIDENCE = 0.9
CROWD_NEIGHBOURS = 10  # past queries consulted per query
# How far unanimous past picks for the exact words discount the alternatives. Gently: people
# pick one of the fitting meanings, so an unpicked one is often relevant too (29% and 55% of the
# relevant meanings of typed-before queries on the two development sets had no pick).
CONSENSUS = 0.3
# A same-meaning neighbour passes on evidence scaled from nothing at this cosine to all of it
# for an identical text. Neighbours found at build are at engine.build.SAME_WORDING or more,
# so they lend nearly all of it; those found for stickers added live, at SAME_MEANING, a
# quarter: "pensive face" and "astonished face" lend each other little.
SHARE_FROM = 0.8
# Where either sticker's meaning is only its emoji's name (no caption or OCR text), it shares
# this much of that: pack authors' emoji are loose (on emoji-dev-sparse a third of the pairs
# of stickers with one emoji showed the same thing), and the emoji field already gives each such
# sticker its own evidence for the emoji's words. With captions removed from emoji-dev-sparse,
# sharing in full put another sticker with the picked one's emoji before it: MRR@10 on words
# typed before 0.797; 0.912 at half, 0.916 with nothing shared (all queries: 0.760, 0.803, 0.805).
EMOJI_ONLY_SHARE = 0.5
MAX_EVIDENCE = 0.999  # no single piece of evidence is certain, so others still add to it
# A sentence encoder reads a word cut short ("slee") as noise. Where the lexical fields or the
# query log know words the text's last word starts, what the encoder makes of the text (dense
# recall, similar past queries) counts this much. Measured on both development sets with every
# query's last word cut to 60%: nDCG@10 0.700 -> 0.714 and 0.756 -> 0.765; whole words the
# same within 0.001 (0.5 gained more while typing, but lost 0.002 on whole words).
FRAGMENT_TRUST = 0.7
# Candidates handed to ranking, so its per-row work is bounded. Sharing with 16 same-meaning
# neighbours can turn a few hundred matches per channel into thousands of rows. Ranking lifts a
# relevance by at most (1 + PERSONAL) x (1 + CROWD) = 3.45, so a row below the cut can still
# reach the 500 results a user can page to when fewer than 500 rows are 3.45 times as relevant
# as the cut: the cap is not exact, only deep. Four times the page depth: on synthetic 50k,
# 200k and 543k catalogs no query recalls more (at most 1,571 at 200k, 1,953 at 543k); at 50k a
# cap of 1,000 changed the tail of the 500 in 13 of the 73 queries it cut, the first 50 in none.
MAX_CANDIDATES = 2000


@dataclass(frozen=True, slots=True)
class Evidence:
    score: float
    reason: str


@dataclass(frozen=True)
class Candidates:
    """Rows (unique), their relevance and, per row, its reason as an index into `reasons`.
    Rows are in the order evidence first named them."""

    rows: np.ndarray  # int64
    scores: np.ndarray  # float64
    reason_ids: np.ndarray  # int64
    reasons: tuple[str, ...]

    @classmethod
    def uniform(cls, rows: Sequence[int], score: float, reason: str) -> Candidates:
        """`rows` (unique), all equally relevant for one reason."""
        found = np.asarray(rows, dtype=np.int64).reshape(-1)
        return cls(found, np.full(len(found), score), np.zeros(len(found), np.int64), (reason,))

    def __len__(self) -> int:
        return len(self.rows)

    def best(self, n: int) -> Candidates:
        """The `n` most relevant (ties by catalog order), in their order."""
        if len(self) <= n:
            return self
        keep = best_positions(self.scores, n, ties=self.rows)
        return Candidates(self.rows[keep], self.scores[keep], self.reason_ids[keep], self.reasons)

    def as_evidence(self) -> dict[int, Evidence]:
        """Row -> its evidence: a readable view for tests and debugging."""
        reasons = self.reasons
        return {
            row: Evidence(score, reasons[reason])
            for row, score, reason in zip(
                self.rows.tolist(), self.scores.tolist(), self.reason_ids.tolist(), strict=True
            )
        }


def ramp(value: float | np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip((np.asarray(value) - low) / (high - low), 0.0, 1.0)


class Recall:
    """Collects channel evidence as arrays, then fuses and propagates it in one pass."""

    def __init__(self, index: CatalogIndex) -> None:
        self._index = index
        self._rows: list[np.ndarray] = []
        self._scores: list[np.ndarray] = []
        self._reason_ids: list[np.ndarray] = []
        self._reasons: dict[str, int] = {}  # reason -> id, in order of first use

    def add(
        self, rows: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, reason: str
    ) -> None:
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if len(rows) != len(scores):
            raise ValueError(f"{len(rows)} rows but {len(scores)} scores")
        keep = (scores > 0) & (rows >= 0) & (rows < len(self._index))
        reason_id = self._reasons.setdefault(reason, len(self._reasons))
        self._rows.append(rows[keep])
        self._scores.append(scores[keep])
        self._reason_ids.append(np.full(int(keep.sum()), reason_id, dtype=np.int64))

    def result(self) -> Candidates:
        """Noisy-OR per row, named after its best single piece of evidence, then shared."""
        rows = np.concatenate([np.zeros(0, np.int64), *self._rows])
        scores = np.concatenate([np.zeros(0), *self._scores])
        reason_ids = np.concatenate([np.zeros(0, np.int64), *self._reason_ids])
        grouped = _group_by_row(rows, scores)
        misses = 1.0 - np.minimum(grouped.scores, MAX_EVIDENCE)
        miss = np.multiply.reduceat(misses, grouped.starts)
        best = grouped.best[grouped.seen]
        fused = Candidates(
            rows[best], (1.0 - miss)[grouped.seen], reason_ids[best], tuple(self._reasons)
        )
        return _share_with_same_meaning(self._index, fused)


class _Grouped(NamedTuple):
    order: np.ndarray  # entry positions, each row's entries together and in input order
    scores: np.ndarray  # the entries' scores in that order
    starts: np.ndarray  # where each row's entries start in `order`, one group per row
    best: np.ndarray  # per group, the position of its best score (the earliest of equal ones)
    seen: np.ndarray  # the groups in the order their rows first appear in the input


def _group_by_row(rows: np.ndarray, scores: np.ndarray) -> _Grouped:
    """Entries grouped by row, with each row's best entry."""
    if not len(rows):
        return _Grouped(rows, scores, rows, rows, rows)
    # A key unique to each entry (its row, then its position) lets the fast unstable sort group
    # stably. At 543k stickers sharing groups about 7,000 entries a query: a lexsort on (score,
    # row) took 0.47-0.51 ms for them, this 0.27.
    order = np.argsort(rows * len(rows) + np.arange(len(rows)))
    in_order = rows[order]
    starts = np.flatnonzero(np.r_[True, in_order[1:] != in_order[:-1]])
    ordered_scores = scores[order]
    top = np.maximum.reduceat(ordered_scores, starts)
    at_top = ordered_scores == np.repeat(top, np.diff(starts, append=len(rows)))
    best = np.minimum.reduceat(np.where(at_top, order, len(rows)), starts)
    return _Grouped(order, ordered_scores, starts, best, np.argsort(order[starts]))


def _best_per_row(
    rows: np.ndarray, scores: np.ndarray, reason_ids: np.ndarray, reasons: tuple[str, ...]
) -> Candidates:
    """Each row once, with its best score (the first listed wins a tie), in order."""
    grouped = _group_by_row(rows, scores)
    best = grouped.best[grouped.seen]
    return Candidates(rows[best], scores[best], reason_ids[best], reasons)


def _apply_consensus(fused: Candidates, chosen: np.ndarray, picks: int) -> Candidates:
    """People who typed exactly these words were shown the alternatives and chose `chosen`
    (rows): the more often, the less the alternatives are worth."""
    if not len(chosen):
        return fused
    keep = 1.0 - CONSENSUS * (1 - (1 - PICK_EVIDENCE) ** picks)
    is_chosen = np.isin(fused.rows, chosen)
    scores = np.where(is_chosen, fused.scores, fused.scores * keep)
    return Candidates(fused.rows, scores, fused.reason_ids, fused.reasons)


def _share_with_same_meaning(index: CatalogIndex, fused: Candidates) -> Candidates:
    """Each sticker also takes its same-meaning neighbours' relevance, scaled by how close
    their meanings are, when that beats its own; the reason travels along from the row that
    offered it."""
    if not len(fused):
        return fused
    lists, sims = index.neighbour_lists(fused.rows)
    neighbours = lists.astype(np.int64)  # (m, K), -1: none
    offered = fused.scores[:, None] * ramp(sims.astype(np.float64), SHARE_FROM, 1.0)
    real = (neighbours >= 0) & (neighbours != fused.rows[:, None]) & (offered > 0)
    sources, slots = np.nonzero(real)
    takers = neighbours[sources, slots]
    offers = offered[sources, slots] * _sureness(index, fused.rows[sources], takers)
    # A row's own evidence comes first, so it wins a tie with an offer.
    return _best_per_row(
        np.concatenate([fused.rows, takers]),
        np.concatenate([fused.scores, offers]),
        np.concatenate([fused.reason_ids, fused.reason_ids[sources]]),
        fused.reasons,
    )


def _sureness(index: CatalogIndex, givers: np.ndarray, takers: np.ndarray) -> np.ndarray:
    """How surely each taker means what its giver means, beyond their closeness:
    EMOJI_ONLY_SHARE where either one's meaning is only its emoji's name, else 1."""
    emoji_only = index.emoji_only
    return np.where(emoji_only[givers] | emoji_only[takers], EMOJI_ONLY_SHARE, 1.0)


def recall_text(
    index: CatalogIndex,
    crowd: Crowd,
    text: str,
    vector: np.ndarray | Pending[np.ndarray],
    depth: int,
    clip_vector: np.ndarray | None = None,
    timer: StepTimer = untimed,
    languages: UserLanguages | None = None,
) -> Candidates:
    """Relevance of the MAX_CANDIDATES most relevant rows for `text` (embedded as `vector`),
    emoji keywords weighed by the user's `languages` when they are known.

    The text vector may still be on its way, as a call that waits for it: it is first needed
    after the lexical channels, which read the fields meanwhile (engine.encoders.encode_soon)."""
    recall = Recall(index)
    with timer("word_weights"):
        logged = crowd.word_counts(text)
        focus = crowd.word_weights(tokenize(text), index)
    completed = _lexical(recall, index, text, depth, logged, focus, timer, languages)
    with timer("crowd_words"):
        exact = crowd.exact_query(text)
        # Words never typed in full before may be on their way to some that were.
        started = [] if exact else crowd.completed_queries(text)
    trust = FRAGMENT_TRUST if completed or started else 1.0
    with timer("encode_wait"):
        vector = _arrived(vector)
    with timer("dense"):
        _dense(recall, index, crowd, vector, depth, trust)
    with timer("crowd"):
        _crowd(recall, index, crowd, text, vector, exact, started, trust)
    if clip_vector is not None and index.image_dense is not None:
        with timer("clip"):
            rows, sims = index.image_dense.search(clip_vector, depth)
            recall.add(rows, W_CLIP * ramp(sims, CLIP_LOW, CLIP_HIGH), "looks like it")
    with timer("fuse_share"):
        fused = recall.result()
    with timer("consensus"):
        chosen, picks = _chosen_for_exact_words(index, exact)
        return _apply_consensus(fused, chosen, picks).best(MAX_CANDIDATES)


T = TypeVar("T")


def _arrived(value: T | Pending[T]) -> T:
    """`value`, waited for if it is still on its way."""
    return value() if callable(value) else value


def _chosen_for_exact_words(index: CatalogIndex, picked: Counter[str]) -> tuple[np.ndarray, int]:
    """Rows `picked` after these exact words, with their same-meaning siblings, and the picks.
    The siblings are read for all rows at once: one at a time, the hundreds of stickers picked
    after a common word ("flag") took 0.3-0.8 ms at 543k stickers."""
    ids = [sticker_id for sticker_id, n in picked.items() if n > 0]
    rows = index.row_of.rows_of(ids)
    rows = rows[rows >= 0]
    siblings, _ = index.neighbour_lists(rows)
    return np.union1d(rows, siblings[siblings >= 0]), sum(picked.values())


def _lexical(
    recall: Recall,
    index: CatalogIndex,
    text: str,
    depth: int,
    logged: WordCounts,
    focus: Mapping[str, float],
    timer: StepTimer = untimed,
    languages: UserLanguages | None = None,
) -> bool:
    """Adds the lexical fields' evidence; whether any completed a partial last word. What the
    query log says of the words weighs them: its queries (`logged`) count in their idf
    alongside the fields' rows, and each word's idf is scaled by its `focus`
    (engine.word_focus)."""
    completed = False
    for name, weight, reason in LEXICAL_CHANNELS:
        with timer(f"lexical_{name}"):
            hits = index.fields[name].search(text, depth, counted=(logged,), focus=focus)
            scores = weight * hits.coverage**COVERAGE_POWER
            if name == "emoji":  # as far as the pack author's emoji agrees with the caption
                scores = scores * index.trust[hits.rows]
                if languages is not None:  # and the words matched in the user's languages
                    emojis = index.rows.emojis
                    scores = scores * languages.weights(
                        [emojis[r] for r in hits.rows.tolist()], text
                    )
            recall.add(hits.rows, scores, reason)
            completed = completed or hits.completed
    return completed


def _dense(
    recall: Recall,
    index: CatalogIndex,
    crowd: Crowd,
    vector: np.ndarray,
    depth: int,
    trust: float = 1.0,
) -> None:
    """Meanings by cosine to the text, less each one's pull on the average past query.

    Short generic captions ("nose", "eyes") sit close to almost every short query in a sentence
    encoder's space: such hubs topped the list for words the model does not know. Counting
    only what the text shares with a caption beyond what the average query shares with it
    (relative to the average caption, so the cosine keeps its scale) is the global form of
    CSLS's hubness correction (Conneau et al., 2018)."""
    typical = crowd.mean_query()
    baseline = float(typical @ index.meaning_mean)
    # The graph holds meanings, not rows.
    meanings, sims = index.dense.search_beyond(vector, typical, baseline, depth)
    rows, source = index.meanings.of_many(meanings, depth)
    evidence = trust * W_DENSE * ramp(sims[source], DENSE_LOW, DENSE_HIGH)
    recall.add(rows, evidence, "its caption means that")


def _crowd(
    recall: Recall,
    index: CatalogIndex,
    crowd: Crowd,
    text: str,
    vector: np.ndarray,
    exact: Counter[str],
    started: list[Counter[str]],
    trust: float = 1.0,
) -> None:
    """The query log's evidence: picks after these exact words (`exact`), after the past
    queries the text is the start of (`started`), and after similar ones: as close as the text
    model says (`trust` times) or as the words they share say (engine.query_words), whichever
    is closer."""
    similar = crowd.similar_queries(vector, CROWD_NEIGHBOURS)
    # One ramp over all of them: numpy's clip once per past query cost 70 us a query.
    likeness = trust * ramp(np.array([s for _, s, _ in similar]), CROWD_LOW, CROWD_HIGH)
    closeness = dict(zip([query for query, _, _ in similar], likeness.tolist(), strict=True))
    picks = {query: picked for query, _, picked in similar}
    for query, shared, picked in crowd.sharing_words(text, CROWD_NEIGHBOURS, index):
        closeness[query] = max(closeness.get(query, 0.0), shared)
        picks[query] = picked
    closeness.pop(crowd.key(text), None)  # the exact words are counted once, below
    # The same words typed before (up to case and accents) count as a perfect match.
    sources = [(exact, 1.0, EXACT_PICK_EVIDENCE)]
    sources += [(picked, COMPLETION_CREDIT, PICK_EVIDENCE) for picked in started]
    sources += [(picks[q], close, PICK_EVIDENCE) for q, close in closeness.items() if close > 0]
    _add_picks(recall, index, sources)


def _add_picks(
    recall: Recall, index: CatalogIndex, sources: list[tuple[Counter[str], float, float]]
) -> None:
    """Evidence from the stickers picked after past queries: per query, (its picks, how close
    it is to this one, how sure one pick is). Their ids are looked up in one pass: one pass
    per past query cost 9 us each, a dozen of them a query."""
    ids = [sticker_id for picked, _, _ in sources for sticker_id in picked]
    sizes = [len(picked) for picked, _, _ in sources]
    picks = np.fromiter((n for picked, _, _ in sources for n in picked.values()), float, len(ids))
    closeness = np.repeat([close for _, close, _ in sources], sizes)
    per_pick = np.repeat([sure for _, _, sure in sources], sizes)
    rows = index.row_of.rows_of(ids)
    scores = W_CROWD * closeness * (1 - (1 - per_pick) ** picks)
    known = (rows >= 0) & (picks > 0)
    recall.add(rows[known], scores[known], "people picked it for that")
