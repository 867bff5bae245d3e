"""Tokenisation for lexical matching: accents folded on Latin only, unspaced scripts split."""

from __future__ import annotations

import unicodedata

import pytest

from engine.tokens import fold, tokenize, tokens_of


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Données CRÈME brûlée", ("donnees", "creme", "brulee")),
        ("naïve café", ("naive", "cafe")),
        ("tiếng Việt", ("tieng", "viet")),  # two stacked accents on one letter
        ("Straße", ("strasse",)),
        ("ﬁne", ("fine",)),  # compatibility ligature
        ("hello, world!  again", ("hello", "world", "again")),
        ("", ()),
        ("!!! ...", ()),
    ],
)
def test_latin_is_lowercased_and_accent_folded(text: str, tokens: tuple[str, ...]) -> None:
    assert tokenize(text) == tokens


def test_decomposed_and_composed_latin_fold_alike() -> None:
    composed = "é"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert tokenize(composed) == tokenize(decomposed) == ("e",)


@pytest.mark.parametrize("word", ["йод", "ёлка", "ελάφι", "ἄνθρωπος", "مرحبا"])
def test_accents_of_other_scripts_are_kept(word: str) -> None:
    """Folding is for Latin only: 'й' is not 'и', and Greek tonos is part of the word."""
    assert tokenize(word) == (unicodedata.normalize("NFKC", word.casefold()),)
    assert fold(word) == unicodedata.normalize("NFKC", word.casefold())


def test_cyrillic_short_i_is_not_folded() -> None:
    assert tokenize("йод") != tokenize("иод")


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("我爱猫", ("我", "爱", "猫", "我爱", "爱猫")),
        ("猫cat 狗", ("猫", "cat", "狗")),
        ("고양이", ("고", "양", "이", "고양", "양이")),
        ("ねこが好き", ("ね", "こ", "が", "好", "き", "ねこ", "こが", "が好", "好き")),
        ("cat猫猫x", ("cat", "猫", "猫", "猫猫", "x")),
    ],
)
def test_unspaced_scripts_become_characters_and_neighbouring_pairs(
    text: str, tokens: tuple[str, ...]
) -> None:
    assert tokenize(text) == tokens


def test_without_pairs_unspaced_scripts_are_one_token_per_character() -> None:
    assert tokens_of("ねこが好き cat", pairs=False) == ("ね", "こ", "が", "好", "き", "cat")
    assert tokens_of("Données", pairs=False) == tokenize("Données")


def test_kana_voicing_marks_are_kept() -> None:
    assert tokens_of("がっこう", pairs=False) == ("が", "っ", "こ", "う")
    assert tokenize("がっこう") != tokenize("かっこう")
    assert tokenize("ぱん") != tokenize("ばん") != tokenize("はん")
    # a decomposed voicing mark (か + U+3099) is the same letter as が
    assert tokenize("か\u3099") == ("が",)
    # half-width katakana with a separate voicing mark becomes the full-width voiced letter
    assert tokens_of("ｶﾞｯｺｳ", pairs=False) == ("ガ", "ッ", "コ", "ウ")


@pytest.mark.parametrize("text", ["नमस्ते दुनिया", "ที่นี่", "வணக்கம்", "প্রিয়"])
def test_no_letter_or_mark_is_lost(text: str) -> None:
    """Scripts that write vowels as combining marks (Devanagari, Thai, Tamil, Bengali) keep
    them: otherwise 'दुनिया' (world) and 'दिन' (day) both shrink to the letters द, न."""
    tokens = tokens_of(text, pairs=False)
    assert "".join(tokens) == fold(text).replace(" ", "")


def test_devanagari_words_stay_whole() -> None:
    assert tokenize("नमस्ते दुनिया") == ("नमस्ते", "दुनिया")
    assert not set(tokenize("दिन")) <= set(tokenize("दुनिया"))
