"""The scale benchmark runs end to end at a tiny size, and timing recall does not change it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from engine.bench.scale import MODE_FAKE, ScaleConfig, Stopwatch, format_table, run_scale
from engine.bench.synthetic import GROWTH_PACK, FakeTextEncoder, Vocabulary, generate_catalog
from engine.build import index_records
from engine.config import EngineConfig
from engine.emoji import EmojiKeywords
from engine.encoders import l2_normalise
from engine.engine import Engine
from engine.recall import recall_text

TINY = ScaleConfig(stickers=2_000, queries=40, users=10, fake_vectors=True)
PERCENTILES = ("p50", "p95", "p99")


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary(EmojiKeywords.load())


async def test_run_scale_reports_latency_and_memory() -> None:
    results = await run_scale(TINY)
    assert results["mode"] == MODE_FAKE
    # What a run is compared by: when, on what machine, and with which versions.
    assert results["date"] and results["machine"]["cores"] >= 1
    assert results["versions"]["onnxruntime"] == ort.__version__
    assert results["stickers"] == TINY.stickers
    total = results["suggest_ms"]["all"]
    assert total["count"] == TINY.queries
    assert all(total[p] > 0 for p in PERCENTILES)
    assert total["p50"] <= total["p99"]
    stages = ("encode_start", "lexical_meaning", "encode_wait", "dense", "crowd", "fuse_share")
    for stage in (*stages, "rank"):
        assert results["stages_ms"][stage]["count"] > 0
    assert results["memory"]["peak_rss_mb"] > 0
    assert results["build_peak_rss_mb"] > 0
    growth = results["growth"]  # a pack added live, timed after the queries
    assert growth["stickers"] == GROWTH_PACK and growth["seconds"] > 0
    assert growth["peak_rss_mb"] >= growth["rss_after_mb"] > 0
    assert results["memory"]["structures_mb"]["mapped_text"] > 0  # served from disk
    assert results["observe_ms"]["events"] > 0
    assert {"dense_hnsw", "meaning_neighbours", "lexical_emoji"} <= set(results["build"])
    # The machine's speed, timed around the queries, so other hours' runs can be compared.
    assert 0 < results["reference_ms"]["start"] < 1000 and results["reference_ms"]["end"] > 0
    table = format_table(results)
    assert "suggest[all]" in table and "serving (a fresh process)" in table
    assert "reference workload" in table
    # The slowest queries, with what else they cost the process, to tell their cause apart.
    slowest = results["query_costs"]["slowest"]
    assert slowest and [q["wall_ms"] for q in slowest] == sorted(
        (q["wall_ms"] for q in slowest), reverse=True
    )
    assert slowest[0]["wall_ms"] == pytest.approx(total["max"], abs=0.002)
    assert "slowest queries" in table


def test_catalog_has_packs_duplicates_and_languages(vocab: Vocabulary) -> None:
    catalog = generate_catalog(TINY.stickers, vocab, seed=1)
    records = catalog.records
    assert len(records) == TINY.stickers
    assert catalog.style_raw.shape[0] == TINY.stickers
    sizes = np.bincount(catalog.pack_of_row)
    assert sizes[:-1].min() >= 30 and sizes.max() <= 120  # the last pack is cut to size
    meanings = [(r.caption, r.ocr, r.emoji) for r in records]
    repeated = 1 - len(set(meanings)) / len(meanings)
    assert 0.15 < repeated < 0.45
    assert len(set(catalog.pack_language)) > 5


def test_fake_vectors_are_unit_deterministic_and_clustered() -> None:
    encoder = FakeTextEncoder(seed=3)
    vectors = encoder.encode_text(["chat qui pleure", "chat qui pleure", "sleepy cat"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(vectors[0], vectors[1])
    many = encoder.encode_text([f"caption {i}" for i in range(2_000)])
    sims = l2_normalise(many) @ l2_normalise(many).T
    off_diagonal = sims[~np.eye(len(many), dtype=bool)]
    assert off_diagonal.max() > 0.3  # texts of one topic meet
    assert (off_diagonal > 0.85).mean() < 0.001  # distinct texts are not "the same meaning"


async def test_timed_recall_is_the_engines_recall(tmp_path: Path, vocab: Vocabulary) -> None:
    engine = await Engine.open(tmp_path, text_encoder=FakeTextEncoder())
    try:
        catalog = generate_catalog(500, vocab, seed=2)
        index = index_records(catalog.records, catalog.style_raw, engine._encoders)
        depth = EngineConfig().recall_depth
        for text in ("cat", "😂 lol", "累", catalog.records[0].caption or "x"):
            vector = engine._encoders.text.encode_text([text])[0]
            watch = Stopwatch()
            timed = recall_text(index, engine._crowd, text, vector, depth, timer=watch.step)
            untimed = recall_text(index, engine._crowd, text, vector, depth)
            assert timed.as_evidence() == untimed.as_evidence()
            assert {"lexical_emoji", "dense", "crowd", "fuse_share", "consensus"} <= set(watch.cpu)
    finally:
        await engine.close()
