"""The single binary removes the unpacked copies that runs stopped by kill -9 left behind, and
only those: real folders, and real processes holding (or having held) their copy."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.unpacked_copies import IN_USE, remove_stale_copies

# A run of the bot: it holds its copy as the CLI does, then works until it is killed.
RUN = """
import sys, time
from pathlib import Path
from bot.unpacked_copies import hold
hold(Path(sys.argv[1]))
print("holding", flush=True)
time.sleep(120)
"""


def unpacked(tmp: Path, name: str) -> Path:
    """A folder as the binary unpacks it, before any run marked it."""
    copy = tmp / name
    copy.mkdir()
    (copy / "libpython3.11.so.1.0").write_bytes(b"\x7fELF")
    return copy


def run_in(copy: Path) -> subprocess.Popen[str]:
    """A process that holds `copy`, as a running bot holds its own."""
    process = subprocess.Popen(
        [sys.executable, "-c", RUN, str(copy)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "holding"
    return process


@pytest.fixture
def runs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def test_a_copy_is_removed_once_the_run_that_held_it_is_killed(
    tmp_path: Path, runs: list[subprocess.Popen[str]]
) -> None:
    own = unpacked(tmp_path, "_MEIown")
    (own / IN_USE).touch()  # this run's own copy: never removed, held or not
    copy = unpacked(tmp_path, "_MEIkilled")
    run = run_in(copy)
    runs.append(run)

    assert remove_stale_copies(own) == []  # held: in use
    run.send_signal(signal.SIGKILL)
    run.wait()

    assert remove_stale_copies(own) == [copy]
    assert not copy.exists()
    assert (own / "libpython3.11.so.1.0").is_file()


def test_copies_in_use_unmarked_or_not_copies_are_left_alone(
    tmp_path: Path, runs: list[subprocess.Popen[str]]
) -> None:
    own = unpacked(tmp_path, "_MEIown")
    in_use = unpacked(tmp_path, "_MEIinuse")
    runs.append(run_in(in_use))
    unmarked = unpacked(tmp_path, "_MEIunpacking")  # still unpacking, or another program's
    not_a_copy = unpacked(tmp_path, "other")
    (not_a_copy / IN_USE).touch()

    assert remove_stale_copies(own) == []
    for kept in (own, in_use, unmarked, not_a_copy):
        assert (kept / "libpython3.11.so.1.0").is_file(), kept.name


def test_a_file_named_as_a_copy_is_no_copy(tmp_path: Path) -> None:
    own = unpacked(tmp_path, "_MEIown")
    (tmp_path / "_MEIfile").write_text("not a folder")

    assert remove_stale_copies(own) == []
    assert (tmp_path / "_MEIfile").is_file()
