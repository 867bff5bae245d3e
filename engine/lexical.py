"""Lexical recall with bm25s, plus the share of the query's words a document covers.

BM25 ranks; coverage (idf-weighted share of query tokens present in the document) turns a match
into a comparable 0..1 relevance, which raw BM25 scores are not.

Rows that carry the same text share one document: every sticker with the same emoji has the same
emoji keywords (in 26 languages), every sticker of a pack the same title, and a quarter of a
large catalog repeats some caption. Indexing each distinct text once keeps a 543k-sticker
catalog's emoji field a few thousand documents instead of hundreds of millions of postings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import bm25s
import numpy as np

from engine.completion import COMPLETION_CREDIT, completions, partial_word
from engine.groups import RowGroups, number_texts
from engine.selection import best_first
from engine.tokens import tokenize, tokens_of

EMPTY_DOC_TOKEN = "\x00"  # bm25s needs at least one token per document
# How coverage counts towards a match: half the query's words hold a quarter. Recall weighs the
# lexical fields so, and the query log past queries that share words (engine.query_words).
COVERAGE_POWER = 2.0


@dataclass(frozen=True)
class LexicalHits:
    """Matching rows, best BM25 first, with their BM25 score and coverage (row-aligned)."""

    rows: np.ndarray  # int32
    bm25: np.ndarray  # float64
    coverage: np.ndarray  # float64, 0..1
    completed: bool = False  # the query's partial last word matched as the words it starts

    def __len__(self) -> int:
        return len(self.rows)


class WordCounts(Protocol):
    """Rows of text, and how many of them hold each word: what a word's idf is counted over."""

    def __len__(self) -> int: ...

    def row_frequency(self, tokens: Sequence[str]) -> np.ndarray: ...


NO_HITS = LexicalHits(np.zeros(0, np.int32), np.zeros(0), np.zeros(0))
# bm25s's token-by-document score matrix (CSC: a token's postings are contiguous).
POSTING_PARTS = ("data", "indices", "indptr")
NO_POSTINGS: dict[str, np.ndarray] = {
    "data": np.zeros(0, np.float32),
    "indices": np.zeros(0, np.int32),
    "indptr": np.zeros(1, np.int64),
}


