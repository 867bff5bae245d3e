"""The languages a user types in, so that emoji keywords in other languages count less.

A sticker's emoji brings its keywords in 26 languages, so a word can match through a language
its typist does not write: "son" is a sound in French and a boy in English, "burro" butter in
Italian and a donkey in Spanish. A user's languages are, in this order: the one they chose in
/prefs; else the ones their own typed words were in when they picked a sticker (the languages
whose keywords of the picked sticker's emoji hold the most of those words, recency-weighted in
their profile); else the language of their Telegram app. A match through keywords in none of
them counts OTHER_LANGUAGE_SHARE, unless no sticker matches in them at all: the user is then
typing in another language, and every match counts. A user whose languages are unknown is
matched in all alike.

Only a sticker's own emoji field is read, as everywhere else: captions are never looked up in
the keyword table.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from engine.completion import partial_word
from engine.emoji import EmojiKeywords
from engine.tokens import tokenize, tokens_of

# Per typed pick, a user's learnt languages decay by this: one who starts typing in another
# language is followed within a few picks, and a lone pick in a third language soon fades.
LANGUAGE_DECAY = 0.9
# A learnt language is the user's from this share of their most used one: people who type in two
# languages keep both, and a word that happens to be a keyword in a third does not add it.
USER_LANGUAGE_SHARE = 0.25
# What a match through keywords in none of the user's languages counts, against one in theirs.
# Not nothing: a learnt language can be wrong, and people borrow words ("pizza", "ok").
# Measured on emoji-dev-sparse by answering each query with the keywords of its own language
# only: nDCG@10 0.886 -> 0.903, MRR@10 0.931 -> 0.946.
OTHER_LANGUAGE_SHARE = 0.5
EMOJI_CACHED = 4096  # (emoji, languages) pairs whose keyword tokens are kept


class LanguageWords:
    """The keyword tokens of emoji per language, read from the bundled table and cached."""

    def __init__(self, emoji: EmojiKeywords) -> None:
        self._emoji = emoji
        self.tokens = lru_cache(maxsize=EMOJI_CACHED)(self._tokens)

    def _tokens(self, emoji: str, locales: tuple[str, ...] | None) -> tuple[str, ...]:
        """Sorted distinct tokens of `emoji`'s keywords in `locales` (None: every locale)."""
        words = self._emoji.keywords(emoji, locales)
        return tuple(sorted({token for word in words for token in tokens_of(word)}))

    def typed_in(self, emoji: str | None, query: str | None) -> list[str]:
        """The locales whose keywords of `emoji` hold the most of the words of `query` (typed
        before picking a sticker with that emoji); none when no locale holds any."""
        words = set(tokenize(query or ""))
        if not emoji or not words:
            return []
        held = {
            locale: len(words.intersection(self.tokens(emoji, (locale,))))
            for locale in self._emoji.locales
        }
        most = max(held.values(), default=0)
        return [locale for locale, count in held.items() if count == most] if most else []

    def of_user(
        self, chosen: str | None, learnt: dict[str, float], app: str | None
    ) -> UserLanguages | None:
        """The user's languages: `chosen` in /prefs, else those `learnt` from their picks, else
        their app's (Telegram's language code); None when none is known."""
        if chosen and (locales := self._emoji.resolve_languages([chosen])):
            return UserLanguages(self, tuple(locales))
        if learnt:
            top = max(learnt.values())
            kept = sorted(k for k, w in learnt.items() if w >= USER_LANGUAGE_SHARE * top)
            return UserLanguages(self, tuple(self._emoji.resolve_languages(kept)))
        if app and (locales := self._emoji.resolve_languages([app])):
            return UserLanguages(self, tuple(locales))
        return None


@dataclass(frozen=True)
class UserLanguages:
    words: LanguageWords
    locales: tuple[str, ...]

    def weights(self, emojis: Sequence[str | None], text: str) -> np.ndarray:
        """Per sticker (by its emoji), what its keywords' match with `text` counts: 1 when every
        word they hold is held in the user's languages, OTHER_LANGUAGE_SHARE when none is; 1
        for all when no sticker's words are held in the user's languages."""
        words = list(dict.fromkeys(tokenize(text)))
        partial = partial_word(text)
        held: dict[str | None, tuple[int, int]] = {}
        for emoji in emojis:
            if emoji not in held:
                held[emoji] = self._held_words(emoji, words, partial)
        if not any(theirs for theirs, _ in held.values()):
            return np.ones(len(emojis))  # typed in none of their languages: nothing to prefer
        weight_of = {emoji: _weight(theirs, anywhere) for emoji, (theirs, anywhere) in held.items()}
        return np.fromiter((weight_of[e] for e in emojis), np.float64, len(emojis))

    def _held_words(
        self, emoji: str | None, words: list[str], partial: str | None
    ) -> tuple[int, int]:
        """How many of `words` `emoji`'s keywords hold in the user's languages, and in any."""
        if not emoji:
            return 0, 0
        anywhere = _held(self.words.tokens(emoji, None), words, partial)
        if not anywhere:
            return 0, 0
        return _held(self.words.tokens(emoji, self.locales), words, partial), anywhere


def _weight(theirs: int, anywhere: int) -> float:
    """What a match of `anywhere` words, `theirs` of them in the user's languages, counts."""
    share = theirs / anywhere if anywhere else 1.0
    return OTHER_LANGUAGE_SHARE + (1 - OTHER_LANGUAGE_SHARE) * share


def _held(tokens: tuple[str, ...], words: list[str], partial: str | None) -> int:
    """How many of `words` the sorted `tokens` hold, the `partial` last word counting as held
    when it starts one of them (a word still being typed, engine.completion)."""
    held = 0
    for word in words:
        at = bisect.bisect_left(tokens, word)
        found = at < len(tokens) and (
            tokens[at] == word or (word == partial and tokens[at].startswith(word))
        )
        held += found
    return held
