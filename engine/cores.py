"""Keeps a query's thread and the text encoder's thread on different cores.

Recall starts encoding the query on onnxruntime's worker thread (engine.use_onnx) and reads the
lexical fields meanwhile. That worker sleeps between queries. Linux wakes a sleeping thread on
the core of the thread that woke it (wake-affine placement), where it preempts the waker: the
query's thread then stood still while the encoder ran, and the other core idled. On 2 cores,
starting an encoding took 0.95-1.15 ms when the query's thread went on with Python work, and
0.31 ms when it slept instead; starting it and waiting for it took 1.09 ms. With the worker
pinned to one core and the query's thread to the others, they took 0.38 ms.

The worker is pinned for good (an onnxruntime session option). The query's thread is pinned
only while it answers a query: it belongs to a pool that runs other work too, and threads it
starts inherit its cores. That includes the work a query hands to the background
(engine.background: a stale popular list's re-sort, at most once a period), which so stays off
the encoder's core, as the queries' own work does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import onnxruntime as ort

# onnxruntime's session option: per worker thread, the processors it may run on.
AFFINITY_OPTION = "session.intra_op_thread_affinities"


@cache
def encoder_core() -> int | None:
    """The core the encoder's worker runs on: the last one this process may use. None where
    there is only one, or where the platform does not let threads choose their cores."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cores = os.sched_getaffinity(0)
    return max(cores) if len(cores) > 1 else None


def pin_encoder_worker(options: ort.SessionOptions) -> None:
    """Pins the one worker thread of a session with two threads per run to `encoder_core()`."""
    core = encoder_core()
    if core is not None:
        # onnxruntime numbers processors from 1.
        options.add_session_config_entry(AFFINITY_OPTION, str(core + 1))


@contextmanager
def off_encoder_core() -> Iterator[None]:
    """While inside, the calling thread runs on every core it may use but the encoder's. Where
    the system refuses (a sandbox, cores taken away meanwhile), the query runs as it is: this
    only makes it faster."""
    core = encoder_core()
    cores = os.sched_getaffinity(0) if core is not None else set()
    others = cores - {core}
    if not others or not _move_to(others):
        yield
        return
    try:
        yield
    finally:
        _move_to(cores)


def _move_to(cores: set[int]) -> bool:
    """Lets the calling thread run on `cores` only; False where the system refused."""
    try:
        os.sched_setaffinity(0, cores)
    except OSError:
        return False
    return True
