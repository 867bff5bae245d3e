"""The meaning book (engine.meaning_book): numbering new texts, counting words, round trip."""

from __future__ import annotations

from pathlib import Path

from engine.meaning_book import MeaningBook
from engine.word_meaning import WordCounts


def test_new_texts_are_numbered_after_the_known_ones_and_counted() -> None:
    book = MeaningBook.of(["cat face", "dog face"])
    grown, numbers = book.grown(["dog face", "", "red car", "cat face", "red car", "blue car"])
    assert numbers.tolist() == [1, -1, 2, 0, 2, 3]
    assert grown.texts == ["cat face", "dog face", "red car", "blue car"]
    assert book.texts == ["cat face", "dog face"]  # the book a live index reads is kept
    assert book.words.holding["car"] == 0 and book.words.captions == 2
    assert grown.words == WordCounts.of(grown.texts)


def test_a_book_is_saved_and_read_back(tmp_path: Path) -> None:
    book = MeaningBook.of(["cœur brisé", "cat face", "face"])
    book.save(tmp_path / "meanings.json")
    read = MeaningBook.load(tmp_path / "meanings.json")
    assert read.texts == book.texts and read.words == book.words
    assert read.words.holding["face"] == 2
