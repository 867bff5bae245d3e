"""Lexical recall (bm25s + coverage) and dense recall (hnswlib) against exact answers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import dense as dense_module
from engine.completion import COMPLETION_CREDIT
from engine.dense import DenseIndex
from engine.encoders import l2_normalise
from engine.lexical import FieldIndex, WordCounts, _union
from engine.query_words import LoggedWords
from engine.tokens import tokenize


def _idf(n: int, df: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


# -- lexical ------------------------------------------------------------------------------------

DOCS = ["sleepy cat", "sleepy", "cat", "happy dog", "dog park", ""]


@pytest.fixture(scope="module")
def field() -> FieldIndex:
    return FieldIndex(DOCS)


def test_indexing_leaves_no_document_in_the_query_cache() -> None:
    """The token cache is for queries: a large catalog's texts must not stay in it."""
    tokenize.cache_clear()
    field = FieldIndex(["many words of a caption", "another caption"])
    assert tokenize.cache_info().currsize == 0
    field.search("caption", 5)
    field.search("caption", 5)
    # tokenised once, then read from the cache
    assert (tokenize.cache_info().currsize, tokenize.cache_info().misses) == (1, 1)
    assert tokenize.cache_info().hits > 0


def _coverage_by_row(
    field: FieldIndex, query: str, counted: Sequence[WordCounts] = ()
) -> dict[int, float]:
    hits = field.search(query, 10, counted=counted)
    return dict(zip(hits.rows.tolist(), hits.coverage.tolist(), strict=True))


def test_full_match_covers_the_whole_query(field: FieldIndex) -> None:
    hits = field.search("Sleepy CAT", 10)
    assert hits.rows[0] == 0
    assert hits.coverage[0] == pytest.approx(1.0)
    assert (hits.bm25 > 0).all()
    assert hits.bm25.tolist() == sorted(hits.bm25.tolist(), reverse=True)


def test_partial_match_covers_its_idf_share(field: FieldIndex) -> None:
    by_row = _coverage_by_row(field, "sleepy cat")
    # 'sleepy' and 'cat' each occur in two documents: equal idf, so one of them is half
    assert by_row[1] == pytest.approx(0.5)
    assert by_row[2] == pytest.approx(0.5)
    assert set(by_row) == {0, 1, 2}


def test_coverage_weighs_rare_words_more(field: FieldIndex) -> None:
    by_row = _coverage_by_row(field, "sleepy park")
    n = len(DOCS)
    sleepy, park = _idf(n, 2), _idf(n, 1)
    assert by_row[1] == pytest.approx(sleepy / (sleepy + park))
    assert by_row[4] == pytest.approx(park / (sleepy + park))
    assert by_row[4] > 0.5 > by_row[1]


def test_unknown_words_count_against_coverage(field: FieldIndex) -> None:
    hits = field.search("sleepy zebra", 10)
    n = len(DOCS)
    unseen = math.log(1 + (n + 0.5) / 0.5)
    assert set(hits.rows.tolist()) == {0, 1}
    expected = _idf(n, 2) / (_idf(n, 2) + unseen)
    np.testing.assert_allclose(hits.coverage, expected)


def test_words_of_many_logged_queries_weigh_less() -> None:
    """The query log's queries count in the idf as rows: "one" typed in 40 of 100 past
    queries ("the spy one", "a cat one") says little, though one caption of two holds it."""
    field = FieldIndex(["one o'clock", "spy"])
    plain = _coverage_by_row(field, "the spy one")
    assert plain[0] == pytest.approx(plain[1])  # "one" and "spy" are each one row of two
    logged = LoggedWords(100, {"the": 50, "one": 40, "spy": 1})
    by_row = _coverage_by_row(field, "the spy one", [logged])
    the, one, spy = _idf(102, 50), _idf(102, 41), _idf(102, 2)
    assert by_row[1] == pytest.approx(spy / (the + one + spy))
    assert by_row[0] == pytest.approx(one / (the + one + spy))
    assert by_row[1] > 2 * by_row[0]


