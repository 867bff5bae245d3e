"""Caption stickers with a vision-language model behind an OpenAI-compatible chat endpoint.

Works with a llama.cpp server, vLLM or Ollama serving LLaVA-1.5 or a sticker-tuned model (such
as PerSRV's LoRA). Each sticker is rendered with `load_sticker_image` (so TGS and WEBM work),
sent as a PNG data URL, and the reply is parsed into PerSRV's fields: keywords, a one-line
description and emotions. Results go to a JSONL file, one line per sticker, written as soon as
each caption arrives, so an interrupted run resumes where it stopped.

    stickerbot export captions DATASET captions.jsonl --endpoint http://127.0.0.1:8080/v1 \
        --model llava-1.5

(`python -m export.captions caption ...` runs the same command.)
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
import json
import logging
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import typer

from bot.cli_offline import export_captions
from engine.catalog import read_catalog, read_jsonl
from engine.errors import CatalogError, StickerbotError
from engine.media import MediaError, flatten, load_sticker_image
from engine.types import StickerRecord

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 4
# LLaVA-1.5's vision tower sees 336 px; larger images only cost upload and resize time.
IMAGE_SIZE = 336
# PerSRV-style JSON for a sticker fits in well under 200 tokens; the cap stops runaway output.
MAX_TOKENS = 256
# Deterministic decoding: a rerun of the same model gives the same captions.
TEMPERATURE = 0.0
# A 7B VLM on a CPU can take a minute per image; beyond two, the server is stuck.
REQUEST_TIMEOUT_S = 120.0
# The reachability check must answer fast: it only proves something is listening.
PROBE_TIMEOUT_S = 10.0
# Statuses worth retrying: overload (429) and transient server trouble (5xx).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 5
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 30.0
# After this many stickers in a row fail to connect at all, the server is gone: stop the run
# instead of burning every remaining sticker's retries.
MAX_CONSECUTIVE_UNREACHABLE = 3
# Keywords and emotions kept per sticker; more is the model rambling.
MAX_KEYWORDS = 12
MAX_EMOTIONS = 5
# A description is one line; the cap keeps a model that ignored the format from filling the index.
MAX_DESCRIPTION_CHARS = 300
CHAT_PATH = "/chat/completions"
MODELS_PATH = "/models"

PROMPT = (
    "This image is a chat sticker. Describe it for a sticker search engine. "
    "Answer with JSON only, no other text, in this form: "
    '{"keywords": ["3 to 8 short words or phrases someone would type to find this sticker"], '
    '"description": "one line: what the sticker shows and what it means in a chat", '
    '"emotions": ["1 to 3 emotions it expresses"]}. '
    "If the sticker contains text, include its meaning in the description."
)

_FENCE = re.compile(r"```[a-zA-Z]*\s*(.*?)```", re.DOTALL)
_SPACES = re.compile(r"\s+")

ProgressCallback = Callable[["CaptionReport"], None]


class CaptionEndpointDown(StickerbotError):
    """The caption endpoint cannot be reached or refuses us; the message says which and why."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a failing request is retried (full-jitter backoff)."""

    max_attempts: int = MAX_ATTEMPTS
    base_delay_s: float = BACKOFF_BASE_S
    max_delay_s: float = BACKOFF_CAP_S
    timeout_s: float = REQUEST_TIMEOUT_S

    def delay(self, attempt: int) -> float:
        """Full jitter: parallel workers that failed together do not retry in lockstep."""
        return random.uniform(0.0, min(self.max_delay_s, self.base_delay_s * 2**attempt))


DEFAULT_RETRY = RetryPolicy()


@dataclass(slots=True)
class CaptionReport:
    """Counts of one run; `failed` maps a reason key to how many stickers failed that way."""

    total: int = 0
    done: int = 0
    skipped_existing: int = 0
    failed: Counter[str] = field(default_factory=Counter)

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    @property
    def finished(self) -> int:
        return self.done + self.skipped_existing + self.failed_total


@dataclass(frozen=True, slots=True)
class Caption:
    """What the model said about one sticker, in PerSRV's fields."""

    keywords: list[str]
    description: str
    emotions: list[str]

    @property
    def text(self) -> str:
        """One searchable string: '<description>. <keywords joined>'."""
        words = ", ".join(self.keywords)
        if not words:
            return self.description
        if not self.description:
            return words
        stop = "" if self.description.endswith((".", "!", "?")) else "."
        return f"{self.description}{stop} {words}"