class FieldIndex:
    """BM25 over one text field of every sticker (row i = sticker i).

    Searches read only the postings of the query's tokens (bm25s keeps its precomputed scores
    as a token-by-document sparse matrix), so a query costs what its words match, not the size
    of the catalog. Coverage weighs tokens by their idf over rows (a token's row frequency is the
    number of rows behind its posting list), as if every row had its own document.
    """

    def __init__(self, texts: Sequence[str], priority: np.ndarray | None = None) -> None:
        """`priority` orders the rows that share a text (highest first): when a search must stop
        inside a shared document, the most trusted rows are the ones returned."""
        documents, self._rows = _documents(texts, priority)
        corpus = [list(tokens_of(doc)) or [EMPTY_DOC_TOKEN] for doc in documents]
        self._scores: dict[str, np.ndarray] = NO_POSTINGS
        self._vocab: dict[str, int] = {}
        if corpus:  # bm25s cannot index an empty corpus; an empty catalog matches nothing
            bm25 = bm25s.BM25()
            bm25.index(corpus, show_progress=False)
            # Only the token-by-document scores and the vocabulary are searched; the rest of
            # the bm25s object (its token sets) would stay in memory for nothing.
            self._scores = {part: bm25.scores[part] for part in POSTING_PARTS}
            self._vocab = bm25.vocab_dict
        self._size = len(texts)
        self._sorted_vocab = sorted(self._vocab)
        self._row_counts = _row_counts(self._scores, self._rows.sizes)

    def save(self, stem: Path) -> None:
        """Write to `stem`.npz (postings and row groups) and `stem`.vocab.json."""
        np.savez(
            stem.with_suffix(".npz"),
            size=np.array(self._size),
            members=self._rows.members,
            sizes=self._rows.sizes,
            data=self._scores["data"],
            indices=self._scores["indices"],
            indptr=self._scores["indptr"],
        )
        tokens = sorted(self._vocab, key=self._vocab.__getitem__)
        stem.with_suffix(".vocab.json").write_text(json.dumps(tokens), encoding="utf-8")

    @classmethod
    def load(cls, stem: Path) -> FieldIndex:
        """A field saved by `save`: read, not rebuilt (no text is tokenised again)."""
        field = cls.__new__(cls)
        with np.load(stem.with_suffix(".npz")) as arrays:
            field._size = int(arrays["size"])
            field._rows = RowGroups.from_parts(arrays["members"], arrays["sizes"])
            field._scores = {part: arrays[part] for part in POSTING_PARTS}
        tokens = json.loads(stem.with_suffix(".vocab.json").read_text(encoding="utf-8"))
        field._vocab = {token: i for i, token in enumerate(tokens)}
        field._sorted_vocab = sorted(tokens)
        field._row_counts = _row_counts(field._scores, field._rows.sizes)
        return field

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        """Bytes of its arrays: the postings, the rows of each document and each token's."""
        arrays = (
            *self._scores.values(),
            self._rows.members,
            self._rows.sizes,
            self._rows.starts,
            self._row_counts,
        )
        return sum(int(array.nbytes) for array in arrays)

    @property
    def documents(self) -> int:
        """Distinct texts indexed (at most the number of rows)."""
        return len(self._rows)

    def search(
        self,
        query: str,
        k: int,
        others: Sequence[FieldIndex] = (),
        counted: Sequence[WordCounts] = (),
        focus: Mapping[str, float] | None = None,
    ) -> LexicalHits:
        """Up to k rows sharing at least one token with the query, best BM25 first. A last
        word still being typed that is no token here counts as the tokens it starts
        (engine.completion), each at COMPLETION_CREDIT. `others` are the other segments of
        one field (engine.field_segments): their rows count in the words' idf, so coverage
        weighs words alike in every segment. The rows of `counted` (the query log's queries)
        count in the idf too, and a typed word's idf is scaled by its `focus`
        (engine.word_focus): a word typed before picks of all kinds ("the", "pls", "sticker")
        says little whichever field holds it."""
        words = list(dict.fromkeys(tokenize(query)))
        typed = [word for word in words if word in self._vocab]
        partial = partial_word(query)
        if partial is not None and any(field.knows(partial) for field in (self, *others)):
            partial = None  # a whole word somewhere: no segment completes it
        completed = self.completions_of(partial)
        if not typed + completed or k <= 0:
            return NO_HITS
        token_ids = np.array([self._vocab[t] for t in typed + completed], dtype=np.int64)
        matrix = self._scores
        starts, ends = matrix["indptr"][token_ids], matrix["indptr"][token_ids + 1]
        docs = np.concatenate([matrix["indices"][a:b] for a, b in zip(starts, ends, strict=True)])
        values = np.concatenate([matrix["data"][a:b] for a, b in zip(starts, ends, strict=True)])
        posting = np.repeat(np.arange(len(token_ids)), ends - starts)
        sources = (*others, *counted)
        size = self._size + sum(len(source) for source in sources)
        typed_idf = self._idf_over(size, typed, sources) * _scales(typed, focus)
        absent = [word for word in words if word not in self._vocab]
        absent_idf = self._idf_over(size, absent, sources) * _scales(absent, focus)
        absent_weight = dict(zip(absent, absent_idf.tolist(), strict=True))
        # The partial word weighs as its commonest completion, in whichever segment it is.
        everywhere = [*completed, *(t for other in others for t in other.completions_of(partial))]
        partial_idf = float(self._idf_over(size, everywhere, sources).min()) if everywhere else None
        if len(token_ids) == 1:  # one posting list: distinct, sorted documents (CSC order)
            found, position = docs, np.arange(len(docs))
        else:
            found, position = _union(docs)
        credit = np.where(posting < len(typed), 1.0, COMPLETION_CREDIT)
        bm25 = np.bincount(position, weights=values * credit)
        coverage = _coverage(
            typed_idf, posting, position, len(found), absent_weight, partial, partial_idf
        )
        order = best_first(bm25, k)  # each document holds at least one row
        rows, document_of_row = self._rows.of_many(found[order], k)
        return LexicalHits(
            rows,
            bm25[order][document_of_row],
            coverage[order][document_of_row],
            completed=bool(completed),
        )

    def knows(self, token: str) -> bool:
        return token in self._vocab

    def row_frequency(self, tokens: Sequence[str]) -> np.ndarray:
        """How many rows hold each of `tokens` (0 for a token not in this field)."""
        counts = np.zeros(len(tokens))
        for i, token in enumerate(tokens):
            token_id = self._vocab.get(token)
            if token_id is not None:
                counts[i] = self._row_counts[token_id]
        return counts

    def _idf_over(
        self, size: int, tokens: Sequence[str], sources: Sequence[WordCounts]
    ) -> np.ndarray:
        """Each token's idf over `size` rows: those of this field and of `sources`."""
        frequency = self.row_frequency(tokens)
        for source in sources:
            frequency += source.row_frequency(tokens)
        return idf(size, frequency)

    def completions_of(self, prefix: str | None) -> list[str]:
        """The tokens a partial last word may become, if it is no token itself."""
        if prefix is None or prefix in self._vocab:
            return []
        indptr = self._scores["indptr"]

        def postings(token: str) -> int:
            token_id = self._vocab[token]
            return int(indptr[token_id + 1] - indptr[token_id])

        return completions(self._sorted_vocab, prefix, postings)


