"""A benchmark dataset whose users type in other languages.

The development sets ask in English, Spanish, French and Italian, with CLDR keywords of the
meanings their users look for, and caption each sticker with its meaning's CLDR English name.
This copies such a dataset with each user's words chosen anew, among the keywords of the same
meanings in one of the given languages, so `stickerbot bench` measures languages the sets never
ask in (Thai, Ukrainian, Japanese...).

The copy is made as the development sets were (their README): a query is a keyword that at most
MAX_MEANINGS meanings carry, and in English none of the caption's own words; every sticker of
every meaning that carries it is relevant, grade 2 in the style the user prefers now. A user's
style is read off the original judgements (styles are the groups of packs that grade-2
stickers come from), so each user keeps their history and taste. Typed picks in the history are
re-worded alike; a pick whose meaning has no such keyword in the user's language becomes a send.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.bench.copies import (
    NAME_LOCALE,
    copy_sticker_files,
    emoji_by_name,
    pack_styles,
    plain_rows,
    refuse_existing,
    refuse_unreadable,
    write_jsonl,
)
from engine.catalog import read_judged_queries
from engine.emoji import EmojiKeywords
from engine.errors import UnknownLanguage

MAX_MEANINGS = 5  # a keyword more meanings carry says too little to be asked


@dataclass(frozen=True)
class Reworded:
    """What a copy holds: queries written (of those read) and typed picks re-worded."""

    queries: int
    queries_read: int
    picks: int
    picks_read: int


class Keywords:
    """The keywords a meaning (a caption that is a CLDR name) can be asked by, per locale."""

    def __init__(
        self, emoji: EmojiKeywords, meanings: Iterable[str], locales: Sequence[str]
    ) -> None:
        by_name = emoji_by_name(emoji)
        self._words = {
            (meaning, locale): [w.casefold() for w in emoji.keywords(by_name[meaning], [locale])]
            for meaning in meanings
            if meaning in by_name
            for locale in locales
        }
        self.carriers: dict[tuple[str, str], set[str]] = defaultdict(set)
        for (meaning, locale), words in self._words.items():
            for word in words:
                self.carriers[locale, word].add(meaning)

    def askable(self, meaning: str, locale: str) -> list[str]:
        """Keywords of `meaning` in `locale` that few meanings share (in English, none of the
        name's own words)."""
        own = set(meaning.replace(":", " ").split()) | {meaning} if locale == NAME_LOCALE else set()
        return [
            word
            for word in self._words.get((meaning, locale), [])
            if len(self.carriers[locale, word]) <= MAX_MEANINGS and word not in own
        ]


def write_reworded(dataset: Path, out: Path, languages: Sequence[str], seed: int = 0) -> Reworded:
    """Copy `dataset` to `out` (a new folder) with every user's words in one of `languages`."""
    emoji = EmojiKeywords.load()
    locales = _locales(emoji, languages)
    refuse_existing(out)
    refuse_unreadable(dataset)
    catalog = plain_rows(dataset / "catalog.jsonl")
    history = plain_rows(dataset / "history.jsonl")
    queries = read_judged_queries(dataset)
    meaning = {row["sticker_id"]: str(row.get("caption") or "").casefold() for row in catalog}
    keywords = Keywords(emoji, set(meaning.values()), locales)
    rng = random.Random(seed)
    users = sorted({row["user_id"] for row in history} | {row["user_id"] for row in queries})
    locale_of = {user: rng.choice(locales) for user in users}
    new_history = [_reworded_event(row, meaning, keywords, locale_of, rng) for row in history]
    style_of_pack = pack_styles(catalog, queries)
    style = {row["sticker_id"]: style_of_pack[str(row["set"])] for row in catalog}
    asked = (
        _reworded_query(row, meaning, keywords, locale_of[row["user_id"]], style, rng)
        for row in queries
    )
    new_queries = [row for row in asked if row is not None]
    out.mkdir(parents=True)
    for name, rows in (("catalog", catalog), ("history", new_history), ("queries", new_queries)):
        write_jsonl(out / f"{name}.jsonl", rows)
    copy_sticker_files(dataset, out, catalog)
    typed = [row for row in history if row.get("query")]
    return Reworded(
        queries=len(new_queries),
        queries_read=len(queries),
        picks=sum(1 for row in new_history if row.get("query")),
        picks_read=len(typed),
    )


def _locales(emoji: EmojiKeywords, languages: Sequence[str]) -> list[str]:
    locales = []
    for language in languages:
        resolved = emoji.resolve_languages([language])
        if not resolved:
            known = ", ".join(emoji.locales)
            raise UnknownLanguage(f"no keywords in language '{language}'; choose among {known}")
        locales.extend(resolved)
    if not locales:
        raise UnknownLanguage("name at least one language, such as --languages th,uk")
    return list(dict.fromkeys(locales))


def _reworded_event(
    row: dict[str, Any],
    meaning: dict[str, str],
    keywords: Keywords,
    locale_of: dict[str, str],
    rng: random.Random,
) -> dict[str, Any]:
    if not row.get("query"):
        return row
    words = keywords.askable(meaning.get(row["sticker_id"], ""), locale_of[row["user_id"]])
    if not words:
        return {**row, "event": "send", "query": None}
    return {**row, "query": rng.choice(words)}


def _reworded_query(
    row: dict[str, Any],
    meaning: dict[str, str],
    keywords: Keywords,
    locale: str,
    style: dict[str, str],
    rng: random.Random,
) -> dict[str, Any] | None:
    """The query asked by one of the keywords of its meanings in `locale`, judged anew; None
    when its meanings have none."""
    relevant: dict[str, int] = row["relevant"]
    meanings = sorted({meaning[s] for s in relevant if s in meaning})
    words = sorted({w for m in meanings for w in keywords.askable(m, locale)})
    if not words:
        return None
    word = rng.choice(words)
    preferred = {style[s] for s, grade in relevant.items() if grade == 2 and s in style}
    judged = {
        sticker: 2 if style.get(sticker) in preferred else 1
        for sticker, its_meaning in meaning.items()
        if its_meaning in keywords.carriers[locale, word]
    }
    return {**row, "lang": locale, "text": word, "relevant": judged}
