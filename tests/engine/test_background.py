"""Background refreshes: one worker thread at a time, the queries meanwhile start nothing."""

from __future__ import annotations

import threading

from engine.background import BackgroundWork

WAIT_SECONDS = 10.0  # generous: a test machine may be slow; the tests end as soon as work ends


def test_work_starts_again_only_once_the_last_run_is_done() -> None:
    work, release, runs = BackgroundWork(), threading.Event(), []

    def refresh() -> None:
        runs.append(threading.current_thread())
        release.wait(WAIT_SECONDS)

    assert work.start(refresh)
    assert not work.start(refresh)  # still running: the second query starts nothing
    release.set()
    work.wait(WAIT_SECONDS)
    assert work.start(refresh)
    work.wait(WAIT_SECONDS)
    assert len(runs) == 2
    assert all(thread is not threading.main_thread() and thread.daemon for thread in runs)


def test_waiting_with_nothing_started_returns_at_once() -> None:
    BackgroundWork().wait(WAIT_SECONDS)  # no thread to join: must not block or fail
