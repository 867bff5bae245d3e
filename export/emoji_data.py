"""Build `data/emoji/keywords.jsonl.gz` from the npm package emojibase-data.

Usage (from the repository root):

    npm install emojibase-data@17.0.0            # in any temporary folder
    python -m export.emoji_data TMP/node_modules data/emoji/keywords.jsonl.gz

emojibase-data ships the Unicode CLDR emoji annotations as `<locale>/data.json`. The output
maps each emoji, without variation selectors, to `{locale: [label, tag, ...]}`, lowercased and
de-duplicated with the label first. Skin-tone variants get their base emoji's words, so
"👍🏽" matches "thumbs up" in every language.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from engine.emoji import FORMAT_VERSION, normalise

PACKAGE = "emojibase-data"
LOCALE_FILE = "data.json"

# Regional variants folded into their base language, regional words appended after the base
# ones. Telegram reports most users as plain "en"/"es", so a separate en-gb or es-mx locale
# would rarely be asked for, while their extra words ("realise", "chilli", Mexican Spanish
# synonyms) still help a query match. zh-hant stays apart: Traditional characters differ from
# Simplified ones in almost every entry, and Telegram has a "zh-hant" language of its own.
REGIONAL_MERGES = {"en-gb": "en", "es-mx": "es"}

# Skin-tone swatches only make sense attached to another emoji. Left in the table, a tone after
# an emoji that has no toned form would add "light skin tone" to its keywords.
SKIN_TONE_MODIFIERS = frozenset(chr(code) for code in range(0x1F3FB, 0x1F400))

Words = dict[str, None]  # an ordered set: insertion order kept, duplicates ignored


def emoji_from_hexcode(hexcode: str) -> str:
    """Hexcode "1F44D-1F3FD" -> "👍🏽"; exact, where the `emoji` field may add a FE0F."""
    return "".join(chr(int(part, 16)) for part in hexcode.split("-"))


def clean_words(words: Iterable[str]) -> Words:
    """Lowercased, stripped, de-duplicated words in their original order."""
    cleaned: Words = {}
    for word in words:
        word = " ".join(word.lower().split())
        if word:
            cleaned[word] = None
    return cleaned


def is_standalone(entry: dict[str, Any]) -> bool:
    """False for parts that only build other emoji: regional indicators and skin tones."""
    # Regional indicator letters are the only entries emojibase leaves outside every group.
    return "group" in entry and emoji_from_hexcode(entry["hexcode"]) not in SKIN_TONE_MODIFIERS


def locale_table(entries: Iterable[dict[str, Any]]) -> dict[str, Words]:
    """Normalised emoji -> words for one locale, skin-tone variants included."""
    table: dict[str, Words] = {}
    for entry in entries:
        if not is_standalone(entry):
            continue
        words = clean_words([entry["label"], *entry.get("tags", ())])
        variants = [entry["hexcode"], *(skin["hexcode"] for skin in entry.get("skins", ()))]
        for hexcode in variants:
            key = normalise(emoji_from_hexcode(hexcode))
            table.setdefault(key, {}).update(words)
    return table


def find_locales(package: Path) -> list[str]:
    """Locale folders of the package, i.e. those holding a data.json, sorted."""
    return sorted(path.parent.name for path in package.glob(f"*/{LOCALE_FILE}"))


def read_locale(package: Path, locale: str) -> dict[str, Words]:
    with (package / locale / LOCALE_FILE).open(encoding="utf-8") as handle:
        return locale_table(json.load(handle))


def merge_into(target: dict[str, Words], extra: dict[str, Words]) -> None:
    """Append the regional words of `extra` after the base words already in `target`."""
    for key, words in extra.items():
        target.setdefault(key, {}).update(words)


def build(node_modules: Path) -> dict[str, Any]:
    """The whole output document, ready to serialise."""
    package = node_modules / PACKAGE
    version = json.loads((package / "package.json").read_text(encoding="utf-8"))["version"]
    tables: dict[str, dict[str, Words]] = {}
    found = find_locales(package)
    # Base languages first, so regional words land after theirs.
    for locale in sorted(found, key=lambda name: name in REGIONAL_MERGES):
        target = REGIONAL_MERGES.get(locale, locale)
        merge_into(tables.setdefault(target, {}), read_locale(package, locale))
    locales = sorted(tables)
    return {
        "version": FORMAT_VERSION,
        "source": f"{PACKAGE} {version}",
        "locales": locales,
        "emoji": invert(tables, locales),
    }


def invert(tables: dict[str, dict[str, Words]], locales: Sequence[str]) -> dict[str, Any]:
    """locale -> emoji -> words becomes emoji -> locale -> words, emoji in source order."""
    keys: dict[str, None] = {}
    for locale in locales:
        keys.update(dict.fromkeys(tables[locale]))
    return {
        key: {locale: list(tables[locale][key]) for locale in locales if key in tables[locale]}
        for key in keys
    }


def write(document: dict[str, Any], out: Path) -> int:
    """Write gzipped JSON lines: a header, then one emoji a line (read one line at a time, the
    table never exists twice in memory). Returns the size in bytes; mtime=0 keeps rebuilds
    identical."""
    header = {key: value for key, value in document.items() if key != "emoji"}
    entries = ({"emoji": key, "words": words} for key, words in document["emoji"].items())
    text = "".join(_json_line(line) for line in (header, *entries))
    payload = gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(payload)
    return len(payload)


def _json_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.emoji_data", description=__doc__)
    parser.add_argument("node_modules", type=Path, help=f"folder holding {PACKAGE}/")
    parser.add_argument("out", type=Path, help="output file, e.g. data/emoji/keywords.jsonl.gz")
    args = parser.parse_args(argv)
    if not (args.node_modules / PACKAGE / "package.json").is_file():
        parser.error(f"{args.node_modules / PACKAGE} is not an installed {PACKAGE} package")
    document = build(args.node_modules)
    size = write(document, args.out)
    print(
        f"{args.out}: {len(document['emoji'])} emoji, {len(document['locales'])} locales, "
        f"{size / 1_000_000:.2f} MB ({document['source']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
