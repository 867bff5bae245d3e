"""Lexical recall with bm25s, plus the share of the query's words a document covers.

BM25 ranks; coverage (idf-weighted share of query tokens present in the document) turns a match
into a comparable 0..1 relevance, which raw BM25 scores are not.
"""

from __future__ import annotations

import math
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
    """BM25 over one text field of every sticker (row i = sticker i)."""

    def __init__(self, documents: Sequence[str]) -> None:
        self._doc_tokens = [frozenset(tokenize(doc)) for doc in documents]
        corpus = [list(tokenize(doc)) or [EMPTY_DOC_TOKEN] for doc in documents]
        self._bm25 = bm25s.BM25()
        self._vocab: dict[str, int] = {}
        if corpus:  # bm25s cannot index an empty corpus; an empty catalog matches nothing
            self._bm25.index(corpus, show_progress=False)
            self._vocab = self._bm25.vocab_dict
        df: dict[str, int] = {}
        for tokens in self._doc_tokens:
            for token in tokens:
                df[token] = df.get(token, 0) + 1
        n = max(1, len(documents))
        self._idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self._unseen_idf = math.log(1 + (n + 0.5) / 0.5)

    def __len__(self) -> int:
        return len(self._doc_tokens)

    def search(self, query: str, k: int) -> list[LexicalHit]:
        """Up to k rows sharing at least one token with the query, best BM25 first."""
        tokens = [t for t in dict.fromkeys(tokenize(query)) if t in self._vocab]
        if not tokens or not self._doc_tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        k = min(k, int(np.count_nonzero(scores)))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        weights = self._query_weights(query)
        return [LexicalHit(int(r), float(scores[r]), self._coverage(weights, int(r))) for r in top]

    def _query_weights(self, query: str) -> dict[str, float]:
        return {t: self._idf.get(t, self._unseen_idf) for t in dict.fromkeys(tokenize(query))}

    def _coverage(self, weights: dict[str, float], row: int) -> float:
        total = sum(weights.values())
        if total <= 0:
            return 0.0
        present = self._doc_tokens[row]
        return sum(w for t, w in weights.items() if t in present) / total
