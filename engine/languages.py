"""The languages a user types in, so that emoji keywords in other languages count less.

A sticker's emoji brings its keywords in 26 languages, so a word can match through a language
its typist does not write: "son" is a sound in French and a boy in English, "burro" butter in
Italian and a donkey in Spanish. A user's languages are, in this order: the one they chose in
/prefs; else the ones their own typed words were in when they picked a sticker (the languages
whose keywords of the picked sticker's emoji hold the most of those words, recency-weighted in
their profile); else the language of their Telegram app. A sticker whose keywords in none of
them hold the words typed counts OTHER_LANGUAGE_SHARE, unless no sticker's do: the user is then
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

# A learnt language is the user's from this share of their most used one: people who type in two
# languages keep both, and a word that happens to be a keyword in a third does not add it.
USER_LANGUAGE_SHARE = 0.25
# What a match through keywords in none of the user's languages counts, against one in theirs.
# Not nothing: a learnt language can be wrong, and people borrow words ("pizza", "ok"). On
# emoji-dev-sparse 0, 0.25 and 0.5 scored alike (nDCG@10 0.890-0.891, against 0.886 with every
# language alike), so the gentlest was kept.
OTHER_LANGUAGE_SHARE = 0.5
# (emoji, locale) pairs whose keyword tokens are kept, about 0.3 KB each: the emoji that queries
# match, in the few locales users write.
EMOJI_CACHED = 16384


class LanguageWords:
    """The keyword tokens of emoji per language, read from the bundled table and cached."""

    def __init__(self, emoji: EmojiKeywords) -> None:
        self._emoji = emoji
        self.tokens = lru_cache(maxsize=EMOJI_CACHED)(self._tokens)

    def _tokens(self, emoji: str, locale: str) -> tuple[str, ...]:
        """Sorted distinct tokens of `emoji`'s keywords in `locale`. Cached per locale, not per
        set of a user's locales: users' sets are many, each emoji's locales 26."""
        words = self._emoji.keywords(emoji, (locale,))
        return tuple(sorted({token for word in words for token in tokens_of(word)}))

    def typed_in(self, emoji: str | None, query: str | None) -> list[str]:
        """The locales whose keywords of `emoji` hold the most of the words of `query` (typed
        before picking a sticker with that emoji); none when no locale holds any.

        Read past the cache: a pick reads all 26 locales of its emoji, which would push out the
        few locales that queries match in (about 0.5 ms a pick, and picks are rare beside the
        queries typed letter by letter)."""
        words = set(tokenize(query or ""))
        if not emoji or not words:
            return []
        held = {
            locale: len(words.intersection(self._tokens(emoji, locale)))
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
            return UserLanguages(self, tuple(learnt_languages(learnt)))
        if app and (locales := self._emoji.resolve_languages([app])):
            return UserLanguages(self, tuple(locales))
        return None


def learnt_languages(learnt: dict[str, float]) -> list[str]:
    """The locales a profile's weights (locale -> recency weight) count as the user's, the
    heaviest first."""
    top = max(learnt.values(), default=0.0)
    kept = [locale for locale, weight in learnt.items() if weight >= USER_LANGUAGE_SHARE * top]
    return sorted(kept, key=learnt.__getitem__, reverse=True) if top > 0 else []


@dataclass(frozen=True)
class UserLanguages:
    words: LanguageWords
    locales: tuple[str, ...]

    def weights(self, emojis: Sequence[str | None], text: str) -> np.ndarray:
        """Per sticker (by its emoji), what its keywords' match with `text` counts: 1 when its
        keywords in the user's languages hold one of the words, else OTHER_LANGUAGE_SHARE;
        1 for all when no sticker's keywords in the user's languages hold any."""
        words = list(dict.fromkeys(tokenize(text)))
        partial = partial_word(text)
        theirs: dict[str, bool] = {}
        for emoji in emojis:
            if emoji is not None and emoji not in theirs:
                theirs[emoji] = any(
                    _holds(self.words.tokens(emoji, locale), words, partial)
                    for locale in self.locales
                )
        if not any(theirs.values()):
            return np.ones(len(emojis))  # typed in none of their languages: nothing to prefer
        return np.fromiter(
            (1.0 if e is None or theirs[e] else OTHER_LANGUAGE_SHARE for e in emojis),
            np.float64,
            len(emojis),
        )


def _holds(tokens: tuple[str, ...], words: list[str], partial: str | None) -> bool:
    """Whether the sorted `tokens` hold one of `words`, the `partial` last word counting as held
    when it starts one of them (a word still being typed, engine.completion)."""
    for word in words:
        at = bisect.bisect_left(tokens, word)
        if at < len(tokens) and (
            tokens[at] == word or (word == partial and tokens[at].startswith(word))
        ):
            return True
    return False
