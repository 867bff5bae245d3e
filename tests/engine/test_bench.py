"""Our metrics against the reference scorer, and the runner's registry, percentiles and report."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from engine.bench.metrics import NEW_WORDS, TYPED_BEFORE, score_by_words, score_run
from engine.bench.protocol import (
    load_judged,
    run_protocol,
    typed_so_far,
    write_run,
)
from engine.bench.report import format_table, write_chart
from engine.bench.runner import load_baselines, percentile
from engine.bench.stickerbot_ranker import StickerbotRanker
from engine.catalog import HistoryRow, QueryRow
from engine.demo import DEMO_DIR
from engine.errors import CatalogError
from engine.types import StickerRecord
from tests.engine.conftest import PngMaker

# The benchmark's reference scorer: beside the checkout, as CI has it, or wherever
# STICKERBOT_REFERENCE_SCORER says (a checkout elsewhere).
REFERENCE = Path(
    os.environ.get("STICKERBOT_REFERENCE_SCORER")
    or Path(__file__).resolve().parents[2].parent / "shared" / "bench" / "score.py"
)
SEEDS = range(5)
DEPTH = 50  # results a run keeps per query (FORMAT.md)


def reference_json(dataset: Path, run: Path) -> str:
    if not REFERENCE.is_file():
        # CI always has the shared folder beside the checkout: there a missing scorer is a
        # failure, never a silently skipped comparison.
        if os.environ.get("CI"):
            pytest.fail(f"reference scorer not found at {REFERENCE}")
        pytest.skip(f"reference scorer not found at {REFERENCE}")
    done = subprocess.run(
        [sys.executable, str(REFERENCE), str(dataset), str(run), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def synthetic_run(dataset: Path, seed: int) -> dict[str, list[str]]:
    """Shuffled catalogs with some relevant stickers pulled forward, one query left out."""
    rng = random.Random(seed)
    ids = [
        json.loads(line)["sticker_id"]
        for line in (dataset / "catalog.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    queries = load_judged(dataset).queries
    run = {}
    for query in queries[1:]:  # the first is missing: `missing_queries` must agree too
        ranking = rng.sample(ids, len(ids))[:DEPTH]
        for sticker in rng.sample(sorted(query["relevant"]), rng.randint(0, 2)):
            if sticker in ranking:
                ranking.remove(sticker)
            ranking.insert(rng.randrange(12), sticker)
        run[query["qid"]] = ranking[: rng.choice([3, DEPTH])]
    return run


@pytest.mark.parametrize("seed", SEEDS)
def test_score_run_matches_the_reference_scorer(tmp_path: Path, seed: int) -> None:
    run = synthetic_run(DEMO_DIR, seed)
    path = tmp_path / "run.jsonl"
    write_run(run, path)
    queries, warm, _ = load_judged(DEMO_DIR)

    ours = score_run(queries, warm, run)

    # Same numbers, same keys, same order: the printed JSON is identical text.
    assert json.dumps(ours) == reference_json(DEMO_DIR, path)


def test_missing_and_failing_baselines_are_reported_not_raised() -> None:
    registry = {
        "persrv": ("engine.bench.baselines.persrv", "PerSRVRanker"),
        "ghost": ("engine.bench.baselines.no_such_module", "Ghost"),
        "nameless": ("engine.bench.baselines.persrv", "NoSuchClass"),
    }

    found, unavailable = load_baselines(registry)

    assert set(found) == {"persrv"}
    assert set(unavailable) == {"ghost", "nameless"}


def test_percentile_is_a_latency_that_happened() -> None:
    values = [float(v) for v in range(1, 101)]

    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) == 0.0


RESULTS = {
    "dataset_name": "tiny",
    "dataset": "/data/tiny",
    "unavailable": {"ghost": "cannot import"},
    "rankers": {
        "stickerbot": {
            "metrics": {
                "all": {"ndcg@10": 0.5, "mrr@10": 0.7, "recall@10": 0.4, "style@5": 0.3, "n": 4},
                "cold": {"ndcg@10": 0.2, "mrr@10": 0.1, "recall@10": 0.1, "n": 1},
                "lang:fr": {"ndcg@10": 0.1, "mrr@10": 0.1, "recall@10": 0.1, "n": 1},
                "missing_queries": 0,
            },
            "seconds": {"build": 1.5, "replay": 0.5, "answer": 0.25},
            "latency_ms": {"p50": 3.0, "p99": 9.0},
            "skipped_events": 2,
        },
    },
}


def test_table_orders_segments_and_marks_absent_metrics() -> None:
    table = format_table(RESULTS)
    lines = table.splitlines()

    segments = [
        line.split()[0]
        for line in lines
        if line.split() and line.split()[0] in {"all", "warm", "cold", "lang:fr"}
    ]
    assert segments == ["all", "cold", "lang:fr"]
    cold = next(line for line in lines if line.startswith("cold"))
    assert cold.split()[-2] == "-"  # no style@5 without history
    assert "unavailable: ghost" in table


def test_chart_is_a_png(tmp_path: Path) -> None:
    out = tmp_path / "charts" / "chart.png"

    write_chart([RESULTS, RESULTS | {"dataset_name": "again"}], out)

    assert out.read_bytes().startswith(b"\x89PNG")


def test_typing_shows_part_of_the_last_word() -> None:
    assert typed_so_far("sleepy") == "slee"  # 60% of 6 letters, rounded up
    assert typed_so_far("good  nightfall ") == "good  nightf"
    assert typed_so_far("extraordinary") == "extraord"
    assert typed_so_far("sleep") == "slee"  # 3 letters, but at least PREFIX_MIN
    assert typed_so_far("cat") is None  # too short to be cut
    assert typed_so_far("good game") is None  # "game" is no longer than PREFIX_MIN
    assert typed_so_far("   ") is None


class RecordingRanker:
    """A ranker that answers every query with the text it was asked, to see what it was asked."""

    name = "recording"

    async def build(self, records: list[StickerRecord]) -> None:
        self.asked: list[str] = []
        self.blas_threads = {"build": blas_threads()}

    async def replay(self, row: HistoryRow) -> None:
        """The test's history is empty: nothing reaches here."""

    async def answer(self, query: QueryRow) -> list[str]:
        self.asked.append(query.text)
        self.blas_threads["answer"] = blas_threads()
        return [query.text]


