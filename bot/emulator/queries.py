"""Inline and callback queries awaiting the bot's one and only answer."""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, bad_request

# Query ids are opaque decimal strings in Telegram; starting high makes them look the part.
FIRST_QUERY_ID = 4_000_000_000_000_000_000
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
# How long Telegram waits for an answer. It publishes no figure; bots see inline queries refused
# after about 10 s and callback queries after about 15 s.
ANSWER_WINDOWS = {"inline": 10.0, "callback": 15.0}


@dataclass
class PendingQuery:
    id: str
    kind: str  # "inline" or "callback"
    request: dict[str, Any]
    answer: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    opened: float = 0.0  # clock reading when the user sent it


class QueryBook:
    """Issues query ids and stores each query's answer exactly once, if it comes in time."""

    def __init__(
        self,
        windows: dict[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ids = itertools.count(FIRST_QUERY_ID)
        self._queries: dict[str, PendingQuery] = {}
        self.windows = dict(ANSWER_WINDOWS if windows is None else windows)
        self._clock = clock

    def open(self, kind: str, request: dict[str, Any]) -> PendingQuery:
        query = PendingQuery(
            id=str(next(self._ids)), kind=kind, request=copy.deepcopy(request), opened=self._clock()
        )
        self._queries[query.id] = query
        return query

    def answer(self, kind: str, query_id: str, answer: dict[str, Any]) -> None:
        """Record the bot's answer; an unknown, answered or expired id fails like Telegram."""
        self.check_open(kind, query_id)
        self._queries[query_id].answer = copy.deepcopy(answer)

    def check_open(self, kind: str, query_id: str) -> None:
        query = self._queries.get(query_id)
        if query is None or query.kind != kind or query.answer is not None:
            raise self._invalid(kind)
        if self._clock() - query.opened > self.windows.get(kind, float("inf")):
            raise bad_request(QUERY_TOO_OLD)

    def get(self, query_id: str) -> PendingQuery | None:
        return self._queries.get(query_id)

    def answer_of(self, query_id: str) -> dict[str, Any] | None:
        query = self._queries.get(query_id)
        return copy.deepcopy(query.answer) if query and query.answer is not None else None

    def clear(self) -> None:
        self._queries.clear()

    @staticmethod
    def _invalid(kind: str) -> ApiError:
        return bad_request("QUERY_ID_INVALID" if kind == "inline" else QUERY_TOO_OLD)
