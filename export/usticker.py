"""Import U-Sticker conversations (arXiv 2502.19108) into the benchmark format (FORMAT.md).

    stickerbot import u-sticker DIR OUT_DIR [--holdout 1]

Input: one file per conversation (JSON lines, or one JSON list), each record
`{message_id, from_id, reply_id, sticker, text}` (an optional `date` is used when present),
`idx_to_domain.txt` mapping a conversation's index (the number in its file name) to a domain,
and optionally the sticker files somewhere under DIR, named by sticker id or by the path that
the `sticker` field gives.

Output: `catalog.jsonl`, `history.jsonl`, `queries.jsonl`, the sticker files found (under
`stickers/`) and a README.md saying how it was made. Every sticker message becomes a `send` of
its sender, with the message it answered as `context`; each user's last sends become queries
whose text is that context, which is how a conversation-driven suggestion would be asked.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from bot.cli_offline import import_usticker_command
from engine.errors import StickerbotError
from engine.protocol import MAX_QUERY_CHARS

DEFAULT_HOLDOUT = 1
# A user needs this many earlier sends for a held-out query to test personalisation at all.
MIN_PRIOR_SENDS = 3
# Without dates, message order is the clock: one message a second from an arbitrary fixed start
# (2020-09-13), so reruns give identical files.
SYNTHETIC_START_TS = 1_600_000_000
SECONDS_PER_MESSAGE = 1
# Unix times above this are milliseconds (1e11 s is the year 5138).
MILLISECONDS_ABOVE = 10**11
# Telegram's own message length limit; longer context is pasted data, not conversation.
MAX_CONTEXT_CHARS = 4096
DOMAIN_FILE = "idx_to_domain.txt"
CONVERSATION_SUFFIXES = (".json", ".jsonl")
STICKER_SUFFIXES = (".webp", ".png", ".tgs", ".webm")
STICKER_DIR = "stickers"
UNKNOWN_SET = "unknown"
UNDETERMINED_LANG = "und"  # BCP-47 for "language not identified"
# Digits of a sticker id's hash appended to a file name that had to be sanitised (no collisions).
NAME_HASH_CHARS = 10

# Domain names that state a language, to the BCP-47 tag of that language.
LANGUAGE_WORDS = {
    "arabic": "ar",
    "chinese": "zh",
    "english": "en",
    "french": "fr",
    "german": "de",
    "hindi": "hi",
    "indonesian": "id",
    "italian": "it",
    "japanese": "ja",
    "korean": "ko",
    "malay": "ms",
    "persian": "fa",
    "portuguese": "pt",
    "russian": "ru",
    "spanish": "es",
    "thai": "th",
    "turkish": "tr",
    "ukrainian": "uk",
    "vietnamese": "vi",
}
# Scripts that name one language with little doubt. Latin, Cyrillic and Arabic script serve many
# languages, so a conversation written in them stays "und" unless its domain says more.
SCRIPT_RANGES = (
    ("ko", 0xAC00, 0xD7AF),
    ("ko", 0x1100, 0x11FF),
    ("ko", 0x3130, 0x318F),
    ("ja", 0x3040, 0x30FF),
    ("zh", 0x4E00, 0x9FFF),
    ("zh", 0x3400, 0x4DBF),
    ("th", 0x0E00, 0x0E7F),
    ("el", 0x0370, 0x03FF),
    ("he", 0x0590, 0x05FF),
    ("hy", 0x0530, 0x058F),
    ("ka", 0x10A0, 0x10FF),
)
# Japanese mixes kana with Han characters; this share of kana among them means Japanese.
KANA_SHARE_FOR_JAPANESE = 0.1
# The script guess samples text: the head of each message, until a conversation has given
# this many letters (millions of messages add nothing but time).
SCRIPT_SAMPLE_CHARS = 64
SCRIPT_SAMPLE_LETTERS = 100_000

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")
_INDEX = re.compile(r"\d+")
_DOMAIN_LINE = re.compile(r"(\d+)\s*[\t:,]?\s*(\S.*)")

ProgressCallback = Callable[[int, int], None]  # (conversations done, conversations in total)


class UStickerError(StickerbotError):
    """An input file is malformed; names the file and the line (or list item) to fix."""

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(f"{location}: {problem}; fix it and run again")
        self.location = location


@dataclass(slots=True)
class ImportReport:
    conversations: int = 0
    messages: int = 0
    sticker_sends: int = 0
    stickers: int = 0
    users: int = 0
    history_events: int = 0
    queries: int = 0
    stickers_without_file: int = 0  # catalog lines written with `file: null`
    missing_reply_targets: int = 0  # reply_id pointing at no earlier message of the conversation
    empty_messages: int = 0  # neither sticker nor text (service messages, media): skipped
    languages: Counter[str] = field(default_factory=Counter)  # queries per lang


@dataclass(frozen=True, slots=True)
class Message:
    message_id: str
    from_id: str
    reply_id: str | None
    sticker: str | None
    text: str | None
    date: float | None


@dataclass(slots=True)
class Send:
    """One sticker message, as it becomes a history event or a held-out query."""

    user_id: str
    sticker_id: str
    ts: float
    seq: int  # global message order: breaks timestamp ties
    context: str | None
    conversation: int


@dataclass(slots=True)
class _Conversation:
    index: int | None
    path: Path
    domain: str | None
    lang: str = UNDETERMINED_LANG


@dataclass(slots=True)
class _Corpus:
    """Everything gathered from the conversations, before the held-out split."""

    sends: list[Send] = field(default_factory=list)
    sticker_domain: dict[str, str | None] = field(default_factory=dict)  # first-seen order
    conversations: list[_Conversation] = field(default_factory=list)
    clock: float = SYNTHETIC_START_TS
    seq: int = 0


# --- reading the input -------------------------------------------------------------------------


def read_domains(src: Path) -> dict[int, str]:
    """`idx_to_domain.txt`: 'index<tab, space, colon or comma>domain' lines, or one domain a line
    (its line number, from 0, being the index)."""
    path = src / DOMAIN_FILE
    if not path.is_file():
        return {}
    domains: dict[int, str] = {}
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    for number, line in enumerate(line for line in lines if line):
        match = _DOMAIN_LINE.fullmatch(line)
        if match:
            domains[int(match.group(1))] = match.group(2).strip()
        else:
            domains[number] = line
    return domains


def conversation_files(src: Path) -> list[tuple[int | None, Path]]:
    """(index from the file name, path) of every conversation file, in index order."""
    found = []
    for path in src.rglob("*"):
        relative = path.relative_to(src)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in CONVERSATION_SUFFIXES:
            digits = _INDEX.findall(path.stem)
            found.append((int(digits[-1]) if digits else None, path))
    return sorted(found, key=lambda item: (item[0] is None, item[0] or 0, str(item[1])))


def read_messages(path: Path) -> Iterator[Message]:
    """Messages of one conversation file: JSON lines, or a single JSON list."""
    with path.open(encoding="utf-8") as handle:
        head = handle.read(1)
        while head.isspace():
            head = handle.read(1)
    if head == "[":
        yield from _read_list(path)
    else:
        yield from _read_lines(path)


def _read_lines(path: Path) -> Iterator[Message]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as error:
                raise UStickerError(where, f"not JSON ({error.msg})") from None
            yield _message(where, obj)


def _read_list(path: Path) -> Iterator[Message]:
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise UStickerError(f"{path}:{error.lineno}", f"not JSON ({error.msg})") from None
    if not isinstance(items, list):
        raise UStickerError(str(path), "must be a JSON list of messages or JSON lines")
    for number, obj in enumerate(items, start=1):
        yield _message(f"{path}: item {number}", obj)


def _message(where: str, obj: object) -> Message:
    """One validated record; `where` ('file:line' or 'file: item n') names it in errors."""
    if not isinstance(obj, dict):
        raise UStickerError(where, "not a JSON object")

    def fail(name: str, expected: str) -> UStickerError:
        return UStickerError(where, f"field '{name}' must be {expected}")

    message_id, from_id = _ident(obj.get("message_id")), _ident(obj.get("from_id"))
    if message_id is None:
        raise fail("message_id", "a number or string")
    if from_id is None:
        raise fail("from_id", "a number or string")
    reply_id, sticker = obj.get("reply_id"), obj.get("sticker")
    if reply_id is not None and _ident(reply_id) is None:
        raise fail("reply_id", "a number, string or null")
    if sticker is not None and _ident(sticker) is None:
        raise fail("sticker", "a sticker id or file reference, or null")
    try:
        text = _text(obj.get("text"))
    except ValueError:
        raise fail("text", "a string or null") from None
    try:
        date = _date(obj.get("date"))
    except ValueError:
        raise fail("date", "unix seconds, an ISO 8601 string or null") from None
    return Message(
        message_id=message_id,
        from_id=from_id,
        reply_id=_ident(reply_id),
        sticker=_ident(sticker),
        text=text or None,
        date=date,
    )


def _ident(value: object) -> str | None:
    """Ids come as numbers or strings; both are compared as strings. Empty means absent."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    return str(value).strip() or None


