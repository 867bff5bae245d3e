"""A lexical field in a built and a live segment (engine.field_segments), against one field
over the same rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.field_segments import SegmentedField
from engine.lexical import FieldIndex

TEXTS = [
    "sleepy cat",
    "sleepy",
    "cat on a mat",
    "happy dog",
    "dog park",
    "",
    "sleepy dog",
    "rocket launch",
    "happy rocket",
    "parking lot",
]
BUILT = 6  # rows 0-5 built, 6-9 added live


def _coverage_by_row(field: FieldIndex | SegmentedField, query: str) -> dict[int, float]:
    hits = field.search(query, len(TEXTS))
    return dict(zip(hits.rows.tolist(), hits.coverage.tolist(), strict=True))


@pytest.fixture(scope="module")
def segmented() -> SegmentedField:
    return SegmentedField(FieldIndex(TEXTS[:BUILT]), FieldIndex(TEXTS[BUILT:]))


@pytest.mark.parametrize(
    "query",
    [
        "sleepy cat",
        "rocket",
        "happy dog",
        "dog zebra",
        "rocket mat",
        "sleepy rock",  # completed in the live segment only
        "happy slee",  # completed in both
        "happy park",  # a whole word in the built segment: the live one does not complete it
        "mat",
    ],
)
def test_two_segments_weigh_words_as_one_field_over_all_rows(
    segmented: SegmentedField, query: str
) -> None:
    whole = _coverage_by_row(FieldIndex(TEXTS), query)
    split = _coverage_by_row(segmented, query)
    assert split.keys() == whole.keys()
    for row, coverage in whole.items():
        assert split[row] == pytest.approx(coverage), row


def test_live_rows_are_numbered_after_the_built_ones(segmented: SegmentedField) -> None:
    assert len(segmented) == len(TEXTS)
    assert set(segmented.search("rocket", 5).rows.tolist()) == {7, 8}
    assert segmented.search("rock", 5).completed  # "rocket" is only in the live segment


def test_both_segments_are_saved_and_loaded(segmented: SegmentedField, tmp_path: Path) -> None:
    segmented.save(tmp_path / "lexical-meaning")
    loaded = SegmentedField.load(tmp_path / "lexical-meaning")
    assert loaded.live is not None and len(loaded) == len(TEXTS)
    for query in ("sleepy cat", "rocket"):
        assert _coverage_by_row(loaded, query) == _coverage_by_row(segmented, query)
    SegmentedField(FieldIndex(TEXTS)).save(tmp_path / "lexical-title")
    assert SegmentedField.load(tmp_path / "lexical-title").live is None
