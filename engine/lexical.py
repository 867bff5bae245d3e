"""Lexical recall with bm25s, plus the share of the query's words a document covers.

BM25 ranks; coverage (idf-weighted share of query tokens present in the document) turns a match
into a comparable 0..1 relevance, which raw BM25 scores are not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import bm25s
import numpy as np

from engine.tokens import tokenize

EMPTY_DOC_TOKEN = "\x00"  # bm25s needs at least one token per document


@dataclass(frozen=True, slots=True)
class LexicalHit:
    row: int
    bm25: float
    coverage: float


class FieldIndex:
    """BM25 over one text field of every sticker (row i = sticker i).

    Searches read only the postings of the query's tokens (bm25s keeps its precomputed scores
    as a token-by-document sparse matrix), so a query costs what its words match, not the size
    of the catalog; coverage comes from the same postings (a token's document frequency is the
    length of its posting list).
    """

    def __init__(self, documents: Sequence[str]) -> None:
        corpus = [list(tokenize(doc)) or [EMPTY_DOC_TOKEN] for doc in documents]
        self._size = len(corpus)
        self._bm25 = bm25s.BM25()
        self._vocab: dict[str, int] = {}
        if corpus:  # bm25s cannot index an empty corpus; an empty catalog matches nothing
            self._bm25.index(corpus, show_progress=False)
            self._vocab = self._bm25.vocab_dict
        self._unseen_idf = _idf(max(1, self._size), 0)

    def __len__(self) -> int:
        return self._size

    def search(self, query: str, k: int) -> list[LexicalHit]:
        """Up to k rows sharing at least one token with the query, best BM25 first."""
        words = list(dict.fromkeys(tokenize(query)))
        token_ids = np.array([self._vocab[t] for t in words if t in self._vocab], dtype=np.int64)
        if len(token_ids) == 0:
            return []
        matrix = self._bm25.scores
        starts, ends = matrix["indptr"][token_ids], matrix["indptr"][token_ids + 1]
        lengths = ends - starts
        rows = np.concatenate([matrix["indices"][a:b] for a, b in zip(starts, ends, strict=True)])
        values = np.concatenate([matrix["data"][a:b] for a, b in zip(starts, ends, strict=True)])
        idf = _idf(self._size, lengths)
        total = float(idf.sum()) + self._unseen_idf * (len(words) - len(token_ids))
        found, position = np.unique(rows, return_inverse=True)
        bm25 = np.bincount(position, weights=values)
        coverage = np.bincount(position, weights=np.repeat(idf, lengths)) / total
        k = min(k, len(found))
        top = np.argpartition(-bm25, k - 1)[:k]
        top = top[np.argsort(-bm25[top], kind="stable")]
        return [LexicalHit(int(found[i]), float(bm25[i]), float(coverage[i])) for i in top]


def _idf(documents: int, frequency: np.ndarray | int) -> np.ndarray:
    """Lucene's idf; rare tokens weigh more in coverage."""
    return np.log(1 + (documents - np.asarray(frequency) + 0.5) / (np.asarray(frequency) + 0.5))
