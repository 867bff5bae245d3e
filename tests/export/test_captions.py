"""Captioning against a local fake OpenAI-compatible endpoint that answers by image colour."""

from __future__ import annotations

import base64
import io
import json
import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from PIL import Image
from typer.testing import CliRunner

from engine.types import StickerRecord
from export.captions import (
    MAX_CONSECUTIVE_UNREACHABLE,
    CaptionEndpointDown,
    CaptionReport,
    RetryPolicy,
    app,
    apply_captions,
    caption_catalog,
    parse_reply,
    read_captions,
)

MODEL = "llava-test"
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02, timeout_s=5.0)
PLAIN = json.dumps(
    {"keywords": ["cat", "hello"], "description": "A cat waving", "emotions": ["joy"]}
)
FENCED = (
    'Sure! Here is the JSON:\n```json\n{"keywords": ["dog", "sad"], '
    '"description": "A dog crying.", "emotions": ["sadness"]}\n```\nHope it helps.'
)
RETRIED = json.dumps({"keywords": "party, yay", "description": "Confetti", "emotions": []})
PROSE = "A frog holding a sign that says ok"

# Sticker id -> fill colour; the fake server recognises a sticker by the colour it receives.
COLOURS = {
    "plain": (255, 0, 0),
    "fenced": (0, 255, 0),
    "retried": (0, 0, 255),
    "broken": (255, 255, 0),
    "prose": (255, 0, 255),
}


@dataclass
class FakeVlm:
    """Canned replies by sticker; 'retried' fails once, 'broken' always fails."""

    requests: Counter[str] = field(default_factory=Counter)
    bodies: list[dict[str, object]] = field(default_factory=list)
    mode: str = "normal"  # "drop": close every chat connection; "busy": 429 once per sticker

    def sticker_of(self, body: dict[str, object]) -> str:
        parts = body["messages"][0]["content"]  # type: ignore[index]
        url = next(part["image_url"]["url"] for part in parts if part["type"] == "image_url")
        png = base64.b64decode(url.removeprefix("data:image/png;base64,"))
        with Image.open(io.BytesIO(png)) as image:
            colour = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
        return next(name for name, rgb in COLOURS.items() if rgb == colour)

    async def chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies.append(body)
        sticker = self.sticker_of(body)
        self.requests[sticker] += 1
        if self.mode == "drop":
            assert request.transport is not None
            request.transport.close()  # what a crashed model server looks like to the client
            return web.Response()
        if self.mode == "busy" and self.requests[sticker] == 1:
            return web.Response(status=429, headers={"Retry-After": "0.05"})
        if sticker == "broken" or (sticker == "retried" and self.requests[sticker] == 1):
            return web.Response(status=500, text="model crashed")
        reply = {"plain": PLAIN, "fenced": FENCED, "retried": RETRIED, "prose": PROSE}[sticker]
        return web.json_response(
            {"choices": [{"message": {"role": "assistant", "content": reply}}]}
        )

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": MODEL}]})