def _text(value: object) -> str | None:
    """Message text; Telegram exports split formatted text into a list of strings and entities.
    Raises ValueError for anything else."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = (
            part if isinstance(part, str) else part.get("text", "")
            for part in value
            if isinstance(part, str | dict)
        )
        return "".join(part for part in parts if isinstance(part, str))
    raise ValueError(value)


def _date(value: object) -> float | None:
    """Unix seconds (or milliseconds) or an ISO 8601 string; naive times are taken as UTC.
    Raises ValueError for anything else."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value / 1000 if value > MILLISECONDS_ABOVE else float(value)
    if isinstance(value, str):
        moment = datetime.fromisoformat(value)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    raise ValueError(value)


# --- turning conversations into sends ----------------------------------------------------------


def _walk(corpus: _Corpus, conversation: _Conversation, report: ImportReport) -> None:
    """Add one conversation's sticker sends, each with the text it answered."""
    texts: dict[str, str] = {}  # message id -> text, for replies
    seen: set[str] = set()
    last_text: str | None = None
    last_ts = float("-inf")
    scripts: Counter[str] = Counter()
    for message in read_messages(conversation.path):
        report.messages += 1
        corpus.seq += 1
        corpus.clock += SECONDS_PER_MESSAGE
        # Dates may step back (edits, clock skew): history must be in time order.
        last_ts = max(last_ts, message.date if message.date is not None else corpus.clock)
        if message.sticker is None and message.text is None:
            report.empty_messages += 1
        if message.sticker is not None:
            context = _context(message, texts, seen, last_text, report)
            corpus.sends.append(
                Send(
                    message.from_id,
                    message.sticker,
                    last_ts,
                    corpus.seq,
                    context,
                    len(corpus.conversations) - 1,
                )
            )
            corpus.sticker_domain.setdefault(message.sticker, conversation.domain)
        if message.text is not None:
            last_text = message.text[:MAX_CONTEXT_CHARS]
            texts[message.message_id] = last_text
            if scripts.total() < SCRIPT_SAMPLE_LETTERS:
                _count_scripts(message.text[:SCRIPT_SAMPLE_CHARS], scripts)
        seen.add(message.message_id)
    conversation.lang = guess_language(conversation.domain, scripts)


