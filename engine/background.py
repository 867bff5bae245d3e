"""One worker thread at a time for work that refreshes something behind the queries' backs.

Queries that find something stale (the popular list, the walk over packs alike) start the work
and go on with what they have; while it runs, the queries after them start nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class BackgroundWork:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # two queries may find the same thing stale at once
        self._thread: threading.Thread | None = None

    def start(self, work: Callable[[], None]) -> bool:
        """Run `work` in a daemon thread unless the last one still runs; whether it started."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._thread = threading.Thread(target=work, daemon=True)
            self._thread.start()
            return True

    def wait(self, timeout: float) -> None:
        """Until the work last started is done, or `timeout` seconds."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
