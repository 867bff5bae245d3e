"""An index's distinct meaning texts, in meaning order, and the words they hold.

A live growth numbers its new stickers' meanings against the catalog's (a new sticker whose
text is known joins that meaning) and weighs their words by how many of the catalog's captions
hold them (engine.word_meaning). Both used to come from reading every stored sticker again: at
543,098 stickers, 2.7 s and 280 MB per growth. The index keeps them in two files of its own
instead, which only a growth reads: the texts one JSON string a line, streamed past and never
held whole, and the word counts.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.row_files import link_or_copy
from engine.word_meaning import WordCounts

TEXTS_FILE = "meaning_texts.jsonl"  # meaning i's text on line i
WORDS_FILE = "meaning_words.json"


@dataclass
class MeaningBook:
    """The texts of `source`'s TEXTS_FILE (if any) then `added`, and `words` counted over all."""

    words: WordCounts
    added: list[str] = field(default_factory=list)
    source: Path | None = None  # an index folder holding the first texts

    @classmethod
    def of(cls, texts: Sequence[str]) -> MeaningBook:
        """The book of a catalog's distinct meaning texts, in meaning order."""
        return cls(WordCounts.of(texts), list(texts))

    @classmethod
    def open(cls, folder: Path) -> MeaningBook | None:
        """The book saved in `folder`, its texts left on disk; None if it has none."""
        if not has_meaning_book(folder):
            return None
        with (folder / WORDS_FILE).open(encoding="utf-8") as file:
            state = json.load(file)
        return cls(WordCounts(Counter(state["words"]), int(state["captions"])), [], folder)

    def __len__(self) -> int:
        return self.words.captions

    def grown(self, texts: Sequence[str]) -> tuple[MeaningBook, np.ndarray, list[str]]:
        """(this book with the texts it lacks added, each text's meaning number, the texts
        added); an empty text has no number (-1). The book itself is left as it is: a live
        index may still read it."""
        numbers = self._numbers_of(set(texts))
        added: list[str] = []
        which = np.full(len(texts), -1, np.int64)
        for row, text in enumerate(texts):
            if not text:
                continue
            if text not in numbers:
                numbers[text] = len(self) + len(added)
                added.append(text)
            which[row] = numbers[text]
        words = WordCounts(Counter(self.words.holding), self.words.captions)
        words.add(added)
        return MeaningBook(words, [*self.added, *added], self.source), which, added

    def texts(self) -> list[str]:
        """Every text, read whole (for tests and tools; a growth never needs them all)."""
        return [json.loads(line) for _, line in self._lines()] + self.added

    def save(self, folder: Path) -> None:
        """Write the book's two files into `folder`: the source's texts linked when nothing was
        added to them, else copied with the added ones after them."""
        target = folder / TEXTS_FILE
        if self.source is not None and not self.added:
            link_or_copy(self.source / TEXTS_FILE, target)
        else:
            with target.open("w", encoding="utf-8") as out:
                if self.source is not None:
                    with (self.source / TEXTS_FILE).open(encoding="utf-8") as old:
                        shutil.copyfileobj(old, out)
                out.writelines(_line(text) for text in self.added)
        state = {"captions": self.words.captions, "words": dict(self.words.holding)}
        with (folder / WORDS_FILE).open("w", encoding="utf-8") as file:
            json.dump(state, file, ensure_ascii=False)

    def _numbers_of(self, wanted: set[str]) -> dict[str, int]:
        """The numbers of the `wanted` texts the book holds, found in one pass that compares
        lines as written: no text of the file is decoded, and no table of them all is built."""
        lines = {_line(text): text for text in wanted if text}
        found = {lines[line]: i for i, line in self._lines() if line in lines}
        first_added = len(self) - len(self.added)
        found.update((text, first_added + i) for i, text in enumerate(self.added) if text in wanted)
        return found

    def _lines(self) -> Iterator[tuple[int, str]]:
        """(number, line as written) of each text of the source's file, read as iterated."""
        if self.source is None:
            return
        with (self.source / TEXTS_FILE).open(encoding="utf-8") as file:
            yield from enumerate(file)


def has_meaning_book(folder: Path | None) -> bool:
    """Whether the index folder `folder` holds a meaning book (those saved before do not)."""
    return folder is not None and all((folder / f).is_file() for f in (TEXTS_FILE, WORDS_FILE))


def _line(text: str) -> str:
    return json.dumps(text, ensure_ascii=False) + "\n"