def write_queries_only(folder: Path, texts: dict[str, str]) -> None:
    """A dataset of one sticker without a file, no history, and queries (qid -> text) by one
    user."""
    (folder / "catalog.jsonl").write_text('{"sticker_id": "s", "set": "p"}\n', encoding="utf-8")
    (folder / "history.jsonl").write_text("", encoding="utf-8")
    queries = [
        {"qid": qid, "user_id": "u", "ts": 1, "lang": "en", "text": text, "relevant": {"s": 1}}
        for qid, text in texts.items()
    ]
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps(q) + "\n" for q in queries), encoding="utf-8"
    )


def blas_threads() -> int:
    return max(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")


async def test_the_protocol_answers_each_cuttable_query_again_half_typed(tmp_path: Path) -> None:
    texts = {"q0": "sleepy", "q1": "cat", "q2": "happy birthday"}
    write_queries_only(tmp_path, texts)
    ranker = RecordingRanker()
    result = await run_protocol(ranker, tmp_path)
    assert result.rankings == {qid: [text] for qid, text in texts.items()}
    assert result.typing == {"q0": ["slee"], "q2": ["happy birth"]}
    assert ranker.asked == [*texts.values(), "slee", "happy birth"]


async def test_queries_are_answered_with_one_blas_thread_as_serve_answers(
    tmp_path: Path,
) -> None:
    write_queries_only(tmp_path, {"q": "hi"})
    ranker = RecordingRanker()
    with threadpool_limits(limits=2, user_api="blas"):
        await run_protocol(ranker, tmp_path)
        after = blas_threads()
    assert ranker.blas_threads == {"build": 2, "answer": 1}
    assert after == 2  # the limit is the run's, not the process's


def test_table_shows_the_half_typed_figures_when_measured() -> None:
    assert "as you type" not in format_table(RESULTS)
    typing = {"all": {"ndcg@10": 0.25, "mrr@10": 0.5, "recall@10": 0.2, "style@5": 0.1, "n": 3}}
    measured = json.loads(json.dumps(RESULTS))
    measured["rankers"]["stickerbot"]["typing"] = typing
    lines = format_table(measured).splitlines()
    heading = next(i for i, line in enumerate(lines) if line.startswith("as you type"))
    assert lines[heading + 2].split() == ["stickerbot", "0.250", "0.500", "0.200", "0.100", "3"]


def test_queries_split_by_whether_their_words_led_to_a_right_pick_before() -> None:
    queries = [
        {
            "qid": "q1",
            "user_id": "u1",
            "lang": "en",
            "text": " Sleepy",
            "relevant": {"a": 2, "b": 1},
        },
        {"qid": "q2", "user_id": "u1", "lang": "en", "text": "pizza", "relevant": {"c": 1}},
        {"qid": "q3", "user_id": "u2", "lang": "fr", "text": "chat", "relevant": {"d": 1}},
    ]
    run = {"q1": ["b", "a"], "q2": ["c"], "q3": ["x", "d"]}
    # "pizza" was typed before, but the pick after it was not one of its right answers
    picked = {"sleepy": {"a"}, "pizza": {"x"}}

    split = score_by_words(queries, {"u1"}, run, picked)

    assert split[TYPED_BEFORE] == score_run(queries[:1], {"u1"}, run)["all"]
    assert split[NEW_WORDS] == score_run(queries[1:], {"u1"}, run)["all"]
    assert (split[TYPED_BEFORE]["n"], split[NEW_WORDS]["n"]) == (1, 2)
    assert split[NEW_WORDS]["mrr@10"] == 0.75


def test_judgements_read_the_picks_and_users_of_the_history(tmp_path: Path) -> None:
    rows = [
        {"user_id": "u", "ts": 1, "event": "pick", "sticker_id": "a", "query": "Good  Night"},
        {"user_id": "u", "ts": 2, "event": "send", "sticker_id": "b", "query": None},
        {"user_id": "v", "ts": 3, "event": "pick", "sticker_id": "c", "query": "good night"},
    ]
    (tmp_path / "history.jsonl").write_text("\n".join(map(json.dumps, rows)) + "\n")
    query = {"qid": "q", "user_id": "u", "ts": 4, "text": "night", "relevant": {"a": 2}}
    (tmp_path / "queries.jsonl").write_text(json.dumps(query) + "\n")

    judged = load_judged(tmp_path)

    assert judged.picked_after == {"good night": {"a", "c"}}
    assert judged.warm == {"u", "v"}


async def test_a_dataset_without_stickers_or_queries_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    write_queries_only(tmp_path, {"q": "hi"})
    (tmp_path / "catalog.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"catalog\.jsonl holds no stickers; a benchmark"):
        await run_protocol(RecordingRanker(), tmp_path)
    (tmp_path / "queries.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"queries\.jsonl holds no queries; a benchmark"):
        load_judged(tmp_path)


def test_table_shows_typed_before_and_new_words_when_measured() -> None:
    assert "by words" not in format_table(RESULTS)
    row = {"ndcg@10": 0.9, "mrr@10": 1.0, "recall@10": 0.8, "style@5": 0.7, "n": 4}
    measured = json.loads(json.dumps(RESULTS))
    measured["rankers"]["stickerbot"]["by_words"] = {TYPED_BEFORE: row, NEW_WORDS: {**row, "n": 2}}
    lines = format_table(measured).splitlines()
    heading = next(i for i, line in enumerate(lines) if line.startswith("by words"))
    assert lines[heading + 2].split()[-6:] == [
        "stickerbot",
        "0.900",
        "1.000",
        "0.800",
        "0.700",
        "4",
    ]
    assert lines[heading + 2].startswith(TYPED_BEFORE)
    assert lines[heading + 3].startswith(NEW_WORDS) and lines[heading + 3].endswith("2")


async def test_stickerbot_is_told_each_querys_language_as_its_app_language(
    tmp_path: Path, png: PngMaker
) -> None:
    """ "pain" is bread in French (🍞) and pain in English (🥲): for users with no history, the
    query's `lang` decides, as Telegram's language_code does in the inline handler."""
    ranker = StickerbotRanker(tmp_path / "data")
    await ranker.build(
        [
            StickerRecord("bread", "bakery", emoji="🍞", path=str(png("flat", 6, 5))),
            StickerRecord("tear", "bakery", emoji="🥲", path=str(png("flat", 7, 5))),
        ]
    )
    try:
        in_french = await ranker.answer(QueryRow("q1", "amelie", 1.0, "fr", "pain"))
        in_english = await ranker.answer(QueryRow("q2", "john", 1.0, "en", "pain"))
    finally:
        await ranker.close()
    assert (in_french[0], in_english[0]) == ("bread", "tear")
