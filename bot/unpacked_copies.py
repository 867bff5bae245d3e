"""The single binary's unpacked copies that a kill -9 left behind, removed at a later start.

The binary (`make binary`, a PyInstaller one-file build) unpacks itself into `$TMPDIR/_MEI*`
at each start, about 400 MB, and only its launcher process removes that copy when the bot
ends. A kill -9 that takes the launcher too (systemd killing a service's whole control group
when it will not stop, `kill -9 -PGID`) leaves the copy behind for good, in RAM where /tmp is a
tmpfs.

So each run holds a lock on a file in its own copy for as long as it lives, and each start
removes the copies beside its own whose lock nobody holds. The kernel drops a lock when its
process ends, kill -9 included. A copy without that file is left alone: it is still being
unpacked, or another program's, or made by a build from before this lock.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import sys
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

COPY_PREFIX = "_MEI"  # PyInstaller's name for a one-file build's unpacked copy
IN_USE = ".stickerbot-in-use"  # the lock file in each copy a run of this program made

_held: list[IO[bytes]] = []  # this run's lock, kept open for the life of the process


def running_copy() -> Path | None:
    """This run's unpacked copy when it runs from the single binary, else None."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle)
    return None


def hold(copy: Path) -> None:
    """Mark `copy` in use until this process ends (a shared lock on its IN_USE file)."""
    lock = (copy / IN_USE).open("ab")
    fcntl.flock(lock, fcntl.LOCK_SH)
    _held.append(lock)


def remove_stale_copies(own: Path) -> list[Path]:
    """Remove the copies beside `own` that a run of this program made and no run holds;
    returns them."""
    removed = []
    own = own.resolve()
    for copy in sorted(own.parent.glob(COPY_PREFIX + "*")):
        if copy.resolve() != own and _unheld(copy) and _remove(copy):
            removed.append(copy)
    return removed


def _unheld(copy: Path) -> bool:
    """Whether `copy` has a lock file that no process holds."""
    try:
        lock = (copy / IN_USE).open("rb")
    except OSError:  # no lock file (not a copy of ours, or still unpacking), or not readable
        return False
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a run holds it
        return True


def _remove(copy: Path) -> bool:
    try:
        shutil.rmtree(copy)
    except FileNotFoundError:
        return False  # another run starting at the same time removed it first
    except OSError as error:
        log.warning("could not remove %s, an unpacked copy no run uses: %s", copy, error)
        return False
    return True
