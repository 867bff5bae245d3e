"""Inline and callback queries awaiting the bot's one and only answer."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, bad_request

# Query ids are opaque decimal strings in Telegram; starting high makes them look the part.
FIRST_QUERY_ID = 4_000_000_000_000_000_000
CALLBACK_INVALID = "query is too old and response timeout expired or query ID is invalid"


@dataclass
class PendingQuery:
    id: str
    kind: str  # "inline" or "callback"
    request: dict[str, Any]
    answer: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class QueryBook:
    """Issues query ids and stores each query's answer exactly once."""

    def __init__(self) -> None:
        self._ids = itertools.count(FIRST_QUERY_ID)
        self._queries: dict[str, PendingQuery] = {}

    def open(self, kind: str, request: dict[str, Any]) -> PendingQuery:
        query = PendingQuery(id=str(next(self._ids)), kind=kind, request=copy.deepcopy(request))
        self._queries[query.id] = query
        return query

    def answer(self, kind: str, query_id: str, answer: dict[str, Any]) -> None:
        """Record the bot's answer; an unknown or already answered id fails like Telegram."""
        query = self._queries.get(query_id)
        if query is None or query.kind != kind or query.answer is not None:
            raise self._invalid(kind)
        query.answer = copy.deepcopy(answer)

    def check_open(self, kind: str, query_id: str) -> None:
        query = self._queries.get(query_id)
        if query is None or query.kind != kind or query.answer is not None:
            raise self._invalid(kind)

    def get(self, query_id: str) -> PendingQuery | None:
        return self._queries.get(query_id)

    def answer_of(self, query_id: str) -> dict[str, Any] | None:
        query = self._queries.get(query_id)
        return copy.deepcopy(query.answer) if query and query.answer is not None else None

    def clear(self) -> None:
        self._queries.clear()

    @staticmethod
    def _invalid(kind: str) -> ApiError:
        return bad_request("QUERY_ID_INVALID" if kind == "inline" else CALLBACK_INVALID)