class _Failure(Exception):
    """One sticker could not be captioned; `reason` is the key counted in the report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Unreachable(_Failure):
    """The request never reached a server (refused, reset, DNS), after every retry."""


# --- parsing the model's reply -----------------------------------------------------------------


def parse_reply(text: str) -> Caption:
    """Read PerSRV's JSON out of a reply; prose or code fences around it are tolerated.

    A reply with no usable JSON object becomes the description itself, so a model that ignores
    the format still yields a searchable caption.
    """
    for obj in _json_objects(text):
        caption = _from_object(obj)
        if caption.description or caption.keywords:
            return caption
    return Caption(keywords=[], description=_one_line(_strip_fences(text)), emotions=[])


def _json_objects(text: str) -> Iterator[dict[str, Any]]:
    """Every JSON object found in the fenced blocks first, then anywhere in the text."""
    decoder = json.JSONDecoder()
    for chunk in [*_FENCE.findall(text), text]:
        for start in (match.start() for match in re.finditer(r"\{", chunk)):
            try:
                obj, _ = decoder.raw_decode(chunk, start)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                yield obj


def _from_object(obj: dict[str, Any]) -> Caption:
    description = obj.get("description")
    return Caption(
        keywords=_words(obj.get("keywords"), MAX_KEYWORDS),
        description=_one_line(description) if isinstance(description, str) else "",
        emotions=_words(obj.get("emotions"), MAX_EMOTIONS),
    )


def _words(value: object, limit: int) -> list[str]:
    """A list of short strings from a JSON list or a comma-separated string, deduplicated."""
    if isinstance(value, str):
        items: Iterable[object] = value.split(",")
    elif isinstance(value, list):
        items = value
    else:
        return []
    cleaned = (_one_line(item) for item in items if isinstance(item, str))
    return list(dict.fromkeys(word for word in cleaned if word))[:limit]


def _strip_fences(text: str) -> str:
    return _FENCE.sub(lambda match: match.group(1), text).replace("```", "")


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()[:MAX_DESCRIPTION_CHARS]


# --- the output file ---------------------------------------------------------------------------


def read_captions(path: Path) -> dict[str, dict[str, Any]]:
    """Caption lines keyed by `sticker_id`, and also by `file_unique_id` when a line has one.

    Reads files written by `caption_catalog` or by another tool in the same format; a line
    with only description/keywords gets its `caption` built the same way. A partial last line
    (a run killed mid-write) is ignored; a later line for the same sticker wins.
    """
    captions: dict[str, dict[str, Any]] = {}
    for line, obj in read_jsonl(path, skip_partial_tail=True):
        row = _normalise_row(path, line, obj)
        for key in (row.get("sticker_id"), row.get("file_unique_id")):
            if isinstance(key, str) and key:
                captions[key] = row
    return captions


def apply_captions(
    records: Iterable[StickerRecord],
    captions: dict[str, dict[str, Any]],
    *,
    overwrite: bool = False,
) -> list[StickerRecord]:
    """Copies of `records` with `caption` filled from `captions` (by sticker id).

    A caption the catalog already has is kept unless `overwrite`: hand-written ones beat a model.
    """
    filled: list[StickerRecord] = []
    for record in records:
        row = captions.get(record.sticker_id)
        if row is not None and (overwrite or not record.caption):
            record = dataclasses.replace(record, caption=row["caption"])
        filled.append(record)
    return filled


def _normalise_row(path: Path, line: int, obj: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(obj.get("sticker_id"), str) and not isinstance(
        obj.get("file_unique_id"), str
    ):
        raise CatalogError(str(path), line, "sticker_id", "must be a non-empty string")
    caption = obj.get("caption")
    if not isinstance(caption, str) or not caption.strip():
        caption = _from_object(obj).text
    if not caption:
        raise CatalogError(str(path), line, "caption", "must be a non-empty string")
    return {**obj, "caption": caption}


def _prepare_output(out: Path) -> set[str]:
    """Ids already captioned in `out`, after cutting off a partial last line left by a crash."""
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        return set()
    data = out.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep < len(data):
        log.warning("%s: dropping a partial last line; that sticker is captioned again", out)
        with out.open("r+b") as handle:
            handle.truncate(keep)
    return {
        str(obj["sticker_id"])
        for _, obj in read_jsonl(out, skip_partial_tail=True)
        if isinstance(obj.get("sticker_id"), str)
    }


def _output_line(record: StickerRecord, caption: Caption, model: str, unique_id: str | None) -> str:
    row: dict[str, Any] = {"sticker_id": record.sticker_id}
    if unique_id:
        row["file_unique_id"] = unique_id
    row |= {
        "caption": caption.text,
        "keywords": caption.keywords,
        "description": caption.description,
        "emotions": caption.emotions,
        "model": model,
    }
    return json.dumps(row, ensure_ascii=False) + "\n"


def _unique_ids(catalog_dir: Path) -> dict[str, str]:
    """`file_unique_id` of catalog lines that carry one (Telegram exports); the format allows it."""
    return {
        str(obj["sticker_id"]): obj["file_unique_id"]
        for _, obj in read_jsonl(catalog_dir / "catalog.jsonl")
        if isinstance(obj.get("file_unique_id"), str)
    }


# --- talking to the endpoint -------------------------------------------------------------------


def _base_url(endpoint: str) -> str:
    """Accept either the API base (…/v1) or the full chat-completions URL."""
    base = endpoint.rstrip("/")
    return base.removesuffix(CHAT_PATH)


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


async def check_endpoint(session: aiohttp.ClientSession, endpoint: str) -> None:
    """Fail fast, before the batch, when nothing answers at `endpoint` or it refuses the key."""
    url = _base_url(endpoint) + MODELS_PATH
    timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S)
    try:
        async with session.get(url, timeout=timeout) as response:
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as error:
        detail = _error_detail(error)
        raise CaptionEndpointDown(
            f"caption endpoint {endpoint} is unreachable ({detail}); "
            "start the model server or fix --endpoint"
        ) from None
    if status in (401, 403):
        raise CaptionEndpointDown(
            f"caption endpoint {endpoint} refused the API key (HTTP {status}); fix --api-key"
        )


def _error_detail(error: BaseException) -> str:
    """A short one-line cause: aiohttp messages can span lines and repeat the URL."""
    if isinstance(error, TimeoutError):
        return f"no answer within {PROBE_TIMEOUT_S:g} s"
    cause = getattr(error, "os_error", None) or error
    return _one_line(str(getattr(cause, "strerror", None) or cause) or type(error).__name__)


def _request_body(model: str, image_png: bytes) -> dict[str, Any]:
    data_url = "data:image/png;base64," + base64.b64encode(image_png).decode("ascii")
    return {
        "model": model,
        "max_tokens": MAX_TOKENS,
        "temperature": TEMPERATURE,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": data_url}},
                    {"type": "text", "text": PROMPT},
                ],
            }
        ],
    }


def _reply_text(payload: object) -> str:
    """The assistant's text; servers send it as a string or as a list of text parts."""
    try:
        content = payload["choices"][0]["message"]["content"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        raise _Failure("bad_response") from None
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    if not isinstance(content, str):
        raise _Failure("bad_response")
    return content


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    payload: object = None
    retry_after_s: float | None = None  # the server's own Retry-After, when it sent one


async def _post_once(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], policy: RetryPolicy
) -> _Reply:
    """One request; network trouble raises aiohttp or timeout errors."""
    timeout = aiohttp.ClientTimeout(total=policy.timeout_s)
    async with session.post(url, json=body, timeout=timeout) as response:
        if response.status != 200:
            return _Reply(response.status, retry_after_s=_seconds(response.headers))
        try:
            return _Reply(200, await response.json(content_type=None))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _Failure("bad_response") from None


