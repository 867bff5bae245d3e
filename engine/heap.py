"""Handing memory the process has freed back to the operating system.

glibc's malloc keeps what a process frees for its own later use, and returns it to the system
only from the top of its heaps. A live growth frees tens of megabytes at a time (decoded
images, text encodings, then the replaced index's arrays) amid allocations that stay, so that
memory stayed resident: at 543,098 stickers a growth of 20 stickers left the process 90-110 MB
larger than before it, and the growth's new arrays were allocated on top of what its earlier
steps had freed. `malloc_trim` gives every free page back (about 4 ms at that size). Called
before the growth allocates its arrays and after it, the growth's peak fell from 1,432 to
1,395 MB, and the process went back to the size it had before (1,266 MB after it, not 1,393).
A start frees alike once the index and the text model are read, and gives it back at its
warm-up (engine.engine.Engine.warm_up). Other C libraries (musl, macOS) have no such call and
are left alone.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from functools import cache


def release_freed_memory() -> bool:
    """Return the pages malloc holds free to the system; whether the C library could."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # the C library the process already runs on
    except (AttributeError, OSError):
        return None
