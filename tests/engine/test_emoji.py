"""Emoji keyword table: the bundled data, the lookup rules and the generator."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from engine.emoji import DEFAULT_PATH, FORMAT_VERSION, EmojiKeywords, normalise
from engine.errors import StickerbotError
from export import emoji_data

THINKING = "🤔"
SHRUG = "🤷"
THUMBS_UP = "👍"
THUMBS_UP_MEDIUM = "👍🏽"
FAMILY = "👨\u200d👩\u200d👧"  # man, ZWJ, woman, ZWJ, girl
KEYCAP_ZERO = "0\ufe0f\u20e3"
ITALY = "🇮🇹"


@pytest.fixture(scope="module")
def table() -> EmojiKeywords:
    return EmojiKeywords.load()


def test_bundled_file_is_the_default_and_small() -> None:
    assert DEFAULT_PATH.is_file()
    assert DEFAULT_PATH.stat().st_size < 5_000_000


def test_load_is_cached(table: EmojiKeywords) -> None:
    assert EmojiKeywords.load() is table
    assert EmojiKeywords.load(str(DEFAULT_PATH)) is table


def test_locales_merge_regional_variants(table: EmojiKeywords) -> None:
    assert {"en", "it", "de", "ja", "zh", "zh-hant"} <= set(table.locales)
    assert not {"en-gb", "es-mx"} & set(table.locales)


def test_thinking_face_in_italian(table: EmojiKeywords) -> None:
    words = table.keywords(THINKING, ["it"])
    # CLDR Italian names it "faccina concentrata"; "forse" (maybe) belongs to the shrug.
    assert words[0] == "faccina concentrata"
    assert {"pensare", "dubbio", "faccina che pensa"} <= set(words)
    assert "forse" not in words
    assert "forse" in table.keywords(SHRUG, ["it"])


def test_variation_selector_does_not_matter(table: EmojiKeywords) -> None:
    assert table.keywords("❤\ufe0f") == table.keywords("❤") == table.keywords("❤\ufe0e")
    assert "red heart" in table.keywords("❤")


def test_skin_tone_gets_base_keywords(table: EmojiKeywords) -> None:
    assert table.keywords(THUMBS_UP_MEDIUM) == table.keywords(THUMBS_UP)
    assert "thumbs up" in table.keywords(THUMBS_UP_MEDIUM, ["en"])
    assert "pollice in su" in table.keywords(THUMBS_UP_MEDIUM, ["it"])


def test_tone_on_an_emoji_without_toned_form_is_ignored(table: EmojiKeywords) -> None:
    assert table.keywords(THINKING + "🏽") == table.keywords(THINKING)


def test_zwj_sequence_is_one_emoji(table: EmojiKeywords) -> None:
    assert table.split(FAMILY) == [FAMILY]
    words = table.keywords(FAMILY, ["en"])
    assert words[0] == "family: man, woman, girl"
    assert "woman" not in table.keywords("👨", ["en"])  # not split into its members


def test_keycap_and_flag(table: EmojiKeywords) -> None:
    assert table.keywords(KEYCAP_ZERO, ["en"])[:2] == ["keycap: 0", "0"]
    assert table.keywords("0\u20e3") == table.keywords(KEYCAP_ZERO)
    assert table.split(ITALY) == [ITALY]
    assert "flag: italy" in table.keywords(ITALY, ["en"])


def test_several_emoji_give_keywords_of_each(table: EmojiKeywords) -> None:
    text = f"{THINKING} ❤\ufe0f{THUMBS_UP_MEDIUM}"
    assert table.split(text) == [THINKING, "❤", THUMBS_UP_MEDIUM]
    words = table.keywords(text, ["en"])
    assert {"thinking face", "red heart", "thumbs up"} <= set(words)
    assert len(words) == len(set(words))


@pytest.mark.parametrize("text", ["", "abc", "\u200d", "\U0010ffff", "🏽"])
def test_unknown_gives_nothing(table: EmojiKeywords, text: str) -> None:
    assert table.keywords(text) == []


def test_language_filter(table: EmojiKeywords) -> None:
    english = table.keywords(THINKING, ["en"])
    assert "thinking face" in english
    assert "faccina concentrata" not in english
    assert table.keywords(THINKING, "en") == english  # a lone code is not split into letters
    assert table.keywords(THINKING, ["EN_gb"]) == english  # regional code falls back
    assert table.keywords(THINKING, ["xx"]) == []
    both = table.keywords(THINKING, ["it", "en"])
    assert both[0] == "faccina concentrata"
    assert set(both) == set(english) | set(table.keywords(THINKING, ["it"]))
    assert len(table.keywords(THINKING)) > len(both)


def test_traditional_chinese_aliases(table: EmojiKeywords) -> None:
    assert table.resolve_languages(["zh-TW", "zh-hans", "pt-br"]) == ["zh-hant", "zh", "pt"]


def test_normalise() -> None:
    assert normalise("❤\ufe0f") == "❤"
    assert normalise("0\ufe0f\u20e3") == "0\u20e3"
    assert EmojiKeywords.normalise("🏳\ufe0f\u200d🌈") == "🏳\u200d🌈"


def _entry(hexcode: str, label: str, tags: list[str], **extra: Any) -> dict[str, Any]:
    return {"hexcode": hexcode, "label": label, "tags": tags, "group": 0, **extra}


def _fake_node_modules(root: Path) -> Path:
    """A two-language emojibase-data with a regional variant, skins and building blocks."""
    package = root / "node_modules" / "emojibase-data"
    thumbs_skins = [{"hexcode": "1F44D-1F3FD", "label": "thumbs up: medium skin tone"}]
    locales = {
        "en": [
            _entry("2764", "Red Heart", ["love", "heart", "Love"]),
            _entry("1F44D", "thumbs up", ["+1", "like"], skins=thumbs_skins),
            {"hexcode": "1F1EE", "label": "regional indicator I"},  # no group, no tags
            _entry("1F3FD", "medium skin tone", ["skin"]),
        ],
        "en-gb": [_entry("2764", "red heart", ["love", "colour"])],
        "it": [_entry("2764", "cuore rosso", ["amore"])],
    }
    for locale, entries in locales.items():
        (package / locale).mkdir(parents=True)
        (package / locale / "data.json").write_text(json.dumps(entries), encoding="utf-8")
    (package / "package.json").write_text('{"version": "17.0.0"}', encoding="utf-8")
    return package.parent


def test_generator_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "out" / "keywords.jsonl.gz"
    assert emoji_data.main([str(_fake_node_modules(tmp_path)), str(out)]) == 0

    with gzip.open(out, "rt", encoding="utf-8") as handle:
        header, *entries = map(json.loads, handle)
    document = {**header, "emoji": {entry["emoji"]: entry["words"] for entry in entries}}
    assert document["version"] == FORMAT_VERSION
    assert document["source"] == "emojibase-data 17.0.0"
    assert document["locales"] == ["en", "it"]
    assert document["emoji"]["❤"] == {
        "en": ["red heart", "love", "heart", "colour"],
        "it": ["cuore rosso", "amore"],
    }
    assert set(document["emoji"]) == {"❤", "👍", "👍🏽"}  # no regional letter, no swatch

    table = EmojiKeywords.from_file(out)
    assert list(table) == list(document["emoji"])  # every emoji, in file order
    heart = document["emoji"]["❤"]["en"]
    assert table.keywords("👍🏽👀❤️", ["en"]) == ["thumbs up", "+1", "like", *heart]
    assert table.keywords("❤", ["it"]) == ["cuore rosso", "amore"]


def test_generator_output_is_reproducible(tmp_path: Path) -> None:
    node_modules = _fake_node_modules(tmp_path)
    first, second = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    emoji_data.main([str(node_modules), str(first)])
    emoji_data.main([str(node_modules), str(second)])
    assert first.read_bytes() == second.read_bytes()


def test_wrong_format_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.json.gz"
    path.write_bytes(gzip.compress(b'{"version": 1, "locales": [], "emoji": {}}'))
    with pytest.raises(StickerbotError, match=f"expected {FORMAT_VERSION}"):
        EmojiKeywords.from_file(path)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "format None"),
        (b'{"version": 2}\n', "lacks 'locales'"),
        (b'{"version": 2, "locales": ["en"]}\n["not", "an", "entry"]\n', "line 2"),
        (b'{"version": 2, "locales": ["en"]}\n{"emoji": "x", "wo', "unreadable"),
    ],
    ids=["empty", "no-locales", "not-an-entry", "cut-short"],
)
def test_a_broken_file_gets_a_one_line_error(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "broken.jsonl.gz"
    path.write_bytes(gzip.compress(content))
    with pytest.raises(StickerbotError, match=says):
        EmojiKeywords.from_file(path)


def test_missing_file_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(StickerbotError, match=r"export\.emoji_data"):
        EmojiKeywords.from_file(tmp_path / "nope.json.gz")