def test_a_words_focus_scales_its_idf_held_or_not() -> None:
    field = FieldIndex(["one o'clock", "spy"])
    hits = field.search("the spy one", 10, focus={"the": 0.1, "one": 0.2})
    by_row = dict(zip(hits.rows.tolist(), hits.coverage.tolist(), strict=True))
    the, one, spy = 0.1 * _idf(2, 0), 0.2 * _idf(2, 1), _idf(2, 1)
    assert by_row[1] == pytest.approx(spy / (the + one + spy))
    assert by_row[0] == pytest.approx(one / (the + one + spy))


@pytest.mark.parametrize("query", ["zebra", "zebra giraffe", "", "   ", "!!!"])
def test_unknown_tokens_give_no_hits(field: FieldIndex, query: str) -> None:
    assert len(field.search(query, 10)) == 0


def test_k_limits_hits_and_repeated_words_change_nothing(field: FieldIndex) -> None:
    assert len(field.search("sleepy cat dog", 2)) == 2
    once = field.search("cat", 10)
    twice = field.search("cat cat", 10)
    np.testing.assert_array_equal(once.rows, twice.rows)
    np.testing.assert_array_equal(once.coverage, twice.coverage)


def test_rows_sharing_a_text_share_one_document() -> None:
    texts = ["red heart", "red heart", "cat", "red heart", "cat"]
    field = FieldIndex(texts)
    assert len(field) == 5 and field.documents == 2
    hits = field.search("heart", 10)
    assert hits.rows.tolist() == [0, 1, 3]
    assert len(set(hits.bm25.tolist())) == len(set(hits.coverage.tolist())) == 1  # one document


def test_k_can_stop_inside_a_shared_document() -> None:
    field = FieldIndex(["cat", "red heart", "red heart", "heart", "red heart"])
    hits = field.search("red heart", 3)  # the "red heart" rows first, then the "heart" row
    assert hits.rows.tolist() == [1, 2, 4]
    assert field.search("red heart", 4).rows.tolist() == [1, 2, 4, 3]
    assert field.search("red heart", 2).rows.tolist() == [1, 2]


def test_shared_documents_keep_row_level_idf_in_coverage() -> None:
    # 'heart' is on three rows and 'cat' on two, as if each row had its own document.
    field = FieldIndex(["red heart", "red heart", "cat", "red heart", "cat"])
    by_row = _coverage_by_row(field, "heart cat")
    heart, cat = _idf(5, 3), _idf(5, 2)
    assert by_row[0] == pytest.approx(heart / (heart + cat))
    assert by_row[2] == pytest.approx(cat / (heart + cat))


@given(
    st.lists(
        st.lists(st.sampled_from(["red", "heart", "cat", "sleepy", "猫"]), max_size=3).map(
            " ".join
        ),
        max_size=12,
    )
)
def test_row_frequency_counts_the_rows_holding_each_token(texts: list[str]) -> None:
    field = FieldIndex(texts)
    tokens = ["red", "heart", "cat", "sleepy", "猫", "zebra"]
    rows_holding = [sum(token in tokenize(text) for text in texts) for token in tokens]
    assert field.row_frequency(tokens).tolist() == rows_holding


def test_a_loaded_field_counts_rows_per_token_as_the_built_one(tmp_path: Path) -> None:
    texts = ["red heart", "red heart", "cat", "", "red cat", "heart"]
    FieldIndex(texts).save(tmp_path / "field")
    loaded = FieldIndex.load(tmp_path / "field")
    assert loaded.row_frequency(["red", "heart", "cat", "dog"]).tolist() == [3, 3, 2, 0]


def test_priority_decides_which_rows_of_a_shared_text_come_first() -> None:
    field = FieldIndex(["fire", "fire", "fire", "fire"], priority=np.array([0.1, 0.9, 0.5, 0.9]))
    assert field.search("fire", 3).rows.tolist() == [1, 3, 2]
    assert len(field.search("fire", 0)) == 0


def test_empty_corpus_and_empty_documents() -> None:
    empty = FieldIndex([])
    assert len(empty) == 0
    assert len(empty.search("anything", 10)) == 0
    blanks = FieldIndex(["", "", "cat"])
    assert blanks.search("cat", 10).rows.tolist() == [2]
    only_blank = FieldIndex(["", ""])
    assert len(only_blank.search("cat", 10)) == 0


