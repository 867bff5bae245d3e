"""Injected failures: the next N calls of a method fail the way Telegram would fail them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ApiError

DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class Fault:
    error: ApiError
    remaining: int


class FaultInjector:
    """Method names are case-insensitive, as they are in the Bot API."""

    def __init__(self) -> None:
        self._faults: dict[str, list[Fault]] = {}

    def inject(
        self,
        method: str,
        error_code: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
        description: str | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        params = dict(parameters or {})
        if error_code == 429:
            params.setdefault("retry_after", retry_after or 1)
        text = description or _describe(error_code, params)
        fault = Fault(ApiError(error_code, text, params or None), max(1, times))
        self._faults.setdefault(method.lower(), []).append(fault)

    def take(self, method: str) -> ApiError | None:
        """The error for this call if one is armed, counting it down."""
        queue = self._faults.get(method.lower())
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        return fault.error

    def clear(self) -> None:
        self._faults.clear()


def _describe(error_code: int, params: dict[str, Any]) -> str:
    if error_code == 429:
        return f"Too Many Requests: retry after {params['retry_after']}"
    return DEFAULT_DESCRIPTIONS.get(error_code, "Error")