def _scales(words: Sequence[str], focus: Mapping[str, float] | None) -> np.ndarray:
    """Each word's focus (1 where none is known)."""
    if not focus:
        return np.ones(len(words))
    return np.array([focus.get(word, 1.0) for word in words])


def _row_counts(scores: dict[str, np.ndarray], sizes: np.ndarray) -> np.ndarray:
    """How many rows hold each token: the rows behind the documents of its posting list.
    Counted once, when a field is made or read: counted per query, a common word's list was
    read twice (its scores, then its documents' sizes), 14% of a search at 543k stickers."""
    indptr = scores["indptr"]
    counts = np.zeros(len(indptr) - 1, np.int64)
    listed = np.flatnonzero(indptr[1:] > indptr[:-1])  # reduceat needs non-empty lists
    if len(listed):
        counts[listed] = np.add.reduceat(sizes[scores["indices"]], indptr[listed])
    return counts


def _union(docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct documents of posting lists laid end to end, ascending, and where each
    posting's document is among them (np.unique's, with return_inverse).

    Each list is sorted (CSC order), so a stable sort, which finds and merges runs, does
    linear work: for "sport flag" at 543k stickers (15,896 postings) it took 0.02 ms, where
    np.unique's quicksort took 0.52, a third of the query's lexical search."""
    order = np.argsort(docs, kind="stable")
    in_order = docs[order]
    first = np.empty(len(docs), bool)
    first[:1] = True
    np.not_equal(in_order[1:], in_order[:-1], out=first[1:])
    position = np.empty(len(docs), np.intp)
    position[order] = np.cumsum(first) - 1
    return in_order[first], position


def _coverage(
    typed_idf: np.ndarray,
    posting: np.ndarray,
    position: np.ndarray,
    documents: int,
    absent_idf: dict[str, float],
    partial: str | None,
    partial_idf: float | None,
) -> np.ndarray:
    """Idf-weighted share of the query's words each document holds: the typed words it holds
    (postings below len(typed_idf)) over all of them, the words no token here weighing
    `absent_idf`. A partial word with completions weighs `partial_idf` (its commonest
    completion's: the likeliest meant), once however many of its completions a document
    holds (the other postings), at COMPLETION_CREDIT."""
    typed = len(typed_idf)
    is_typed = posting < typed
    held = np.bincount(
        position[is_typed], weights=typed_idf[posting[is_typed]], minlength=documents
    )
    total = float(typed_idf.sum()) + sum(absent_idf.values())
    if partial is not None and partial_idf is not None:
        total += partial_idf - absent_idf[partial]  # the partial word is no token here
        completed = np.bincount(position[~is_typed], minlength=documents) > 0
        held = held + COMPLETION_CREDIT * partial_idf * completed
    return held / total


def _documents(texts: Sequence[str], priority: np.ndarray | None) -> tuple[list[str], RowGroups]:
    """The distinct texts, and the rows that carry each (in priority order)."""
    documents, doc_of_row = number_texts(texts)
    return documents, RowGroups(doc_of_row, len(documents), priority)


def idf(documents: int, frequency: np.ndarray | int) -> np.ndarray:
    """Lucene's idf; rare tokens weigh more in coverage (here and in the query log's words)."""
    return np.log(1 + (documents - np.asarray(frequency) + 0.5) / (np.asarray(frequency) + 0.5))