def _context(
    message: Message,
    texts: dict[str, str],
    seen: set[str],
    last_text: str | None,
    report: ImportReport,
) -> str | None:
    """The replied-to text if that message has text, else the latest text before this one."""
    if message.reply_id is None:
        return last_text
    if message.reply_id not in seen:
        report.missing_reply_targets += 1
    return texts.get(message.reply_id, last_text)


def _count_scripts(text: str, scripts: Counter[str]) -> None:
    for char in text:
        point = ord(char)
        for lang, low, high in SCRIPT_RANGES:
            if low <= point <= high:
                scripts[lang] += 1
                break
        else:
            if char.isalpha():
                scripts[UNDETERMINED_LANG] += 1


def guess_language(domain: str | None, scripts: Counter[str]) -> str:
    """BCP-47 tag from a language named in the domain, else from an unambiguous script."""
    for word in re.findall(r"[a-z]+", (domain or "").lower()):
        if word in LANGUAGE_WORDS:
            return LANGUAGE_WORDS[word]
    if not scripts:
        return UNDETERMINED_LANG
    han, kana = scripts["zh"], scripts["ja"]
    if kana and kana >= KANA_SHARE_FOR_JAPANESE * (han + kana):
        scripts = Counter({**scripts, "ja": han + kana, "zh": 0})
    else:
        scripts = Counter({**scripts, "zh": han + kana, "ja": 0})
    return scripts.most_common(1)[0][0]


