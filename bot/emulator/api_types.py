"""The shape of a Bot API method handler, and a result that carries a description."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .params import Params
from .state import EmulatorState

Handler = Callable[[EmulatorState, Params], Awaitable[Any]]


@dataclass
class Described:
    """Some methods (setWebhook, deleteWebhook) add a human description next to the result."""

    result: Any
    description: str
