"""Words still being typed: "@bot slee" should already find "sleepy".

Telegram sends an inline query on nearly every keystroke, so most queries a bot answers end in
a partial word. The last word of a query, unless a space follows it, may be the start of longer
words; where it is not itself a known word, the lexical fields and the query log complete it
from their own vocabularies, trusting a completion a little less than the word typed in full.
What the text model makes of such a fragment then counts less (engine.recall.FRAGMENT_TRUST).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

from engine.tokens import tokenize

# Letters typed before a partial word is completed: fewer would match too much to mean anything.
PREFIX_MIN = 4
# How much a completed word counts, against the same word typed in full.
COMPLETION_CREDIT = 0.8
# Completions kept per partial word (the most used), and how many are looked at to choose them:
# a short prefix in a large vocabulary starts thousands of words.
MAX_COMPLETIONS = 16
SCANNED = 512


def partial_word(text: str) -> str | None:
    """The word `text` ends in while it may still be typed (its last token, folded as tokens
    are), or None: a space after it, too short, or nothing to complete."""
    if not text or text[-1].isspace():
        return None
    words = tokenize(text)
    if not words or len(words[-1]) < PREFIX_MIN:
        return None
    return words[-1]


def completions(
    sorted_words: Sequence[str], prefix: str, weight: Callable[[str], float]
) -> list[str]:
    """The MAX_COMPLETIONS heaviest words of `sorted_words` that start with `prefix` and are
    longer than it (of the first SCANNED in order)."""
    start = bisect.bisect_right(sorted_words, prefix)
    found: list[str] = []
    for word in sorted_words[start : start + SCANNED]:
        if not word.startswith(prefix):
            break
        found.append(word)
    if len(found) > MAX_COMPLETIONS:
        found = sorted(found, key=weight, reverse=True)[:MAX_COMPLETIONS]
    return found