def _gather(src: Path, on_progress: ProgressCallback | None, report: ImportReport) -> _Corpus:
    domains = read_domains(src)
    files = conversation_files(src)
    corpus = _Corpus()
    for done, (index, path) in enumerate(files, start=1):
        domain = domains.get(index) if index is not None else None
        conversation = _Conversation(index, path, domain)
        corpus.conversations.append(conversation)
        _walk(corpus, conversation, report)
        if on_progress is not None:
            on_progress(done, len(files))
    report.conversations = len(files)
    return corpus


# --- held-out split and output -----------------------------------------------------------------


def split_holdout(sends: Iterable[Send], holdout: int) -> tuple[list[Send], list[Send]]:
    """(history, held out): each user's last `holdout` sends, for users with enough before."""
    by_user: dict[str, list[Send]] = defaultdict(list)
    for send in sorted(sends, key=_order):
        by_user[send.user_id].append(send)
    history: list[Send] = []
    held: list[Send] = []
    for user_sends in by_user.values():
        cut = len(user_sends) - holdout if len(user_sends) >= holdout + MIN_PRIOR_SENDS else None
        history.extend(user_sends[:cut])
        held.extend(user_sends[cut:] if cut is not None else [])
    return sorted(history, key=_order), sorted(held, key=_order)


def _order(send: Send) -> tuple[float, int]:
    return send.ts, send.seq


def _unix(ts: float) -> int | float:
    return int(ts) if float(ts).is_integer() else ts


def _history_line(send: Send) -> dict[str, Any]:
    return {
        "user_id": send.user_id,
        "ts": _unix(send.ts),
        "event": "send",
        "sticker_id": send.sticker_id,
        "query": None,
        "context": send.context,
    }


def _query_line(number: int, send: Send, lang: str) -> dict[str, Any]:
    return {
        "qid": f"q{number:06d}",
        "user_id": send.user_id,
        "ts": _unix(send.ts),
        "lang": lang,
        "text": (send.context or "")[:MAX_QUERY_CHARS],
        "relevant": {send.sticker_id: 2},
    }


class _StickerFiles:
    """Sticker files under DIR, found by the path the `sticker` field gives or by file stem."""

    def __init__(self, src: Path) -> None:
        self.src = src
        self.by_stem: dict[str, Path] = {}
        for path in sorted(src.rglob("*")):
            if path.suffix.lower() in STICKER_SUFFIXES and path.is_file():
                self.by_stem.setdefault(path.stem, path)

    def find(self, reference: str) -> Path | None:
        direct = (self.src / reference).resolve()
        if direct.is_relative_to(self.src.resolve()) and direct.is_file():
            return direct
        return self.by_stem.get(reference) or self.by_stem.get(Path(reference).stem)


def _copy_sticker(source: Path, sticker_id: str, out: Path) -> str:
    """Copy (hard-link when possible: datasets are big) into OUT, returning the relative path.
    The benchmark folder must be self-contained: readers refuse paths leaving it."""
    name = _UNSAFE_NAME.sub("_", sticker_id)
    if name != sticker_id:
        name += "-" + hashlib.sha1(sticker_id.encode()).hexdigest()[:NAME_HASH_CHARS]
    relative = f"{STICKER_DIR}/{name}{source.suffix.lower()}"
    target = out / relative
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return relative


def _catalog_lines(
    corpus: _Corpus, src: Path, out: Path, report: ImportReport
) -> Iterator[dict[str, Any]]:
    files = _StickerFiles(src)
    (out / STICKER_DIR).mkdir(parents=True, exist_ok=True)
    for sticker_id, domain in corpus.sticker_domain.items():
        source = files.find(sticker_id)
        if source is None:
            report.stickers_without_file += 1
        yield {
            "sticker_id": sticker_id,
            "set": domain or UNKNOWN_SET,
            "file": _copy_sticker(source, sticker_id, out) if source else None,
            "emoji": None,
            "caption": None,
            "ocr": None,
        }


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write through a temporary file, so a failed import never leaves half a file behind."""
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, delete=False, prefix=f".{path.name}."
    ) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(handle.name, path)


def _readme(src: Path, holdout: int, report: ImportReport) -> str:
    langs = ", ".join(f"{lang} {count}" for lang, count in report.languages.most_common())
    return f"""# U-Sticker, in the benchmark format

