"""Optional step timing. Code whose steps a benchmark splits takes a `StepTimer` and wraps each
step in `with timer("name"):`; callers that do not measure pass nothing and pay a no-op. One
code path serves both, so a benchmark never times a copy that drifted from the real thing."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

StepTimer = Callable[[str], AbstractContextManager[object]]


def untimed(_step: str) -> AbstractContextManager[object]:
    return nullcontext()