@pytest.mark.parametrize(
    ("texts", "priority"),
    [
        (["sleepy cat", "", "cat", "sleepy cat", "chat endormi", "猫"], None),
        (["a b", "a b", "b c", "a b"], np.array([0.1, 0.9, 0.5, 0.9])),
        ([], None),
    ],
    ids=["mixed", "shared-with-priority", "empty"],
)
def test_a_saved_field_searches_as_the_built_one(
    tmp_path: Path, texts: list[str], priority: np.ndarray | None
) -> None:
    built = FieldIndex(texts, priority)
    built.save(tmp_path / "field")
    loaded = FieldIndex.load(tmp_path / "field")
    assert (len(loaded), loaded.documents, loaded.nbytes) == (
        len(built),
        built.documents,
        built.nbytes,
    )
    for query in ("sleepy cat", "cat", "a", "b c", "猫", "endormi", "zebra", ""):
        for k in (1, 2, 10):
            want, got = built.search(query, k), loaded.search(query, k)
            assert got.rows.tolist() == want.rows.tolist()
            assert got.bm25.tolist() == want.bm25.tolist()
            assert got.coverage.tolist() == want.coverage.tolist()


def test_single_character_cjk_words_are_searchable() -> None:
    index = FieldIndex(["猫が寝る", "犬が走る", "sleeping cat"])
    hits = index.search("猫", 10)
    assert hits.rows.tolist() == [0]
    assert hits.coverage[0] == pytest.approx(1.0)


def test_a_word_of_an_unspaced_script_beats_its_characters_apart() -> None:
    """ "ねこ" (cat) and "こね" (kneading) hold the same two kana: only the pair of
    neighbours tells the word that holds "ねこ", though the other document is shorter."""
    index = FieldIndex(["こね", "ねこです"])
    hits = index.search("ねこ", 10)
    assert hits.rows.tolist() == [1, 0]
    assert hits.coverage[0] == pytest.approx(1.0)
    assert hits.coverage[1] < 0.5


def test_accented_query_matches_unaccented_document() -> None:
    index = FieldIndex(["creme brulee", "cafe noir"])
    hits = index.search("Crème brûlée", 10)
    assert hits.rows.tolist() == [0]
    assert hits.coverage[0] == pytest.approx(1.0)


# -- dense --------------------------------------------------------------------------------------

DIM = 64
N_VECTORS = 2000
N_CLUSTERS = 20
N_QUERIES = 200
K = 10


def _clustered(rng: np.random.Generator, n: int, dim: int, clusters: int) -> np.ndarray:
    centres = rng.normal(size=(clusters, dim))
    labels = rng.integers(0, clusters, size=n)
    return l2_normalise(centres[labels] + 0.35 * rng.normal(size=(n, dim)))