Imported from `{src.name}` (U-Sticker, arXiv 2502.19108) by `stickerbot import u-sticker`.

{report.conversations} conversations, {report.messages} messages, {report.sticker_sends} sticker \
messages; {report.stickers} stickers ({report.stickers_without_file} without a file), \
{report.users} users; {report.history_events} history events, {report.queries} queries \
({langs or "none"}).

How it was made:
- Every sticker message is a `send` by its sender. `context` is the text of the message it \
replies to when that message has text, else the latest text message before it in the same \
conversation (from anyone). Replies whose target is not in the data: \
{report.missing_reply_targets}. Messages with neither sticker nor text are skipped: \
{report.empty_messages}.
- `ts` is the message date when the data has one, else message order: one second a message \
from {SYNTHETIC_START_TS}, conversations one after another in index order.
- Catalog: every sticker seen. `set` is the domain of the first conversation it appeared in \
(from `{DOMAIN_FILE}`), else `{UNKNOWN_SET}`; U-Sticker does not name packs. `file` is a copy \
of the sticker file found under the source folder, else null. No emoji, captions or OCR.
- Queries: for each user with at least {holdout + MIN_PRIOR_SENDS} sends, the last {holdout} \
are removed from history and become queries. `text` is the context of that send (the message \
being answered), cut to {MAX_QUERY_CHARS} characters, and is an empty string when the sticker \
answered no text. `relevant` holds only the sticker actually sent, grade 2. `lang` comes from a \
language named in the domain, else from the conversation's script when it names one language \
(Han, kana, Hangul, Thai, Greek, Hebrew, Armenian, Georgian), else `{UNDETERMINED_LANG}`.

Licences: conversations and stickers come from U-Sticker and keep its terms (see its dataset \
card); sticker artwork belongs to its authors. Keep this notice wherever the files travel.
"""


def import_usticker(
    src: Path,
    out: Path,
    *,
    holdout: int = DEFAULT_HOLDOUT,
    overwrite: bool = False,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Convert the U-Sticker folder `src` into a benchmark folder `out`; see the module doc."""
    if holdout < 1:
        raise ValueError(f"holdout must be at least 1, got {holdout}")
    if not src.is_dir():
        raise UStickerError(str(src), "is not a folder")
    if (out / "catalog.jsonl").exists() and not overwrite:
        raise UStickerError(str(out), "already holds a dataset; pass --overwrite to replace it")
    report = ImportReport()
    corpus = _gather(src, on_progress, report)
    history, held = split_holdout(corpus.sends, holdout)
    out.mkdir(parents=True, exist_ok=True)
    langs = [corpus.conversations[send.conversation].lang for send in held]
    report.languages.update(langs)
    _write_jsonl(out / "catalog.jsonl", _catalog_lines(corpus, src, out, report))
    _write_jsonl(out / "history.jsonl", map(_history_line, history))
    _write_jsonl(out / "queries.jsonl", map(_query_line, range(len(held)), held, langs))
    report.sticker_sends = len(corpus.sends)
    report.stickers = len(corpus.sticker_domain)
    report.users = len({send.user_id for send in corpus.sends})
    report.history_events, report.queries = len(history), len(held)
    (out / "README.md").write_text(_readme(src, holdout, report), encoding="utf-8")
    return report


# --- command line ------------------------------------------------------------------------------
# The command is defined once, as `stickerbot import u-sticker` (bot.cli_offline); this group
# runs that same command as `python -m export.usticker u-sticker`.

app = typer.Typer(add_completion=False, help="Import public datasets into the benchmark format.")
app.command("u-sticker")(import_usticker_command)


@app.callback()
def _group() -> None:
    """Keeps the subcommand name on the command line even while there is only one."""


if __name__ == "__main__":
    app()
