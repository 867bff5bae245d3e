"""A benchmark dataset whose users type words around what they mean: "the spy one", "un
toboggan per favore".

The development sets ask with bare keywords. People in a chat also type articles, "send",
"please", "sticker". Such words say nothing of the sticker, yet in a catalog of short captions
they are rare, so a word-matching engine weighs them as rare content: "the spy one" finds the
clock at one-thirty. This copies a dataset with a word before and after each query and each
typed pick (or none, at random, seeded), in the query's language (a pick's: its user's queries',
English for a user who asks none), and copies the rest unchanged. Queries in a language with no
such words here are copied as they are, and counted.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.bench.copies import (
    copy_sticker_files,
    plain_rows,
    refuse_existing,
    refuse_unreadable,
    write_jsonl,
)

NO_WORD = ""
# Per language: the words that may come before a query, and after it. Everyday chat, one
# article or verb and one politeness or "sticker" word, the kind a person types around a meaning.
AROUND: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (("the", "a", "my", "some", "send"), ("sticker", "please", "one", "pls", "pic")),
    "fr": (
        ("le", "un", "mon", "des", "envoie"),
        ("sticker", "stp", "svp", "image", "s'il te plaît"),
    ),
    "it": (
        ("il", "un", "mio", "dei", "manda"),
        ("sticker", "per favore", "pls", "adesivo", "foto"),
    ),
    "es": (
        ("el", "un", "mi", "unos", "manda"),
        ("sticker", "por favor", "porfa", "imagen", "foto"),
    ),
    "de": (("der", "ein", "mein", "schick", "die"), ("sticker", "bitte", "pls", "bild", "foto")),
    "pt": (("o", "um", "meu", "manda", "uns"), ("sticker", "por favor", "pfv", "imagem", "foto")),
}


@dataclass(frozen=True)
class Padded:
    """What a copy holds: queries and typed picks given words around them (each word may be
    none, by chance), of those read."""

    queries: int
    queries_read: int
    picks: int
    picks_read: int


def pad(text: str, language: str, rng: random.Random) -> str | None:
    """`text` with a word of `language` before and after it (each may be none); None for a
    language with no such words here."""
    if language not in AROUND:
        return None
    before, after = AROUND[language]
    words = (rng.choice((NO_WORD, *before)), text, rng.choice((NO_WORD, *after)))
    return " ".join(word for word in words if word)


def write_padded(dataset: Path, out: Path, seed: int = 0) -> Padded:
    """Copy `dataset` to `out` (a new folder) with words around its queries and typed picks."""
    refuse_existing(out)
    refuse_unreadable(dataset)
    rng = random.Random(seed)
    queries = plain_rows(dataset / "queries.jsonl")
    history = plain_rows(dataset / "history.jsonl")
    language_of_user = {str(row["user_id"]): str(row["lang"]) for row in queries}
    padded_queries = _pad_rows(queries, "text", lambda row: str(row["lang"]), rng)
    typed = [row for row in history if row.get("event") == "pick" and row.get("query")]
    padded_picks = _pad_rows(
        typed, "query", lambda row: language_of_user.get(str(row["user_id"]), "en"), rng
    )
    out.mkdir(parents=True)
    write_jsonl(out / "queries.jsonl", queries)
    write_jsonl(out / "history.jsonl", history)
    shutil.copyfile(dataset / "catalog.jsonl", out / "catalog.jsonl")
    copy_sticker_files(dataset, out, plain_rows(dataset / "catalog.jsonl"))
    return Padded(padded_queries, len(queries), padded_picks, len(typed))


def _pad_rows(
    rows: list[dict[str, Any]],
    field: str,
    language_of: Callable[[dict[str, Any]], str],
    rng: random.Random,
) -> int:
    """Pads `field` of each row in place; how many were padded."""
    done = 0
    for row in rows:
        padded = pad(str(row[field]), language_of(row), rng)
        if padded is not None:
            row[field] = padded
            done += 1
    return done
