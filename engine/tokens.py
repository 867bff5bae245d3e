"""Tokenisation for lexical matching in any language.

Lowercased, accents folded (people type "donnees" for "données"), split on word characters.
Scripts written without spaces (CJK, Thai) become one token per character, since bm25s's default
pattern would drop one-character tokens and make them unsearchable.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Word characters plus the combining marks of Indic scripts (vowel signs, virama), which `\w`
# alone would drop, cutting words apart.
_WORD = re.compile(r"[\w\u0900-\u0dff\u0e00-\u0eff\u1000-\u109f]+", re.UNICODE)
# Han, Hiragana, Katakana, Hangul syllables and Thai: no spaces between words.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")


LATIN_END = 0x250  # accents are folded on Latin letters only: kana voicing marks carry meaning


def fold(text: str) -> str:
    """Lowercase and strip accents from Latin letters ("Données" -> "donnees")."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", text.casefold()):
        if unicodedata.combining(ch) and out and ord(out[-1]) < LATIN_END:
            continue
        out.append(ch)
    return unicodedata.normalize("NFKC", "".join(out))


# Queries only: each is tokenised once per lexical field. Documents go through `tokens_of`,
# since a cache filled by an index build would hold its texts for the life of the process.
QUERIES_CACHED = 1024


@lru_cache(maxsize=QUERIES_CACHED)
def tokenize(text: str) -> tuple[str, ...]:
    """Tokens of a query, remembered for its next field."""
    return tokens_of(text)


def tokens_of(text: str) -> tuple[str, ...]:
    """Tokens of `text` for BM25 and for term coverage."""
    tokens: list[str] = []
    for word in _WORD.findall(fold(text)):
        if _UNSPACED.search(word):
            tokens.extend(_split_unspaced(word))
        else:
            tokens.append(word)
    return tuple(tokens)


def _split_unspaced(word: str) -> list[str]:
    """Characters of unspaced scripts one by one; runs of other letters stay whole."""
    parts: list[str] = []
    run = ""
    for ch in word:
        if _UNSPACED.match(ch):
            if run:
                parts.append(run)
                run = ""
            parts.append(ch)
        else:
            run += ch
    if run:
        parts.append(run)
    return parts
