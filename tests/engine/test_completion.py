"""Words still being typed: which word is partial, and what it may become."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine import completion
from engine.completion import MAX_COMPLETIONS, PREFIX_MIN, completions, partial_word


@pytest.mark.parametrize(
    ("text", "partial"),
    [
        ("slee", "slee"),
        ("very SLEÉ", "slee"),  # folded as tokens are
        ("slee ", None),  # a space after it: the word is done
        ("sle", None),  # shorter than PREFIX_MIN
        ("", None),
        ("   ", None),
        ("猫猫猫猫", None),  # unspaced scripts are one token per character
    ],
)
def test_partial_word_is_the_unfinished_last_token(text: str, partial: str | None) -> None:
    assert PREFIX_MIN == 4  # the cases above are written for it
    assert partial_word(text) == partial


def _weights(weights: dict[str, float]) -> Callable[[str], float]:
    return lambda word: weights.get(word, 0.0)


def test_completions_are_longer_words_with_the_prefix() -> None:
    words = sorted(["sled", "slee", "sleep", "sleepy", "sleeve", "slept", "sleeq"])
    assert completions(words, "slee", _weights({})) == ["sleep", "sleepy", "sleeq", "sleeve"]
    assert completions(words, "zzzz", _weights({})) == []


def test_only_the_most_used_completions_are_kept() -> None:
    words = sorted(f"slee{i:03d}" for i in range(MAX_COMPLETIONS + 10))
    heavy = {word: float(i) for i, word in enumerate(words)}
    kept = completions(words, "slee", _weights(heavy))
    assert kept == sorted(words, key=heavy.__getitem__, reverse=True)[:MAX_COMPLETIONS]


def test_a_prefix_of_thousands_of_words_reads_only_the_first_scanned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(completion, "SCANNED", 5)
    words = sorted(f"slee{i:03d}" for i in range(50))
    assert completions(words, "slee", _weights({})) == words[:5]
