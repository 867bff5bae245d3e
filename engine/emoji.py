"""Emoji names and keywords in many languages, so a query in any language matches a sticker.

A Telegram sticker carries an `emoji` chosen by the pack author. The bundled table
(`data/emoji/keywords.jsonl.gz`, built by `python -m export.emoji_data`) turns that emoji into
its CLDR name and keywords per locale: "🤷" gives "forse" in Italian and "shrug" in English.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path

from engine.errors import StickerbotError
from engine.resources import resource_path

DEFAULT_PATH = resource_path("data/emoji/keywords.jsonl.gz")

# Bumped whenever the file layout changes, so an old file is refused instead of misread.
# 2: JSON lines (a header, then {"emoji", "words": {locale: [words]}} a line).
FORMAT_VERSION = 2

# Presentation selectors change how an emoji is drawn, never what it means; sources and pack
# authors add or drop them freely, so keys are stored and looked up without them.
VARIATION_SELECTORS = ("\ufe0f", "\ufe0e")

# Telegram language codes that name a script or region whose CLDR data lives under another tag.
# Anything else falls back to its primary subtag ("pt-br" -> "pt", "en-gb" -> "en").
LANGUAGE_ALIASES: Mapping[str, str] = {
    "zh-hans": "zh",
    "zh-cn": "zh",
    "zh-sg": "zh",
    "zh-tw": "zh-hant",
    "zh-hk": "zh-hant",
    "zh-mo": "zh-hant",
    "nn": "nb",
    "no": "nb",
}

Table = Mapping[str, Mapping[str, tuple[str, ...]]]


def normalise(emoji: str) -> str:
    """`emoji` without U+FE0F / U+FE0E or outer spaces: the form every table key uses."""
    for selector in VARIATION_SELECTORS:
        emoji = emoji.replace(selector, "")
    return emoji.strip()


class EmojiKeywords:
    """Lookup from an emoji (or a short run of emoji) to its keywords in each locale."""

    def __init__(self, table: Table, locales: Sequence[str]) -> None:
        self._table = table
        self._locales = tuple(locales)
        # Longest key in code points bounds the greedy match window.
        self._longest = max((len(key) for key in table), default=0)

    @classmethod
    def load(cls, path: Path | str = DEFAULT_PATH) -> EmojiKeywords:
        """The table at `path`, read on first use and shared by every later caller."""
        return _load_cached(Path(path).resolve())

    @classmethod
    def from_file(cls, path: Path | str) -> EmojiKeywords:
        """Read the table at `path` now, bypassing the cache."""
        path = Path(path)
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                return cls(*_read(handle, path))
        except FileNotFoundError as error:
            raise StickerbotError(
                f"{path}: emoji keyword file is missing; run `python -m export.emoji_data`"
            ) from error
        except (OSError, ValueError) as error:
            raise StickerbotError(
                f"{path}: emoji keyword file is unreadable ({error}); rebuild it"
            ) from error

    normalise = staticmethod(normalise)

    @property
    def locales(self) -> tuple[str, ...]:
        """Locale tags the table holds, in file order."""
        return self._locales

    def __contains__(self, emoji: object) -> bool:
        return isinstance(emoji, str) and normalise(emoji) in self._table

    def __len__(self) -> int:
        return len(self._table)

    def __iter__(self) -> Iterator[str]:
        """Every emoji of the table (normalised), in file order."""
        return iter(self._table)

    def split(self, text: str) -> list[str]:
        """Known emoji in `text`, normalised, in order; anything unrecognised is skipped.

        Greedy longest match against the key set keeps ZWJ sequences, flags, keycaps and
        skin-tone variants whole, without a Unicode grapheme library.
        """
        text = normalise(text)
        found: list[str] = []
        start = 0
        while start < len(text):
            match = self._match_at(text, start)
            if match:
                found.append(match)
                start += len(match)
            else:
                start += 1
        return found

    def keywords(self, emoji: str, languages: Iterable[str] | None = None) -> list[str]:
        """Names and keywords of every emoji in `emoji`, label first, without duplicates.

        `languages` takes locale or Telegram language codes ("it", "pt-br", "zh-hant");
        None means every locale. Unknown emoji and unknown languages contribute nothing.
        """
        locales = self._locales if languages is None else self.resolve_languages(languages)
        words: dict[str, None] = {}  # an ordered set
        for key in self.split(emoji):
            per_locale = self._table[key]
            for locale in locales:
                words.update(dict.fromkeys(per_locale.get(locale, ())))
        return list(words)

    def resolve_languages(self, languages: Iterable[str]) -> list[str]:
        """Map language codes to locales of the table, keeping order and dropping unknowns."""
        if isinstance(languages, str):  # a lone code, not an iterable of one-letter codes
            languages = [languages]
        resolved: dict[str, None] = {}
        for language in languages:
            locale = self._resolve_language(language)
            if locale is not None:
                resolved[locale] = None
        return list(resolved)

    def _resolve_language(self, language: str) -> str | None:
        tag = language.strip().lower().replace("_", "-")
        for candidate in (tag, LANGUAGE_ALIASES.get(tag), tag.split("-")[0]):
            if candidate in self._locales:
                return candidate
        return None

    def _match_at(self, text: str, start: int) -> str | None:
        stop = min(len(text), start + self._longest)
        for end in range(stop, start, -1):
            if text[start:end] in self._table:
                return text[start:end]
        return None


@cache
def _load_cached(path: Path) -> EmojiKeywords:
    return EmojiKeywords.from_file(path)


def _read(lines: Iterable[str], path: Path) -> tuple[Table, list[str]]:
    """Check the header and freeze the table, one line at a time (a whole-file JSON document
    left ~80 MB of freed objects scattered through the heap). Equal words are one string and
    equal keyword lists one tuple: skin-tone variants repeat their base emoji's lists."""
    rows = iter(lines)
    header = json.loads(next(rows, "null"))
    if not isinstance(header, dict) or header.get("version") != FORMAT_VERSION:
        found = header.get("version") if isinstance(header, dict) else None
        raise StickerbotError(
            f"{path}: emoji keyword file has format {found!r}, expected {FORMAT_VERSION}; "
            "rebuild it with `python -m export.emoji_data`"
        )
    locales = header.get("locales")
    if not isinstance(locales, list):
        raise StickerbotError(f"{path}: emoji keyword file lacks 'locales'; rebuild it")
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}
    table: dict[str, dict[str, tuple[str, ...]]] = {}
    for number, line in enumerate(rows, start=2):
        entry = json.loads(line)
        if not isinstance(entry, dict) or not isinstance(entry.get("words"), dict):
            raise StickerbotError(f"{path}: line {number} is not an emoji entry; rebuild it")
        table[normalise(str(entry.get("emoji", "")))] = {
            sys.intern(locale): _shared_words(shared, words)
            for locale, words in entry["words"].items()
        }
    return table, [str(locale) for locale in locales]


def _shared_words(
    shared: dict[tuple[str, ...], tuple[str, ...]], words: list[str]
) -> tuple[str, ...]:
    found = tuple(sys.intern(word) for word in words)
    return shared.setdefault(found, found)