@pytest.fixture
async def fake_vlm() -> AsyncIterator[tuple[FakeVlm, str]]:
    fake = FakeVlm()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.chat)
    app.router.add_get("/v1/models", fake.models)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield fake, f"http://{host}:{port}/v1"
    await runner.cleanup()


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A FORMAT.md folder: one PNG a sticker, plus one file that is not an image at all."""
    folder = tmp_path / "dataset"
    (folder / "stickers" / "pack").mkdir(parents=True)
    lines = []
    for sticker_id, colour in COLOURS.items():
        Image.new("RGBA", (64, 48), (*colour, 255)).save(folder / f"stickers/pack/{sticker_id}.png")
        lines.append(
            {
                "sticker_id": sticker_id,
                "set": "pack",
                "file": f"stickers/pack/{sticker_id}.png",
                "emoji": None,
                "caption": None,
                "ocr": None,
            }
        )
    (folder / "stickers/pack/garbage.png").write_bytes(b"not an image at all")
    lines.append(
        {
            "sticker_id": "garbage",
            "set": "pack",
            "file": "stickers/pack/garbage.png",
            "emoji": None,
            "caption": None,
            "ocr": None,
            "file_unique_id": "AgADgarbage",
        }
    )
    lines[0]["file_unique_id"] = "AgADplain"
    text = "".join(json.dumps(line) + "\n" for line in lines)
    (folder / "catalog.jsonl").write_text(text, encoding="utf-8")
    return folder


def free_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run(
    dataset: Path,
    out: Path,
    endpoint: str,
    on_progress: Callable[[CaptionReport], None] | None = None,
) -> CaptionReport:
    return await caption_catalog(
        dataset,
        out,
        endpoint=endpoint,
        model=MODEL,
        concurrency=2,
        retry=FAST_RETRY,
        on_progress=on_progress,
    )


def out_rows(out: Path) -> dict[str, dict[str, object]]:
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return {row["sticker_id"]: row for row in rows}


async def test_captions_every_readable_sticker(
    fake_vlm: tuple[FakeVlm, str], dataset: Path, tmp_path: Path
) -> None:
    fake, endpoint = fake_vlm
    out = tmp_path / "captions.jsonl"
    seen: list[int] = []
    report = await run(dataset, out, endpoint, on_progress=lambda r: seen.append(r.finished))

    assert (report.total, report.done, report.skipped_existing) == (6, 4, 0)
    assert report.failed == {"server_error": 1, "media:unsupported_format": 1}
    assert sorted(seen) == list(range(1, 7))
    assert fake.requests == {"plain": 1, "fenced": 1, "retried": 2, "broken": 3, "prose": 1}
    assert "garbage" not in fake.requests  # a bad file never reaches the endpoint

    rows = out_rows(out)
    assert set(rows) == {"plain", "fenced", "retried", "prose"}
    assert rows["plain"] == {
        "sticker_id": "plain",
        "file_unique_id": "AgADplain",
        "caption": "A cat waving. cat, hello",
        "keywords": ["cat", "hello"],
        "description": "A cat waving",
        "emotions": ["joy"],
        "model": MODEL,
    }
    assert rows["fenced"]["caption"] == "A dog crying. dog, sad"
    assert rows["fenced"]["emotions"] == ["sadness"]
    assert rows["retried"]["keywords"] == ["party", "yay"]
    assert rows["prose"]["caption"] == PROSE
    assert rows["prose"]["keywords"] == []


async def test_request_is_openai_chat_with_png_data_url(
    fake_vlm: tuple[FakeVlm, str], dataset: Path, tmp_path: Path
) -> None:
    fake, endpoint = fake_vlm
    await run(dataset, tmp_path / "captions.jsonl", endpoint)
    body = fake.bodies[0]
    assert body["model"] == MODEL
    parts = body["messages"][0]["content"]  # type: ignore[index]
    kinds = [part["type"] for part in parts]
    assert sorted(kinds) == ["image_url", "text"]
    text = next(part["text"] for part in parts if part["type"] == "text")
    assert '"keywords"' in text and '"description"' in text and '"emotions"' in text


async def test_second_run_asks_only_for_what_is_missing(
    fake_vlm: tuple[FakeVlm, str], dataset: Path, tmp_path: Path
) -> None:
    fake, endpoint = fake_vlm
    out = tmp_path / "captions.jsonl"
    await run(dataset, out, endpoint)
    fake.requests.clear()

    report = await run(dataset, out, endpoint)

    assert report.skipped_existing == 4 and report.done == 0
    assert fake.requests == {"broken": 3}  # failures are retried, done stickers are not
    assert len(out.read_text(encoding="utf-8").splitlines()) == 4


async def test_partial_last_line_is_dropped_and_rewritten(
    fake_vlm: tuple[FakeVlm, str], dataset: Path, tmp_path: Path
) -> None:
    fake, endpoint = fake_vlm
    out = tmp_path / "captions.jsonl"
    await run(dataset, out, endpoint)
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    # The victim is one the fake answers at once: 'retried' would be asked twice again. Lines
    # come in the order answers arrived, so put it last.
    victim = "plain"
    lines.sort(key=lambda line: json.loads(line)["sticker_id"] == victim)
    # What a crash mid-write leaves behind: the last line cut short, with no newline.
    out.write_text("".join(lines[:-1]) + lines[-1][:20], encoding="utf-8")
    fake.requests.clear()

    report = await run(dataset, out, endpoint)

    assert report.done == 1 and report.skipped_existing == 3
    assert fake.requests[victim] == 1
    assert set(out_rows(out)) == {"plain", "fenced", "retried", "prose"}


async def test_endpoint_down_fails_fast_in_one_line(dataset: Path, tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(CaptionEndpointDown) as caught:
        await run(dataset, tmp_path / "captions.jsonl", endpoint)
    message = str(caught.value)
    assert "\n" not in message
    assert endpoint in message and "unreachable" in message


async def test_endpoint_dying_mid_run_stops_the_batch(
    fake_vlm: tuple[FakeVlm, str], dataset: Path, tmp_path: Path
) -> None:
    fake, endpoint = fake_vlm
    fake.mode = "drop"
    with pytest.raises(CaptionEndpointDown, match="went away"):
        await run(dataset, tmp_path / "captions.jsonl", endpoint)
    # Stopped after a few stickers (plus the one the other worker had in flight) instead of
    # retrying every remaining one.
    in_flight = 2 - 1
    assert len(fake.requests) <= MAX_CONSECUTIVE_UNREACHABLE + in_flight
    assert "prose" not in fake.requests


async def test_rate_limit_is_retried(
    fake_vlm: tuple[FakeVlm, str], dataset: Path, tmp_path: Path
) -> None:
    fake, endpoint = fake_vlm
    fake.mode = "busy"
    report = await run(dataset, tmp_path / "captions.jsonl", endpoint)
    assert report.done == 4
    assert fake.requests["plain"] == 2


def test_command_reports_endpoint_down(dataset: Path, tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}/v1"
    result = CliRunner().invoke(
        app,
        [
            "caption",
            str(dataset),
            str(tmp_path / "c.jsonl"),
            "--endpoint",
            endpoint,
            "--model",
            MODEL,
        ],
    )
    assert result.exit_code == 1
    assert "unreachable" in result.output


async def test_endpoint_accepts_full_chat_url(
    fake_vlm: tuple[FakeVlm, str], dataset: Path, tmp_path: Path
) -> None:
    _, endpoint = fake_vlm
    report = await run(dataset, tmp_path / "c.jsonl", endpoint + "/chat/completions")
    assert report.done == 4


@pytest.mark.parametrize(
    ("reply", "keywords", "description"),
    [
        (PLAIN, ["cat", "hello"], "A cat waving"),
        (FENCED, ["dog", "sad"], "A dog crying."),
        ('Answer: {"description": "Thumbs up", "keywords": ["ok"]} done', ["ok"], "Thumbs up"),
        ("```\nA fox\nsleeping\n```", [], "A fox sleeping"),
        ('{"broken json', [], '{"broken json'),
    ],
)
def test_parse_reply(reply: str, keywords: list[str], description: str) -> None:
    caption = parse_reply(reply)
    assert caption.keywords == keywords
    assert caption.description == description


def test_read_and_apply_captions(tmp_path: Path) -> None:
    path = tmp_path / "captions.jsonl"
    rows = [
        {"sticker_id": "a", "caption": "A cat. cat"},
        {"sticker_id": "b", "file_unique_id": "AgADb", "description": "A dog", "keywords": ["dog"]},
    ]
    path.write_text(
        "".join(json.dumps(row) + "\n" for row in rows) + '{"sticker_id": "c"', encoding="utf-8"
    )
    captions = read_captions(path)
    assert set(captions) == {"a", "b", "AgADb"}  # the partial last line is ignored
    assert captions["AgADb"]["caption"] == "A dog. dog"

    records = [
        StickerRecord("a", "pack"),
        StickerRecord("AgADb", "pack"),
        StickerRecord("z", "pack", caption="kept"),
    ]
    filled = apply_captions(records, captions)
    assert [record.caption for record in filled] == ["A cat. cat", "A dog. dog", "kept"]
    assert records[0].caption is None  # the input is not modified
