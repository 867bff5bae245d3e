"""A process killed with SIGKILL while it records events loses none that it acknowledged.

A child process opens the engine on a real data folder and records events one by one, printing
each one's number once `observe` has returned; the test kills it mid-stream, then reopens the
folder: every acknowledged event, the preferences set before them and the learnt profile are
there, the database is intact, and the engine goes on serving and learning.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from engine.encoders import TextEncoder
from engine.engine import DB_NAME, Engine
from engine.types import Event, Prefs

USER = "42"
ACKED_BEFORE_KILL = 40  # events the child acknowledges before it is killed
CHILD_TIMEOUT = 120.0  # seconds to start up and acknowledge them, on a busy shared machine

# Records events without end: a pick after typed words, then a send, in turn.
CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from engine.engine import Engine
    from engine.types import Event, Prefs

    async def main() -> None:
        engine = await Engine.open(Path(sys.argv[1]))
        await engine.set_prefs("42", Prefs(safe_mode=True, language="fr"))
        print("prefs", flush=True)
        number = 0
        while True:
            sticker = "flat" if number % 2 else "soft"
            query = "chat" if number % 2 else None
            kind = "pick" if query else "send"
            await engine.observe("42", Event(kind, sticker, ts=1000.0 + number, query=query))
            print(number, flush=True)
            number += 1

    asyncio.run(main())
    """
)


def _record_until_killed(data: Path) -> int:
    """Run the child until it has acknowledged ACKED_BEFORE_KILL events, kill it with SIGKILL
    and return the number of the last event it acknowledged."""
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=repo,
    )
    assert child.stdout is not None
    last = -1
    try:
        for line in child.stdout:
            if line.strip() != "prefs":
                last = int(line)
            if last + 1 >= ACKED_BEFORE_KILL:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=CHILD_TIMEOUT)
    assert child.returncode == -signal.SIGKILL
    return last


async def test_acknowledged_events_survive_kill_9(
    two_sticker_folder: Path, memo_encoder: TextEncoder, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    await asyncio.to_thread(shutil.copytree, two_sticker_folder, data)

    last = await asyncio.wait_for(asyncio.to_thread(_record_until_killed, data), CHILD_TIMEOUT)

    with sqlite3.connect(data / DB_NAME) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    engine = await Engine.open(data, text_encoder=memo_encoder)
    try:
        exported = await engine.export_user(USER)
        stamps = [event["ts"] for event in exported["events"]]
        # Every acknowledged event is stored once, in order; at most the one in flight more.
        assert stamps[: last + 1] == [1000.0 + n for n in range(last + 1)]
        assert len(stamps) in (last + 1, last + 2)
        assert await engine.get_prefs(USER) == Prefs(safe_mode=True, language="fr")
        assert (await engine.taste(USER)).events >= last + 1

        # The engine goes on: it learns and answers as before the kill.
        await engine.observe(USER, Event("send", "flat", ts=5000.0))
        assert len((await engine.export_user(USER))["events"]) == len(stamps) + 1
        page = await engine.suggest(USER, "")
        assert {item.sticker_id for item in page.items} == {"flat", "soft"}
    finally:
        await engine.close()
