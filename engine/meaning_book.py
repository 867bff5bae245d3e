"""An index's distinct meaning texts, in meaning order, and the words they hold.

A live growth numbers its new stickers' meanings against the catalog's (a new sticker whose
text is known joins that meaning) and weighs their words by how many of the catalog's captions
hold them (engine.word_meaning). Both used to come from reading every stored sticker again: at
543,098 stickers, 2.7 s and 280 MB per growth. The index keeps them in a file of its own
instead, read by a growth and never by serving.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.word_meaning import WordCounts


@dataclass
class MeaningBook:
    texts: list[str]  # meaning i's text is texts[i]
    words: WordCounts  # over `texts`

    @classmethod
    def of(cls, texts: Sequence[str]) -> MeaningBook:
        """The book of a catalog's distinct meaning texts, in meaning order."""
        return cls(list(texts), WordCounts.of(texts))

    def __len__(self) -> int:
        return len(self.texts)

    def grown(self, texts: Sequence[str]) -> tuple[MeaningBook, np.ndarray]:
        """(this book with the texts it lacks added, each text's meaning number); an empty text
        has none (-1). The book itself is left as it is: a live index may still read it."""
        numbers = {text: i for i, text in enumerate(self.texts)}
        which = np.full(len(texts), -1, np.int64)
        for row, text in enumerate(texts):
            if text:
                which[row] = numbers.setdefault(text, len(numbers))
        added = list(numbers)[len(self.texts) :]  # a dict keeps the order texts came in
        words = WordCounts(Counter(self.words.holding), self.words.captions)
        words.add(added)
        return MeaningBook([*self.texts, *added], words), which

    def save(self, path: Path) -> None:
        state = {
            "texts": self.texts,
            "words": dict(self.words.holding),
            "captions": self.words.captions,
        }
        path.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> MeaningBook:
        state = json.loads(path.read_text(encoding="utf-8"))
        return cls(state["texts"], WordCounts(Counter(state["words"]), int(state["captions"])))
