"""`stickerbot serve` as a user runs it: real processes, the emulator serving the demo pack."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
TOKEN = "123:SMOKE"
USER = 4242
START_TIMEOUT = 60.0  # the bot loads the text model and opens its database first


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


def wait_until(check: Any, timeout: float) -> Any:
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
        time.sleep(0.3)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _inline(port: int, text: str) -> dict[str, Any] | None:
    query_id = control(port, "inline_query", query=text, user_id=USER)
    answer: dict[str, Any] = control(port, "wait_inline_answer", query_id=query_id, timeout=30)
    return answer if answer["results"] else None


@pytest.fixture
def emulator() -> Iterator[int]:
    port = free_port()
    process = cli(
        "emulator",
        "--port",
        str(port),
        "--token",
        TOKEN,
        "--packs",
        str(REPO / "data" / "demo" / "stickers"),
    )
    try:
        wait_until(lambda: control(port, "api_calls") is not None, START_TIMEOUT)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_answers_inline_queries_with_demo_packs(emulator: int, tmp_path: Path) -> None:
    env = dict(
        os.environ,
        STICKERBOT_TOKEN=TOKEN,
        STICKERBOT_DATA=str(tmp_path / "data"),
        STICKERBOT_API_URL=f"http://127.0.0.1:{emulator}/bot",
    )
    bot = cli("serve", "--config", str(REPO / "bot.toml"), env=env)
    try:
        wait_until(
            lambda: any(c["method"] == "getUpdates" for c in control(emulator, "api_calls")),
            START_TIMEOUT,
        )
        control(emulator, "send_text", text="/addset demo_twemoji", user_id=USER)
        # Ingestion runs in the background: ask until the new pack answers.
        answer = wait_until(lambda: _inline(emulator, "cat"), START_TIMEOUT)
    finally:
        bot.terminate()
        _, stderr = bot.communicate(timeout=30)
    assert answer["results"], stderr.decode()[-2000:]
    assert answer["is_personal"] is True
    assert all(r["type"] == "sticker" for r in answer["results"])
    assert b"Traceback" not in stderr
