"""A lexical field in a built segment and live levels (engine.field_segments), against one
field over the same rows."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import pytest

from engine.field_segments import SegmentedField, live_stem
from engine.lexical import FieldIndex, WordCounts
from engine.query_words import LoggedWords

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
LEVELS = (3, 9)  # rows 0-2 built, then live segments of rows 3-8 and 9


def _coverage_by_row(
    field: FieldIndex | SegmentedField, query: str, counted: Sequence[WordCounts] = ()
) -> dict[int, float]:
    hits = field.search(query, len(TEXTS), counted=counted)
    return dict(zip(hits.rows.tolist(), hits.coverage.tolist(), strict=True))


@pytest.fixture(scope="module")
def built_only() -> SegmentedField:
    return SegmentedField(FieldIndex(TEXTS))


@pytest.fixture(scope="module")
def segmented() -> SegmentedField:
    return SegmentedField(FieldIndex(TEXTS[:BUILT]), (FieldIndex(TEXTS[BUILT:]),))


@pytest.fixture(scope="module")
def levelled() -> SegmentedField:
    bounds = [*LEVELS, len(TEXTS)]
    live = tuple(FieldIndex(TEXTS[a:b]) for a, b in pairwise(bounds))
    return SegmentedField(FieldIndex(TEXTS[: LEVELS[0]]), live)


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
@pytest.mark.parametrize("split_into", ["built_only", "segmented", "levelled"])
@pytest.mark.parametrize("counted", [(), (LoggedWords(20, {"sleepy": 12, "happy": 3}),)])
def test_segments_weigh_words_as_one_field_over_all_rows(
    split_into: str, counted: Sequence[WordCounts], query: str, request: pytest.FixtureRequest
) -> None:
    """With the query log's counts too (engine.query_words), whichever segments they meet."""
    whole = _coverage_by_row(FieldIndex(TEXTS), query, counted)
    split = _coverage_by_row(request.getfixturevalue(split_into), query, counted)
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
    assert len(loaded.live) == 1 and len(loaded) == len(TEXTS)
    for query in ("sleepy cat", "rocket"):
        assert _coverage_by_row(loaded, query) == _coverage_by_row(segmented, query)
    SegmentedField(FieldIndex(TEXTS)).save(tmp_path / "lexical-title")
    assert SegmentedField.load(tmp_path / "lexical-title").live == ()


def test_every_level_is_saved_and_the_first_where_format_6_kept_its_live_segment(
    levelled: SegmentedField, tmp_path: Path
) -> None:
    stem = tmp_path / "lexical-meaning"
    levelled.save(stem)
    assert live_stem(stem, 0).name == "lexical-meaning-live"  # an older index's one live segment
    loaded = SegmentedField.load(stem)
    assert [len(s) for s in loaded.live] == [6, 1]
    assert _coverage_by_row(loaded, "happy rocket") == _coverage_by_row(levelled, "happy rocket")


def test_live_segments_start_after_the_ones_before(levelled: SegmentedField) -> None:
    assert levelled.live_starts() == list(LEVELS)
    assert SegmentedField(FieldIndex(TEXTS)).live_starts() == []


@pytest.mark.parametrize(
    ("adding", "start"),
    [
        (0, 10),  # nothing added: nothing merged
        (1, 9),  # 1 row merges with the newest (1 row): 2 rows, under half the one before (6)
        (2, 3),  # 2 rows merge with the newest: 3 rows, half the one before, so with it too
        (100, 3),  # never with the built rows
    ],
)
def test_new_rows_merge_with_the_newest_levels_while_at_least_half_the_one_before(
    levelled: SegmentedField, adding: int, start: int
) -> None:
    assert levelled.merge_start(adding) == start


def test_a_growth_of_a_field_with_no_live_rows_makes_its_first_level() -> None:
    field = SegmentedField(FieldIndex(TEXTS))
    assert field.merge_start(5) == len(TEXTS)
    assert field.kept_before(len(TEXTS)).live == ()


def test_the_segments_before_a_merge_are_kept(levelled: SegmentedField) -> None:
    kept = levelled.kept_before(9)
    assert kept.built is levelled.built and kept.live == levelled.live[:1]
    assert levelled.kept_before(3).live == ()