def _seconds(headers: Mapping[str, str]) -> float | None:
    """Retry-After in seconds (the HTTP-date form is rare from model servers and ignored)."""
    try:
        return max(0.0, float(headers.get("Retry-After", "")))
    except ValueError:
        return None


async def _complete(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], policy: RetryPolicy
) -> str:
    """The reply text, retrying overload, 5xx, timeouts and dropped connections."""
    reason, asked_wait = "unknown", 0.0
    for attempt in range(policy.max_attempts):
        if attempt:
            # Honour the server's Retry-After, within our own cap, when it is the longer wait.
            await asyncio.sleep(max(policy.delay(attempt - 1), min(asked_wait, policy.max_delay_s)))
        try:
            reply = await _post_once(session, url, body, policy)
        except TimeoutError:
            reason = "timeout"
            continue
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError):
            reason = "unreachable"
            continue
        if reply.status == 200:
            return _reply_text(reply.payload)
        if reply.status not in RETRY_STATUSES:
            raise _Failure(f"http_{reply.status}")
        reason = "rate_limited" if reply.status == 429 else "server_error"
        asked_wait = reply.retry_after_s or 0.0
    if reason == "unreachable":
        raise _Unreachable(reason)
    raise _Failure(reason)


def _render_png(path: str | None) -> bytes:
    """The sticker as an opaque PNG (VLMs expect RGB; transparent pixels hold junk colours)."""
    if path is None:
        raise _Failure("no_file")
    try:
        image = flatten(load_sticker_image(Path(path), IMAGE_SIZE))
    except MediaError as error:
        raise _Failure(f"media:{error.reason}") from None
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# --- the batch ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    """Shared state of one batch: workers take stickers from one iterator and append lines."""

    session: aiohttp.ClientSession
    url: str
    model: str
    policy: RetryPolicy
    pending: Iterator[StickerRecord]
    sink: TextIO
    unique_ids: dict[str, str]
    report: CaptionReport
    on_progress: ProgressCallback | None
    unreachable_streak: int = 0


