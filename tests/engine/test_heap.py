"""Freed memory handed back to the operating system (engine.heap), on this machine's glibc."""

from __future__ import annotations

from pathlib import Path

from engine.heap import release_freed_memory

CHUNKS = 40_000
CHUNK_BYTES = 2048  # over pymalloc's 512 bytes: each block comes from the C library's malloc


def resident_anonymous_mb() -> float:
    status = Path("/proc/self/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("RssAnon:"))
    return int(line.split()[1]) / 1024


def test_memory_freed_below_live_allocations_goes_back_to_the_system() -> None:
    chunks = [bytearray(CHUNK_BYTES) for _ in range(CHUNKS)]  # about 80 MB, all touched
    pinned = bytearray(CHUNK_BYTES)  # above them, so the heap cannot shrink from its top
    del chunks
    held = resident_anonymous_mb()

    assert release_freed_memory()

    assert held - resident_anonymous_mb() > 40
    assert len(pinned) == CHUNK_BYTES
