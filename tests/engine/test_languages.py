"""A user's languages: learnt from the words typed before picks, chosen in /prefs, or hinted by
the app; matches through keywords in other languages count less, unless none is in theirs."""

from __future__ import annotations

import numpy as np
import pytest

from engine.emoji import EmojiKeywords
from engine.languages import (
    OTHER_LANGUAGE_SHARE,
    USER_LANGUAGE_SHARE,
    LanguageWords,
    learnt_languages,
)
from engine.profile import Profile, update

BREAD, SMILE_TEAR, BOY, EAR = "🍞", "🥲", "👦", "👂"  # "pain" in French, "pain" in English


@pytest.fixture(scope="module")
def words() -> LanguageWords:
    return LanguageWords(EmojiKeywords.load())


def test_typed_words_are_in_the_languages_whose_keywords_of_the_picked_emoji_hold_them(
    words: LanguageWords,
) -> None:
    assert words.typed_in("😴", "dormire") == ["it"]  # Italian keyword of 😴, in no other locale
    assert words.typed_in(BREAD, "pain frais") == ["fr"]
    assert {"en", "it", "de"} <= set(words.typed_in("🍕", "pizza"))  # one word, many languages
    assert words.typed_in("😴", "quarterly tax") == []  # no keyword: nothing learnt
    assert words.typed_in(None, "dormire") == words.typed_in("😴", None) == []


def test_reading_the_language_of_a_pick_leaves_the_query_cache_alone() -> None:
    words = LanguageWords(EmojiKeywords.load())
    words.tokens("😴", "it")  # a query matched 😴's Italian keywords

    assert words.typed_in("😴", "dormire") == ["it"]
    assert words.typed_in(BREAD, "pain frais") == ["fr"]

    assert words.tokens.cache_info().currsize == 1


def test_the_choice_in_prefs_comes_first_then_what_picks_taught_then_the_app(
    words: LanguageWords,
) -> None:
    learnt = {"fr": 3.0, "it": 3.0 * USER_LANGUAGE_SHARE, "de": 0.5 * USER_LANGUAGE_SHARE}
    assert words.of_user("es", learnt, "en").locales == ("es",)  # type: ignore[union-attr]
    assert words.of_user(None, learnt, "en").locales == ("fr", "it")  # type: ignore[union-attr]
    assert learnt_languages({"it": 1.0, "fr": 3.0, "de": 0.1}) == ["fr", "it"]  # heaviest first
    assert learnt_languages({}) == []
    assert words.of_user(None, {}, "pt-BR").locales == ("pt",)  # type: ignore[union-attr]
    assert words.of_user("xx", {}, None) is None  # no language the table knows
    assert words.of_user(None, {}, None) is None


def test_a_match_only_in_another_language_counts_less(words: LanguageWords) -> None:
    french = words.of_user("fr", {}, None)
    assert french is not None
    weights = french.weights([BREAD, SMILE_TEAR, None, BREAD], "pain")
    np.testing.assert_allclose(weights, [1.0, OTHER_LANGUAGE_SHARE, 1.0, 1.0])
    english = words.of_user("en", {}, None)
    assert english is not None
    np.testing.assert_allclose(english.weights([BREAD, SMILE_TEAR], "pain"), [0.5, 1.0])
    # a word still being typed matches the keywords it starts: "écou" for "écouter"
    np.testing.assert_allclose(french.weights([EAR, BREAD], "écou"), [1.0, OTHER_LANGUAGE_SHARE])
    np.testing.assert_allclose(french.weights([EAR, BOY], "son"), [1.0, OTHER_LANGUAGE_SHARE])


def test_words_in_none_of_the_users_languages_are_matched_in_all_alike(
    words: LanguageWords,
) -> None:
    japanese = words.of_user("ja", {}, None)
    assert japanese is not None
    np.testing.assert_array_equal(japanese.weights([BREAD, SMILE_TEAR], "pain"), [1.0, 1.0])


def test_the_profile_learns_languages_from_typed_picks_and_keeps_them(
    words: LanguageWords,
) -> None:
    profile = Profile()
    style = np.ones(4, np.float32)
    for n, (typed, emoji) in enumerate((("dormire", "😴"), ("pizza", "🍕"), ("dormire", "😴"))):
        update(
            profile,
            kind="pick",
            sticker_id=f"s{n}",
            set_name="pack",
            style=style,
            ts=float(n),
            typed_in=words.typed_in(emoji, typed),
        )
    assert max(profile.languages, key=profile.languages.__getitem__) == "it"
    assert profile.languages["it"] > profile.languages["en"] > 0
    assert Profile.from_dict(profile.to_dict()).languages == profile.languages
    assert words.of_user(None, profile.languages, None).locales == ("it",)  # type: ignore[union-attr]