def _brute_force(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    sims = queries @ vectors.T
    return np.argsort(-sims, axis=1)[:, :k]


def test_recall_at_10_against_brute_force() -> None:
    rng = np.random.default_rng(7)
    vectors = _clustered(rng, N_VECTORS, DIM, N_CLUSTERS)
    queries = _clustered(rng, N_QUERIES, DIM, N_CLUSTERS)
    index = DenseIndex(DIM, capacity=N_VECTORS)
    index.add(vectors, np.arange(N_VECTORS))
    assert len(index) == N_VECTORS
    truth = _brute_force(vectors, queries, K)
    found = 0
    for query, expected in zip(queries, truth, strict=True):
        rows, sims = index.search(query, K)
        assert len(rows) == K
        np.testing.assert_allclose(sims, vectors[rows] @ query, atol=1e-4)
        assert (np.diff(sims) <= 1e-6).all()  # best first
        found += len(set(rows.tolist()) & set(expected.tolist()))
    assert found / (N_QUERIES * K) >= 0.95
    # the batched search agrees with the single one
    many_rows, _ = index.search_many(queries[:20], K)
    assert (many_rows[:, 0] == truth[:20, 0]).mean() >= 0.95


def test_search_beyond_orders_by_closeness_beyond_the_typical_vector() -> None:
    rng = np.random.default_rng(11)
    vectors = _clustered(rng, N_VECTORS, DIM, N_CLUSTERS)
    typical = 0.5 * vectors[:200].mean(axis=0)  # a mean of unit vectors is shorter than one
    index = DenseIndex(DIM, capacity=N_VECTORS)
    index.add(vectors, np.arange(N_VECTORS))
    hits = 0
    for query in _clustered(rng, 20, DIM, N_CLUSTERS):
        expected = vectors @ query - vectors @ typical + 0.25
        rows, sims = index.search_beyond(query, typical, 0.25, K)
        np.testing.assert_allclose(sims, expected[rows], atol=1e-4)
        assert (np.diff(sims) <= 1e-6).all()  # best first, by the corrected value
        hits += len(set(rows.tolist()) & set(np.argsort(-expected)[:K].tolist()))
    assert hits / (20 * K) >= 0.95
    # the typical vector itself has nothing beyond it: plain cosine order
    rows, sims = index.search_beyond(typical, typical, 0.25, K)
    np.testing.assert_allclose(sims, vectors[rows] @ (typical / np.linalg.norm(typical)), atol=1e-4)


def test_add_grows_beyond_capacity() -> None:
    rng = np.random.default_rng(1)
    vectors = l2_normalise(rng.normal(size=(300, 16)))
    index = DenseIndex(16, capacity=16)
    for start in range(0, 300, 37):
        stop = min(start + 37, 300)
        index.add(vectors[start:stop], np.arange(start, stop))
    index.add(np.zeros((0, 16), np.float32), np.zeros(0, np.int64))  # nothing to add
    assert len(index) == 300
    for row in (0, 15, 16, 150, 299):
        rows, sims = index.search(vectors[row], 1)
        assert rows.tolist() == [row]
        assert sims[0] == pytest.approx(1.0, abs=1e-5)


def test_remove_hides_a_row_and_large_k_still_works() -> None:
    rng = np.random.default_rng(2)
    vectors = l2_normalise(rng.normal(size=(10, 8)))
    index = DenseIndex(8)
    index.add(vectors, np.arange(10))
    for row in (3, 4, 7):
        index.remove(row)
    assert len(index) == 7
    rows, sims = index.search(vectors[3], 50)
    assert sorted(rows.tolist()) == [0, 1, 2, 5, 6, 8, 9]
    assert len(sims) == 7
    rows, _ = index.search(vectors[4], 1)
    assert rows.tolist() != [4]


def test_empty_index_searches_to_nothing() -> None:
    index = DenseIndex(8)
    rows, sims = index.search(np.ones(8, np.float32) / np.sqrt(8), 10)
    assert rows.shape == (0,)
    assert sims.shape == (0,)
    index.add(l2_normalise(np.ones((1, 8))), np.array([0]))
    index.remove(0)
    rows, _ = index.search(np.ones(8, np.float32) / np.sqrt(8), 10)
    assert rows.shape == (0,)


def test_save_and_load_keep_rows_and_removals(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    vectors = l2_normalise(rng.normal(size=(20, 8)))
    index = DenseIndex(8)
    index.add(vectors, np.arange(100, 120))
    index.remove(105)
    index.save(tmp_path / "v.hnsw")
    loaded = DenseIndex.load(tmp_path / "v.hnsw", 8)
    rows, _ = loaded.search(vectors[0], 1)
    assert rows.tolist() == [100]
    # asking for more rows than remain must work after a reload as it does before
    rows, _ = loaded.search(vectors[5], 50)
    assert 105 not in rows.tolist()
    assert len(rows) == 19
    assert len(loaded) == len(index) == 19


def test_rows_added_after_a_save_are_saved_beside_a_link_to_the_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(4)
    vectors = l2_normalise(rng.normal(size=(30, 8)))
    index = DenseIndex(8)
    index.add(vectors[:20], np.arange(20))
    for folder in ("a", "b", "c", "d"):
        (tmp_path / folder).mkdir()
    index.save(tmp_path / "a" / "v.hnsw")
    index.add(vectors[20:23], np.arange(20, 23))
    index.save(tmp_path / "b" / "v.hnsw")
    inode = (tmp_path / "a" / "v.hnsw").stat().st_ino
    assert (tmp_path / "b" / "v.hnsw").stat().st_ino == inode  # the graph was not written again
    loaded = DenseIndex.load(tmp_path / "b" / "v.hnsw", 8)
    assert len(loaded) == 23
    assert loaded.search(vectors[21], 1)[0].tolist() == [21]  # added back from beside it
    loaded.add(vectors[23:], np.arange(23, 30))  # ten since the graph was written: too many
    monkeypatch.setattr(dense_module, "PENDING_MAX", 9)
    loaded.save(tmp_path / "c" / "v.hnsw")
    assert (tmp_path / "c" / "v.hnsw").stat().st_ino != inode
    assert not (tmp_path / "c" / "v.hnsw.pending.npz").exists()
    again = DenseIndex.load(tmp_path / "c" / "v.hnsw", 8)
    assert len(again) == 30 and again.search(vectors[29], 1)[0].tolist() == [29]
    again.add(vectors[:1], np.array([30]))
    again.remove(3)  # a removal is marked in the graph itself: written whole
    again.save(tmp_path / "d" / "v.hnsw")
    assert (tmp_path / "d" / "v.hnsw").stat().st_ino != (tmp_path / "c" / "v.hnsw").stat().st_ino
    assert 3 not in DenseIndex.load(tmp_path / "d" / "v.hnsw", 8).search(vectors[3], 5)[0]


# -- words still being typed ------------------------------------------------------------------


def test_a_partial_last_word_matches_the_words_it_starts() -> None:
    field = FieldIndex(["sleepy cat", "sleeve", "dog"])
    by_row = _coverage_by_row(field, "slee")
    assert set(by_row) == {0, 1}
    # the word is the whole query: a completion covers COMPLETION_CREDIT of it
    assert by_row[0] == pytest.approx(COMPLETION_CREDIT)
    assert by_row[1] == pytest.approx(COMPLETION_CREDIT)
    assert _coverage_by_row(field, "sleepy") == {0: pytest.approx(1.0)}


def test_a_finished_or_known_word_is_not_completed() -> None:
    field = FieldIndex(["love", "lovely", "sleepy"])
    assert set(_coverage_by_row(field, "love")) == {0}  # a word of its own
    assert _coverage_by_row(field, "slee ") == {}  # a space after it: done typing
    assert _coverage_by_row(field, "sle") == {}  # too short to complete


def test_a_completed_word_counts_once_at_its_commonest_completions_idf() -> None:
    docs = ["cat sleep sleeping", "cat sleeve", "cat sleep", "dog"]
    field = FieldIndex(docs)
    by_row = _coverage_by_row(field, "cat slee")
    cat, sleep, sleeve = _idf(4, 3), _idf(4, 2), _idf(4, 1)
    commonest = min(sleep, sleeve)
    total = cat + commonest
    expected = (cat + COMPLETION_CREDIT * commonest) / total
    # two completions in one document count once; a rarer completion counts no more
    assert by_row[0] == pytest.approx(expected)
    assert by_row[1] == pytest.approx(expected)
    assert by_row[2] == pytest.approx(expected)
    assert 3 not in by_row


def test_a_saved_field_completes_as_the_built_one(tmp_path: Path) -> None:
    field = FieldIndex(["sleepy cat", "sleeve", "dog"])
    field.save(tmp_path / "meaning")
    loaded = FieldIndex.load(tmp_path / "meaning")
    assert _coverage_by_row(loaded, "slee") == _coverage_by_row(field, "slee")


@given(st.lists(st.sets(st.integers(0, 60), max_size=40), min_size=2, max_size=5))
def test_posting_lists_united_as_np_unique_unites_them(lists: list[set[int]]) -> None:
    docs = np.concatenate([np.array(sorted(ids), np.int32) for ids in lists])
    found, position = _union(docs)
    expected, inverse = np.unique(docs, return_inverse=True)
    np.testing.assert_array_equal(found, expected)
    np.testing.assert_array_equal(position, inverse)
