"""The meaning book (engine.meaning_book): numbering new texts, counting words, its files."""

from __future__ import annotations

import os
from pathlib import Path

from engine.meaning_book import TEXTS_FILE, MeaningBook
from engine.word_meaning import WordCounts

TEXTS = ["cat face", 'say "cheese"', "cœur brisé\nsur deux lignes", "dog face"]


def test_new_texts_are_numbered_after_the_known_ones_and_counted() -> None:
    book = MeaningBook.of(["cat face", "dog face"])
    grown, numbers, added = book.grown(["dog face", "", "red car", "cat face", "red car", "blue"])
    assert numbers.tolist() == [1, -1, 2, 0, 2, 3]
    assert added == ["red car", "blue"]
    assert grown.texts() == ["cat face", "dog face", "red car", "blue"]
    assert book.texts() == ["cat face", "dog face"]  # the book a live index reads is kept
    assert book.words.holding["car"] == 0 and len(book) == 2
    assert grown.words == WordCounts.of(grown.texts()) and len(grown) == 4


def test_a_saved_book_numbers_texts_from_its_file(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    MeaningBook.of(TEXTS).save(tmp_path / "a")
    opened = MeaningBook.open(tmp_path / "a")
    assert opened is not None and opened.added == [] and len(opened) == len(TEXTS)
    assert opened.texts() == TEXTS  # quotes and line breaks survive, one text a line
    grown, numbers, added = opened.grown(['say "cheese"', "new", "cœur brisé\nsur deux lignes"])
    assert numbers.tolist() == [1, 4, 2] and added == ["new"]
    (tmp_path / "b").mkdir()
    grown.save(tmp_path / "b")
    again = MeaningBook.open(tmp_path / "b")
    assert again is not None and again.texts() == [*TEXTS, "new"]
    assert again.words == WordCounts.of([*TEXTS, "new"])
    # saved again with nothing added: the texts are linked, not copied
    (tmp_path / "c").mkdir()
    again.save(tmp_path / "c")
    assert (
        os.stat(tmp_path / "c" / TEXTS_FILE).st_ino == os.stat(tmp_path / "b" / TEXTS_FILE).st_ino
    )
    assert MeaningBook.open(tmp_path / "nothing") is None