async def _caption_one(run: _Run, record: StickerRecord) -> Caption:
    # Decoding TGS/WEBM is CPU work: a thread keeps the event loop serving other requests.
    image_png = await asyncio.to_thread(_render_png, record.path)
    text = await _complete(run.session, run.url, _request_body(run.model, image_png), run.policy)
    caption = parse_reply(text)
    if not caption.text:
        raise _Failure("empty_caption")
    return caption


async def _worker(run: _Run) -> None:
    for record in run.pending:
        try:
            caption = await _caption_one(run, record)
        except _Failure as failure:
            _count_failure(run, record, failure)
        else:
            run.unreachable_streak = 0
            unique_id = run.unique_ids.get(record.sticker_id)
            # One write per line, flushed at once: a crash loses at most the line in flight.
            run.sink.write(_output_line(record, caption, run.model, unique_id))
            run.sink.flush()
            run.report.done += 1
        if run.on_progress is not None:
            run.on_progress(run.report)


def _count_failure(run: _Run, record: StickerRecord, failure: _Failure) -> None:
    log.info("sticker %s not captioned: %s", record.sticker_id, failure.reason)
    run.report.failed[failure.reason] += 1
    run.unreachable_streak = run.unreachable_streak + 1 if isinstance(failure, _Unreachable) else 0
    if run.unreachable_streak >= MAX_CONSECUTIVE_UNREACHABLE:
        raise CaptionEndpointDown(
            f"caption endpoint went away after {run.report.done} captions; "
            "restart the model server and run again to resume"
        )


async def caption_catalog(
    catalog_dir: Path,
    out: Path,
    *,
    endpoint: str,
    model: str,
    api_key: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_progress: ProgressCallback | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> CaptionReport:
    """Caption every sticker of `catalog_dir/catalog.jsonl` not yet in `out`, appending to it.

    Raises CaptionEndpointDown before any work if the endpoint does not answer, and during the
    run if it stops answering for several stickers in a row. Per-sticker failures (bad files,
    persistent 5xx, unparseable replies) are counted by reason and retried on the next run.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    records = read_catalog(catalog_dir)
    existing = _prepare_output(out)
    report = CaptionReport(total=len(records))
    report.skipped_existing = sum(record.sticker_id in existing for record in records)
    pending = (record for record in records if record.sticker_id not in existing)
    async with aiohttp.ClientSession(headers=_headers(api_key)) as session:
        await check_endpoint(session, endpoint)
        with out.open("a", encoding="utf-8") as sink:
            run = _Run(
                session,
                _base_url(endpoint) + CHAT_PATH,
                model,
                retry,
                pending,
                sink,
                _unique_ids(catalog_dir),
                report,
                on_progress,
            )
            await _run_workers(run, concurrency)
    return report


async def _run_workers(run: _Run, concurrency: int) -> None:
    """A fixed pool of workers over one iterator: it bounds both the requests in flight and the
    memory, since nothing is queued up front for catalogs of hundreds of thousands of stickers.
    The first error (CaptionEndpointDown) stops the others and propagates unwrapped."""
    workers = [asyncio.create_task(_worker(run)) for _ in range(concurrency)]
    try:
        await asyncio.gather(*workers)
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


# --- command line ------------------------------------------------------------------------------
# The command is defined once, as `stickerbot export captions` (bot.cli_offline); this group
# runs that same command as `python -m export.captions caption`.

app = typer.Typer(add_completion=False, help="Caption stickers with a vision-language model.")
app.command("caption")(export_captions)


@app.callback()
def _group() -> None:
    """Keeps the subcommand name on the command line even while there is only one."""


if __name__ == "__main__":
    app()
