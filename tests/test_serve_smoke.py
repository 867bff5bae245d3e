"""`stickerbot serve` as a user runs it: real processes, the emulator serving the demo pack."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.unpacked_copies import IN_USE

REPO = Path(__file__).resolve().parents[1]
TOKEN = "123:SMOKE"
USER = 4242
START_TIMEOUT = 60.0  # the bot loads the text model and opens its database first
SENDS = 80  # stickers sent while the bot is away: one batch of getUpdates (at most 100)
DEMO_PACK_SIZE = 40  # stickers in each demo pack
# Set to an executable (`STICKERBOT_SMOKE_COMMAND=dist/stickerbot`, after `make binary`), these
# tests run the single binary instead of the source.
SMOKE_COMMAND = os.environ.get("STICKERBOT_SMOKE_COMMAND")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def control(port: int, action: str, **kwargs: Any) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/control/{action}",
        data=json.dumps(kwargs).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert body["ok"], body
    return body["result"]


def wait_until(check: Any, timeout: float, every: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(every)


@pytest.fixture(scope="module", autouse=True)
def own_tmpdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A TMPDIR for the processes these tests start, removed once they are all gone: the binary
    unpacks itself there, and a kill -9 leaves that copy (about 400 MB) behind."""
    folder = tmp_path_factory.mktemp("tmpdir")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(folder))
        yield
    shutil.rmtree(folder, ignore_errors=True)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    if SMOKE_COMMAND:
        command = [str(REPO / SMOKE_COMMAND)]
    else:
        command = [sys.executable, "-c", "from bot.cli import main; main()"]
    return subprocess.Popen(
        [*command, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a process group of its own, which a kill -9 can take whole
    )


def _inline(port: int, text: str) -> dict[str, Any] | None:
    query_id = control(port, "inline_query", query=text, user_id=USER)
    answer: dict[str, Any] = control(port, "wait_inline_answer", query_id=query_id, timeout=30)
    return answer if answer["results"] else None


@pytest.fixture
def emulator() -> Iterator[int]:
    process, port = start_emulator("--packs", str(REPO / "data" / "demo" / "stickers"))
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def start_emulator(*args: str) -> tuple[subprocess.Popen[bytes], int]:
    """An emulator process, and its port, once it answers."""
    port = free_port()
    process = cli("emulator", "--port", str(port), "--token", TOKEN, *args)
    try:
        wait_until(lambda: control(port, "api_calls") is not None, START_TIMEOUT)
    except BaseException:
        process.kill()
        process.wait(timeout=10)
        raise
    return process, port


def serve_env(emulator: int, data: Path) -> dict[str, str]:
    return dict(
        os.environ,
        STICKERBOT_TOKEN=TOKEN,
        STICKERBOT_DATA=str(data),
        STICKERBOT_API_URL=f"http://127.0.0.1:{emulator}/bot",
    )


def polls(emulator: int) -> int:
    """getUpdates calls the emulator has answered: the bot is up once they grow."""
    return sum(c["method"] == "getUpdates" for c in control(emulator, "api_calls"))


def add_demo_pack(emulator: int) -> dict[str, Any]:
    control(emulator, "send_text", text="/addset demo_twemoji", user_id=USER)
    # Ingestion runs in the background: ask until the new pack answers.
    answer: dict[str, Any] = wait_until(lambda: _inline(emulator, "cat"), START_TIMEOUT)
    return answer


def test_serve_answers_inline_queries_with_demo_packs(emulator: int, tmp_path: Path) -> None:
    bot = cli("serve", "--config", str(REPO / "bot.toml"), env=serve_env(emulator, tmp_path))
    try:
        wait_until(lambda: polls(emulator), START_TIMEOUT)
        answer = add_demo_pack(emulator)
    finally:
        bot.terminate()
        _, stderr = bot.communicate(timeout=30)
    assert answer["results"], stderr.decode()[-2000:]
    assert answer["is_personal"] is True
    assert all(r["type"] == "sticker" for r in answer["results"])
    assert b"Traceback" not in stderr


def test_sends_confirmed_to_telegram_survive_a_kill_9(emulator: int, tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = serve_env(emulator, data)
    bot = cli("serve", "--config", str(REPO / "bot.toml"), env=env)
    try:
        wait_until(lambda: polls(emulator), START_TIMEOUT)
        add_demo_pack(emulator)
    finally:
        bot.terminate()
        bot.communicate(timeout=30)
    for i in range(SENDS):  # sent while the bot is away: they wait for it at Telegram
        control(emulator, "send_sticker", set_name="demo_twemoji", index=i % DEMO_PACK_SIZE)

    bot = cli("serve", "--config", str(REPO / "bot.toml"), env=env)
    try:  # it fetches a batch, and confirms it by asking for the next before handling it all
        wait_until(lambda: len(control(emulator, "pending_updates")) < SENDS, START_TIMEOUT, 0.01)
    finally:
        # The whole process group: the single binary is a launcher and the bot, its child.
        os.killpg(bot.pid, signal.SIGKILL)
        bot.communicate(timeout=30)

    bot = cli("serve", "--config", str(REPO / "bot.toml"), env=env)
    try:
        wait_until(lambda: sends_recorded(data) >= SENDS, START_TIMEOUT)
        time.sleep(1)  # time to record one too many, if it would
        sends = sends_recorded(data)
    finally:
        bot.terminate()
        _, stderr = bot.communicate(timeout=30)
    # Exactly once: a kill between a record and its mark in the journal hands that one to the
    # next start again, and the store keeps one event per message.
    assert sends == SENDS, stderr.decode()[-2000:]


def sends_recorded(data: Path) -> int:
    with sqlite3.connect(data / "stickerbot.db") as db:
        (count,) = db.execute("SELECT COUNT(*) FROM events WHERE kind = 'send'").fetchone()
    return int(count)


def test_serve_with_telegram_out_of_reach_stops_with_one_line_and_no_traceback(
    tmp_path: Path,
) -> None:
    api_url = f"http://127.0.0.1:{free_port()}/bot"  # nothing listens there
    env = dict(os.environ, STICKERBOT_TOKEN=TOKEN, STICKERBOT_DATA=str(tmp_path / "data"))
    bot = cli("serve", env={**env, "STICKERBOT_API_URL": api_url})
    _, stderr = bot.communicate(timeout=START_TIMEOUT)
    assert bot.returncode == 1
    lines = stderr.decode().splitlines()
    assert "Traceback" not in stderr.decode()
    assert lines[-1].startswith(f"error: cannot reach Telegram at {api_url}: ")
    assert "api_url" in lines[-1]


def test_serve_with_a_refused_token_says_so_in_one_line_without_the_token(
    emulator: int, tmp_path: Path
) -> None:
    wrong = "999:WRONG"
    bot = cli("serve", env={**serve_env(emulator, tmp_path / "data"), "STICKERBOT_TOKEN": wrong})
    _, stderr = bot.communicate(timeout=START_TIMEOUT)
    assert bot.returncode == 2  # the input must change
    text = stderr.decode()
    assert "Traceback" not in text and wrong not in text  # no secret in what may be logged
    assert text.splitlines()[-1].startswith(
        "error: Telegram refused the token; set STICKERBOT_TOKEN"
    )


def test_verbose_logs_show_request_urls_without_the_token(emulator: int, tmp_path: Path) -> None:
    bot = cli("--verbose", "serve", env=serve_env(emulator, tmp_path / "data"))
    try:
        wait_until(lambda: polls(emulator) > 0, START_TIMEOUT)
    finally:
        bot.terminate()
        _, stderr = bot.communicate(timeout=30)
    text = stderr.decode()
    assert "/getMe" in text  # what the library logs, with the URL the token is part of
    assert TOKEN not in text and f"{emulator}/bot<secret>" in text


def test_serve_as_a_webhook_on_a_taken_port_says_which_in_one_line(
    emulator: int, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "bot.toml"
        config.write_text(
            f"[bot]\nmode = 'webhook'\nwebhook_url = 'https://example.org/hook'\n"
            f"webhook_port = {port}\n",
            encoding="utf-8",
        )
        bot = cli("serve", "--config", str(config), env=serve_env(emulator, tmp_path / "data"))
        _, stderr = bot.communicate(timeout=START_TIMEOUT)
    assert bot.returncode == 1
    assert "Traceback" not in stderr.decode()
    assert stderr.decode().splitlines()[-1] == (
        f"error: cannot listen on 127.0.0.1:{port}: the port is taken; "
        "stop what uses it, or set [bot] webhook_port"
    )


def test_a_start_of_the_binary_removes_the_copy_a_kill_9_left() -> None:
    """The single binary unpacks itself into TMPDIR, and a kill -9 of its whole process group
    leaves that copy behind: its next start removes it (bot.unpacked_copies). The source has no
    copy of its own and leaves TMPDIR alone."""
    tmpdir = Path(os.environ["TMPDIR"])
    planted = tmpdir / "_MEIplanted"  # as a copy looks once the run that held it is gone
    planted.mkdir()
    (planted / IN_USE).touch()

    killed, _ = start_emulator()
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    if SMOKE_COMMAND:
        assert len(set(tmpdir.glob("_MEI*")) - {planted}) == 1  # the killed run's copy
    later, _ = start_emulator()
    later.terminate()
    later.wait(timeout=30)

    assert list(tmpdir.glob("_MEI*")) == ([] if SMOKE_COMMAND else [planted])
