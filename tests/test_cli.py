"""The `stickerbot` command end to end on tiny datasets: output, files and one-line errors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from bot.cli import app
from bot.cli_support import EXIT_BAD_INPUT, EXIT_FAILURE, fail
from engine import demo, index_files
from engine.bench import padded as padded_module
from engine.emoji import EmojiKeywords
from engine.engine import Engine
from engine.errors import IndexMismatch
from tests.media_files import write_tgs, write_webm

SIZE = 64
# Two packs in two looks (filled discs, outlined squares) drawing the same three concepts.
PACKS = {"round": ((230, 60, 60), "disc"), "square": ((40, 90, 220), "square")}
CONCEPTS = {"cat": "🐱", "pizza": "🍕", "rocket": "🚀"}


def draw(path: Path, colour: tuple[int, int, int], shape: str, shade: int) -> None:
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    fill = tuple(min(255, c + shade) for c in colour)
    if shape == "disc":
        pen.ellipse((4, 4, SIZE - 4, SIZE - 4), fill=fill)
    else:
        pen.rectangle((6, 6, SIZE - 6, SIZE - 6), outline=(0, 0, 0), width=4, fill=fill)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def make_dataset(root: Path) -> Path:
    """6 stickers, one user who sends round stickers, one without history, 3 judged queries."""
    catalog = []
    for pack, (colour, shape) in PACKS.items():
        for shade, (concept, emoji) in enumerate(CONCEPTS.items()):
            sticker_id = f"{pack}-{concept}"
            file = f"stickers/{pack}/{sticker_id}.png"
            draw(root / file, colour, shape, shade * 10)
            catalog.append(
                {
                    "sticker_id": sticker_id,
                    "set": pack,
                    "file": file,
                    "emoji": emoji,
                    "caption": concept,
                    "ocr": None,
                }
            )
    write_jsonl(root / "catalog.jsonl", catalog)
    history = [
        {
            "user_id": "ann",
            "ts": 1_700_000_000 + i,
            "event": "send",
            "sticker_id": f"round-{c}",
            "query": None,
            "context": None,
        }
        for i, c in enumerate(["cat", "pizza", "rocket", "cat"])
    ]
    write_jsonl(root / "history.jsonl", history)
    queries = [
        {
            "qid": "q1",
            "user_id": "ann",
            "ts": 1_700_000_100,
            "lang": "en",
            "text": "cat",
            "relevant": {"round-cat": 2, "square-cat": 1},
        },
        {
            "qid": "q2",
            "user_id": "ben",
            "ts": 1_700_000_200,
            "lang": "en",
            "text": "pizza",
            "relevant": {"round-pizza": 1, "square-pizza": 1},
        },
        {
            "qid": "q3",
            "user_id": "ann",
            "ts": 1_700_000_300,
            "lang": "fr",
            "text": "fusée",
            "relevant": {"round-rocket": 2, "square-rocket": 1},
        },
    ]
    write_jsonl(root / "queries.jsonl", queries)
    return root


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "tiny")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def caption_with_names(dataset: Path, every: str | None = None) -> None:
    """Captions that are CLDR English names, as the development sets' are: each concept's, or
    `every` for all stickers."""
    names = {"cat": "cat face", "pizza": "pizza", "rocket": "rocket"}
    catalog = read_jsonl(dataset / "catalog.jsonl")
    captioned = [{**r, "caption": every or names[r["caption"]]} for r in catalog]
    write_jsonl(dataset / "catalog.jsonl", captioned)


def assert_bench_reads(runner: CliRunner, folder: Path, tmp_path: Path) -> None:
    args = ["bench", str(folder), "--no-baselines", "--run-out", str(tmp_path / "r.jsonl")]
    assert runner.invoke(app, args).exit_code == 0


def assert_one_line_error(output: str) -> None:
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: ")


def test_build_indexes_and_counts_skipped(runner: CliRunner, dataset: Path, tmp_path: Path) -> None:
    (dataset / "stickers" / "broken.png").write_bytes(b"not an image")
    with (dataset / "catalog.jsonl").open("a", encoding="utf-8") as catalog:
        catalog.write(
            json.dumps({"sticker_id": "broken", "set": "round", "file": "stickers/broken.png"})
            + "\n"
        )

    result = runner.invoke(app, ["build", str(dataset), "--data", str(tmp_path / "data")])

    assert result.exit_code == 0, result.output
    assert "Indexed 6 stickers" in result.stdout
    assert "Skipped 1:" in result.stdout


def test_bench_indexes_animated_stickers_of_a_catalog(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    """FORMAT.md's files may be TGS or WEBM too: they are decoded, indexed and suggested."""
    animated = {"round-cat": write_tgs, "square-pizza": write_webm}
    catalog = read_jsonl(dataset / "catalog.jsonl")
    for row in catalog:
        if row["sticker_id"] in animated:
            suffix = ".tgs" if animated[row["sticker_id"]] is write_tgs else ".webm"
            row["file"] = str(Path(row["file"]).with_suffix(suffix))
            animated[row["sticker_id"]](dataset / row["file"])
    write_jsonl(dataset / "catalog.jsonl", catalog)
    run = tmp_path / "run.jsonl"

    args = ["bench", str(dataset), "--no-baselines", "--run-out", str(run), "--json"]
    result = runner.invoke(app, [*args, "--results", str(tmp_path / "results.json")])

    assert result.exit_code == 0, result.output
    rankings = {row["qid"]: row["ranking"] for row in read_jsonl(run)}
    assert "round-cat" in rankings["q1"] and "square-pizza" in rankings["q2"]
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["rankers"]["stickerbot"]["skipped_stickers"] == {}


def test_bench_counts_the_stickers_it_could_not_index(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    (dataset / "stickers" / "broken.png").write_bytes(b"not an image")
    catalog = read_jsonl(dataset / "catalog.jsonl")
    broken = {**catalog[0], "sticker_id": "broken", "file": "stickers/broken.png"}
    missing = {**catalog[0], "sticker_id": "missing", "file": "stickers/missing.png"}
    write_jsonl(dataset / "catalog.jsonl", [*catalog, broken, missing])
    results = tmp_path / "results.json"

    args = ["bench", str(dataset), "--no-baselines", "--run-out", str(tmp_path / "r.jsonl")]
    result = runner.invoke(app, [*args, "--results", str(results)])

    assert result.exit_code == 0, result.output
    said = "stickers stickerbot could not index: 2 (1 missing, 1 unsupported_format)"
    assert said in result.stdout
    skipped = json.loads(results.read_text(encoding="utf-8"))["rankers"]["stickerbot"]
    assert skipped["skipped_stickers"] == {"missing": 1, "unsupported_format": 1}


def test_malformed_catalog_line_is_one_line_naming_file_line_and_field(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    with (dataset / "catalog.jsonl").open("a", encoding="utf-8") as catalog:
        catalog.write(json.dumps({"sticker_id": "x", "file": "stickers/x.png"}) + "\n")

    result = runner.invoke(app, ["build", str(dataset), "--data", str(tmp_path / "data")])

    assert result.exit_code == EXIT_BAD_INPUT
    assert_one_line_error(result.stderr)
    assert "catalog.jsonl:7:" in result.stderr
    assert "'set'" in result.stderr
    assert not (tmp_path / "data").exists()  # nothing was opened for a catalog that fails


def test_missing_dataset_is_one_line(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", str(tmp_path / "nowhere")])

    assert result.exit_code == EXIT_BAD_INPUT
    assert_one_line_error(result.stderr)


def test_serve_without_token_exits_2_with_one_line(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text("[bot]\nmode = 'polling'\n", encoding="utf-8")

    result = runner.invoke(app, ["serve", "--config", str(config)], env={"STICKERBOT_TOKEN": None})

    assert result.exit_code == EXIT_BAD_INPUT
    assert_one_line_error(result.stderr)
    assert "STICKERBOT_TOKEN" in result.stderr


def test_serve_reports_each_bad_field(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text("[bot]\nwebhook_port = 0\n", encoding="utf-8")

    result = runner.invoke(
        app, ["serve", "--config", str(config)], env={"STICKERBOT_TOKEN": "123:abc"}
    )

    assert result.exit_code == EXIT_BAD_INPUT
    assert_one_line_error(result.stderr)
    assert "bot.webhook_port:" in result.stderr


def test_bench_writes_run_results_and_metrics(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    run_file, results, chart = tmp_path / "run.jsonl", tmp_path / "r.json", tmp_path / "c.png"

    result = runner.invoke(
        app,
        [
            "bench",
            str(dataset),
            "--run-out",
            str(run_file),
            "--results",
            str(results),
            "--chart",
            str(chart),
            "--json",
        ],
    )

    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)  # with --json, stdout is the metrics alone
    assert metrics["missing_queries"] == 0
    assert metrics["all"]["n"] == 3
    ranked = read_jsonl(run_file)
    assert [r["qid"] for r in ranked] == ["q1", "q2", "q3"]
    summary = json.loads(results.read_text(encoding="utf-8"))
    assert summary["rankers"]["stickerbot"]["metrics"] == metrics
    assert {"persrv", "sticker-finder"} <= set(summary["rankers"])
    assert summary["machine"]["cores"] >= 1
    assert "ndcg@10" in result.stderr  # the table went to stderr
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_bench_chart_combines_results_and_rejects_others(runner: CliRunner, tmp_path: Path) -> None:
    fake = {
        "dataset_name": "a",
        "dataset": "/a",
        "rankers": {
            "x": {
                "metrics": {"all": {"ndcg@10": 0.5, "mrr@10": 0.6, "style@5": 0.2, "n": 1}},
                "seconds": {},
                "latency_ms": {"p50": 1.0, "p99": 2.0},
                "skipped_events": 0,
            }
        },
    }
    first, second, bad = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "bad.json"
    first.write_text(json.dumps(fake), encoding="utf-8")
    second.write_text(json.dumps(fake | {"dataset_name": "b"}), encoding="utf-8")
    bad.write_text("[]", encoding="utf-8")

    good = runner.invoke(
        app, ["bench-chart", str(first), str(second), "--out", str(tmp_path / "chart.png")]
    )
    refused = runner.invoke(app, ["bench-chart", str(bad), "--out", str(tmp_path / "x.png")])

    assert good.exit_code == 0, good.output
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
    assert refused.exit_code == EXIT_BAD_INPUT
    assert_one_line_error(refused.stderr)


def test_demo_refuses_a_folder_it_did_not_make(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me", encoding="utf-8")

    result = runner.invoke(app, ["demo", "--data", str(tmp_path)])

    assert result.exit_code == 1
    assert_one_line_error(result.stderr)
    assert (tmp_path / "mine.txt").exists()


def test_demo_builds_once_then_reuses_the_index(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "demo"

    first = runner.invoke(app, ["demo", "--data", str(data)])
    second = runner.invoke(app, ["demo", "--data", str(data)])

    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("Built the demo index: 120 stickers")
    assert second.stdout.startswith("Loaded the demo index")
    # The same word for users of different styles puts each one's own style first.
    sections = second.stdout.split("\n\n")
    alice = next(s for s in sections if s.startswith("alice"))
    bruno = next(s for s in sections if s.startswith("bruno"))
    assert alice.splitlines()[1].split()[2].startswith("noto-")
    assert bruno.splitlines()[1].split()[2].startswith("twemoji-")
    # A word still being typed already finds the words it starts, in the user's style.
    typing = next(s for s in sections if "still typing" in s)
    assert typing.splitlines()[1].split()[2] in {"twemoji-sleepy-face", "twemoji-sleeping-face"}


def test_demo_builds_again_when_the_index_format_changed(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "demo"
    assert runner.invoke(app, ["demo", "--data", str(data)]).exit_code == 0
    monkeypatch.setattr(index_files, "INDEX_VERSION", index_files.INDEX_VERSION + 1)
    monkeypatch.setattr(demo, "INDEX_VERSION", index_files.INDEX_VERSION)

    again = runner.invoke(app, ["demo", "--data", str(data)])

    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("Built the demo index: 120 stickers")


def test_build_writes_where_the_config_file_says_with_its_engine_settings(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    config = tmp_path / "bot.toml"
    data = tmp_path / "from-file"
    config.write_text(f'data = "{data}"\n[bot]\nmode = "polling"\n', encoding="utf-8")

    result = runner.invoke(app, ["build", str(dataset), "--config", str(config)])

    assert result.exit_code == 0, result.output
    assert f"into {data}" in result.stdout
    assert (data / "index" / "manifest.json").is_file()
    # The engine table reaches the build: a text model that does not exist is refused.
    config.write_text(f'data = "{data}"\n[engine]\ntext_model = "{tmp_path}/none"\n')
    result = runner.invoke(app, ["build", str(dataset), "--config", str(config)])
    assert result.exit_code != 0
    assert_one_line_error(result.stderr)
    assert "none" in result.stderr


def built_manifest(runner: CliRunner, dataset: Path, data: Path) -> Path:
    """Builds `dataset` into `data`; the index's manifest file."""
    assert runner.invoke(app, ["build", str(dataset), "--data", str(data)]).exit_code == 0
    return data / "index" / "manifest.json"


def test_build_replaces_an_index_of_an_older_format_from_the_stored_stickers(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    manifest_path = built_manifest(runner, dataset, data)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    indexed = len(manifest["sticker_ids"])
    manifest["version"] = index_files.OLDEST_READABLE - 1  # as an older Stickerbot saved it
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatch, match="run `stickerbot build` again"):
        asyncio.run(Engine.open(data))

    again = runner.invoke(app, ["build", "--data", str(data)])  # no catalog folder

    assert again.exit_code == 0, again.output
    assert f"Indexed {indexed} stickers" in again.stdout
    rebuilt = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert rebuilt["version"] == index_files.INDEX_VERSION
    assert rebuilt["sticker_ids"] == manifest["sticker_ids"]


def test_a_build_that_reads_no_sticker_keeps_the_index_in_use(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    manifest_path = built_manifest(runner, dataset, data)
    before = manifest_path.read_text(encoding="utf-8")
    for image in dataset.rglob("*.png"):  # the files the stored stickers point to are gone
        image.unlink()

    result = runner.invoke(app, ["build", "--data", str(data)])

    assert result.exit_code == 1
    assert_one_line_error(result.stderr)
    assert "none of the" in result.stderr and "missing" in result.stderr
    assert manifest_path.read_text(encoding="utf-8") == before


def test_build_without_a_folder_needs_stored_stickers(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["build", "--data", str(tmp_path / "empty")])

    assert result.exit_code == 1
    assert_one_line_error(result.stderr)
    assert "name a catalog folder" in result.stderr


def test_build_refuses_a_bad_engine_setting_in_one_line(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    config = tmp_path / "bot.toml"
    config.write_text("[engine]\nrecall_depth = 3\n", encoding="utf-8")

    result = runner.invoke(
        app, ["build", str(dataset), "--config", str(config), "--data", str(tmp_path / "d")]
    )

    assert result.exit_code == EXIT_BAD_INPUT
    assert_one_line_error(result.stderr)
    assert "engine.recall_depth" in result.stderr
    assert not (tmp_path / "d").exists()


def test_bench_runs_stickerbot_with_the_config_files_engine_settings(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    config, results = tmp_path / "bot.toml", tmp_path / "r.json"
    config.write_text("[engine]\nrecall_depth = 60\n", encoding="utf-8")
    args = ["bench", str(dataset), "--run-out", str(tmp_path / "run.jsonl"), "--no-baselines"]

    result = runner.invoke(app, [*args, "--results", str(results), "--config", str(config)])

    assert result.exit_code == 0, result.output
    engine = json.loads(results.read_text(encoding="utf-8"))["engine"]
    assert engine["recall_depth"] == 60
    assert f"text model {engine['text_model']}" in result.stdout
    # The text model is the file's too: one that does not exist is refused in one line.
    config.write_text(f'[engine]\ntext_model = "{tmp_path}/none"\n', encoding="utf-8")
    result = runner.invoke(app, [*args, "--config", str(config)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "none" in errors[0]


def test_bench_writes_into_new_folders_and_refuses_an_unwritable_path_before_running(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    run_file, results = tmp_path / "new" / "run.jsonl", tmp_path / "newer" / "r.json"
    args = ["bench", str(dataset), "--no-baselines", "--results", str(results)]

    result = runner.invoke(app, [*args, "--run-out", str(run_file)])

    assert result.exit_code == 0, result.output
    assert run_file.read_text(encoding="utf-8").count("\n") > 0 and results.is_file()
    # A run file under a regular file cannot be written: said at once, before any work.
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    result = runner.invoke(app, [*args, "--run-out", str(blocker / "run.jsonl")])
    assert result.exit_code == EXIT_BAD_INPUT  # the path must change
    assert_one_line_error(result.stderr)
    assert f"{blocker}: a file is in the way of a folder" in result.stderr
    assert "running" not in result.stderr


def test_bench_describe_rewords_every_caption_and_keeps_the_rest(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    out = tmp_path / "described"

    result = runner.invoke(app, ["bench-describe", str(dataset), str(out), "--seed", "1"])

    assert result.exit_code == 0, result.output
    assert "6 captions described" in result.stdout
    before = read_jsonl(dataset / "catalog.jsonl")
    after = read_jsonl(out / "catalog.jsonl")
    for old, new in zip(before, after, strict=True):
        assert old["caption"] in new["caption"] and new["caption"].endswith(".")
        assert {**new, "caption": None} == {**old, "caption": None}
        assert (out / new["file"]).read_bytes() == (dataset / old["file"]).read_bytes()
    assert any(
        new["caption"] != f"{old['caption']}." for old, new in zip(before, after, strict=True)
    )
    for name in ("history.jsonl", "queries.jsonl"):
        assert (out / name).read_bytes() == (dataset / name).read_bytes()
    # the copy is a dataset the bench reads, and a second copy into it is refused in one line
    assert (
        runner.invoke(
            app,
            [
                "bench",
                str(out),
                "--run-out",
                str(tmp_path / "r.jsonl"),
                "--no-baselines",
                "--results",
                str(tmp_path / "r.json"),
            ],
        ).exit_code
        == 0
    )
    result = runner.invoke(app, ["bench-describe", str(dataset), str(out)])
    assert result.exit_code == EXIT_BAD_INPUT
    assert_one_line_error(result.stderr)
    # a catalog naming a file outside its folder is refused before anything is copied
    catalog = dataset / "catalog.jsonl"
    catalog.write_text(catalog.read_text().replace("stickers/round", "../../round", 1))
    result = runner.invoke(app, ["bench-describe", str(dataset), str(tmp_path / "escape")])
    assert result.exit_code == EXIT_BAD_INPUT
    assert_one_line_error(result.stderr)
    assert ":1:" in result.stderr and not (tmp_path / "escape").exists()


def test_bench_describe_uncaptioned_removes_every_caption_and_keeps_the_rest(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    out = tmp_path / "uncaptioned"

    result = runner.invoke(app, ["bench-describe", str(dataset), str(out), "--uncaptioned"])

    assert result.exit_code == 0, result.output
    assert "6 captions removed from" in result.stdout
    before = read_jsonl(dataset / "catalog.jsonl")
    after = read_jsonl(out / "catalog.jsonl")
    assert all(old["caption"] for old in before)
    assert after == [{**old, "caption": None} for old in before]


def test_bench_pad_puts_words_of_the_querys_language_around_queries_and_typed_picks(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    history = read_jsonl(dataset / "history.jsonl")
    pick = {**history[0], "ts": history[-1]["ts"] + 1, "event": "pick", "query": "kitty"}
    write_jsonl(dataset / "history.jsonl", [*history, pick])
    queries = read_jsonl(dataset / "queries.jsonl")
    queries[1]["lang"] = "xx"  # ben's: no words for that language here
    write_jsonl(dataset / "queries.jsonl", queries)
    out = tmp_path / "padded"

    result = runner.invoke(app, ["bench-pad", str(dataset), str(out), "--seed", "3"])

    assert result.exit_code == 0, result.output
    assert "2 of 3 queries and 1 of 1 typed picks padded" in result.stdout
    *sends, new_pick = read_jsonl(out / "history.jsonl")
    assert sends == history
    padded = read_jsonl(out / "queries.jsonl")
    assert padded[1] == queries[1]
    assert (padded[0]["text"], padded[2]["text"], new_pick["query"]) != ("cat", "fusée", "kitty")
    # ann's pick in the language of her queries
    for old, new, field, language in [
        (queries[0], padded[0], "text", "en"),
        (queries[2], padded[2], "text", "fr"),
        (pick, new_pick, "query", "fr"),
    ]:
        before, after = padded_module.AROUND[language]
        possible = {
            " ".join(w for w in (b, old[field], a) if w)
            for b in ("", *before)
            for a in ("", *after)
        }
        assert new[field] in possible
        assert {**new, field: None} == {**old, field: None}
    assert (out / "catalog.jsonl").read_bytes() == (dataset / "catalog.jsonl").read_bytes()
    assert_bench_reads(runner, out, tmp_path)
    result = runner.invoke(app, ["bench-pad", str(dataset), str(out)])
    assert result.exit_code == EXIT_BAD_INPUT
    assert_one_line_error(result.stderr)


def test_bench_reword_asks_each_users_meanings_in_another_language(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    """Captions that are CLDR names ("cat face"): queries and typed picks become keywords of
    the same meanings in the new language, judged again, and the bench reads the copy."""
    caption_with_names(dataset)
    history = read_jsonl(dataset / "history.jsonl")
    pick = {**history[0], "ts": history[-1]["ts"] + 1, "event": "pick", "query": "kitty"}
    write_jsonl(dataset / "history.jsonl", [*history, pick])
    out = tmp_path / "reworded"

    result = runner.invoke(app, ["bench-reword", str(dataset), str(out), "--languages", "de"])

    assert result.exit_code == 0, result.output
    assert "3 of 3 queries and 1 of 1 typed picks" in result.stdout
    german = {concept: _keywords(emoji, "de") for concept, emoji in CONCEPTS.items()}
    *sends, new_pick = read_jsonl(out / "history.jsonl")
    assert sends == history and new_pick["query"] in german["cat"]
    queries = read_jsonl(out / "queries.jsonl")
    for query, concept in zip(queries, ("cat", "pizza", "rocket"), strict=True):
        assert query["lang"] == "de" and query["text"] in german[concept]
    # ann prefers the round pack (grade 2); ben has no history, so every copy is a 1
    assert queries[0]["relevant"] == {"round-cat": 2, "square-cat": 1}
    assert queries[1]["relevant"] == {"round-pizza": 1, "square-pizza": 1}
    assert_bench_reads(runner, out, tmp_path)


def test_bench_reword_keeps_english_queries_off_the_captions_own_words(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    caption_with_names(dataset, every="cat face")
    out = tmp_path / "english"

    result = runner.invoke(app, ["bench-reword", str(dataset), str(out), "--languages", "en"])

    assert result.exit_code == 0, result.output
    texts = {query["text"] for query in read_jsonl(out / "queries.jsonl")}
    assert texts and texts <= set(_keywords("🐱", "en")) - {"cat face", "cat", "face"}


@pytest.mark.parametrize("languages", ["xx", ","])
def test_bench_reword_refuses_an_unknown_language_in_one_line(
    runner: CliRunner, dataset: Path, tmp_path: Path, languages: str
) -> None:
    out = tmp_path / "nowhere"

    result = runner.invoke(app, ["bench-reword", str(dataset), str(out), "--languages", languages])

    assert result.exit_code == EXIT_BAD_INPUT
    assert_one_line_error(result.stderr)
    assert "language" in result.stderr and not out.exists()


def test_bench_reword_names_a_query_line_without_judgements(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    queries = read_jsonl(dataset / "queries.jsonl")
    write_jsonl(dataset / "queries.jsonl", [queries[0], {**queries[1], "relevant": ["x"]}])
    out = tmp_path / "nowhere"

    result = runner.invoke(app, ["bench-reword", str(dataset), str(out), "--languages", "de"])

    assert result.exit_code == EXIT_BAD_INPUT
    assert_one_line_error(result.stderr)
    assert "queries.jsonl:2: field 'relevant'" in result.stderr and not out.exists()


def _emoji_art(folder: Path, colour: tuple[int, int, int]) -> Path:
    """Artwork for two of the three concepts, named as emoji packages name their files, and
    two files that name no emoji."""
    folder.mkdir()
    for name in ("1f431.png", "1f355.webp"):  # cat face, pizza; rocket is missing
        Image.new("RGBA", (32, 32), (*colour, 255)).save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    Image.new("RGBA", (8, 8)).save(folder / "logo.png")
    return folder


def test_bench_restyle_redraws_the_packs_of_one_style_and_keeps_the_rest(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    caption_with_names(dataset)
    art = _emoji_art(tmp_path / "art", (10, 200, 30))
    out = tmp_path / "restyled"

    result = runner.invoke(app, ["bench-restyle", str(dataset), str(out), "--art", str(art)])

    assert result.exit_code == 0, result.output
    assert "2 stickers redrawn and 1 kept as they were, in the packs round," in result.stdout
    for name in ("round-cat", "round-pizza"):
        with Image.open(out / "stickers" / "round" / f"{name}.png") as image:
            assert image.size == (SIZE, SIZE)
            centre = image.convert("RGBA").getpixel((SIZE // 2, SIZE // 2))
        assert isinstance(centre, tuple)
        assert all(abs(a - b) <= 2 for a, b in zip(centre, (10, 200, 30, 255), strict=True))
    unchanged = ["stickers/round/round-rocket.png", "catalog.jsonl", "history.jsonl"]
    unchanged += [f"stickers/square/square-{c}.png" for c in CONCEPTS] + ["queries.jsonl"]
    for name in unchanged:
        assert (out / name).read_bytes() == (dataset / name).read_bytes(), name
    assert_bench_reads(runner, out, tmp_path)


def test_bench_restyle_redraws_the_style_of_the_pack_named(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    caption_with_names(dataset, every="cat face")
    art = _emoji_art(tmp_path / "art", (10, 200, 30))
    out = tmp_path / "restyled"

    args = ["bench-restyle", str(dataset), str(out), "--art", str(art), "--like", "square"]
    result = runner.invoke(app, args)

    assert result.exit_code == 0, result.output
    assert "3 stickers redrawn and 0 kept as they were, in the packs square," in result.stdout
    for concept in CONCEPTS:
        name = f"stickers/round/round-{concept}.png"
        assert (out / name).read_bytes() == (dataset / name).read_bytes()


def test_bench_restyle_keeps_stickers_whose_art_is_too_large_to_open(
    runner: CliRunner, dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caption_with_names(dataset)
    art = _emoji_art(tmp_path / "art", (10, 200, 30))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow refuses 32 x 32 as a bomb

    result = runner.invoke(
        app, ["bench-restyle", str(dataset), str(tmp_path / "o"), "--art", str(art)]
    )

    assert result.exit_code == 0, result.output
    assert "0 stickers redrawn and 3 kept as they were" in result.stdout


@pytest.mark.parametrize(
    ("art_files", "like", "said"),
    [
        (None, None, "is not a folder of emoji images"),
        (["logo.png", "1f431.gif"], None, "no PNG or WEBP named by code points"),
        (["1f431.png"], "oval", "has no pack 'oval'"),
    ],
)
def test_bench_restyle_refuses_in_one_line_and_writes_nothing(
    runner: CliRunner,
    dataset: Path,
    tmp_path: Path,
    art_files: list[str] | None,
    like: str | None,
    said: str,
) -> None:
    art = tmp_path / "art"
    if art_files is not None:
        art.mkdir()
        for name in art_files:
            Image.new("RGBA", (8, 8)).save(art / name, format="PNG")
    out = tmp_path / "nowhere"
    args = ["bench-restyle", str(dataset), str(out), "--art", str(art)]

    result = runner.invoke(app, args + (["--like", like] if like else []))

    assert result.exit_code == EXIT_BAD_INPUT
    assert_one_line_error(result.stderr)
    assert said in result.stderr and not out.exists()


def _keywords(emoji: str, locale: str) -> list[str]:
    return [word.casefold() for word in EmojiKeywords.load().keywords(emoji, [locale])]


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["bench", "--help"], ["[engine]", "[default: ./bot.toml if present]", "DATASET.json"]),
        (["build", "--help"], ["[default: bot.toml's data]"]),
    ],
)
def test_help_keeps_bracketed_words(
    runner: CliRunner, command: list[str], shown: list[str]
) -> None:
    # Wide enough that no bracketed phrase is wrapped.
    result = runner.invoke(app, command, env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    for words in shown:
        assert words in result.stdout


def test_an_error_of_several_lines_is_printed_as_one(capsys: pytest.CaptureFixture[str]) -> None:
    # Libraries' messages may hold line breaks (transformers' offline error has two lines).
    stop = fail("couldn't connect to the hub.\nCheck your connection.", EXIT_FAILURE)
    assert capsys.readouterr().err == "error: couldn't connect to the hub. Check your connection.\n"
    assert stop.exit_code == EXIT_FAILURE


@pytest.mark.parametrize("under", ["", "sub"])
def test_a_file_where_the_data_folder_should_be_is_one_line(
    runner: CliRunner, dataset: Path, tmp_path: Path, under: str
) -> None:
    in_the_way = tmp_path / "data"
    in_the_way.write_text("mine")
    data = in_the_way / under if under else in_the_way
    result = runner.invoke(app, ["build", str(dataset), "--data", str(data)])
    assert result.exit_code == EXIT_BAD_INPUT
    assert_one_line_error(result.stderr)
    assert f"{data}: a file is in the way of a folder; move it" in result.stderr
    assert in_the_way.read_text() == "mine"


@pytest.mark.parametrize(
    "args",
    [
        ["bench-scale", "--stickers", "0"],
        ["bench-scale", "--queries", "-1"],
        ["emulator", "--port", "70000"],
        ["emulator", "--port", "-3"],
    ],
)
def test_numbers_out_of_range_are_refused_before_anything_runs(
    runner: CliRunner, args: list[str]
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Invalid value for '--" in result.output


def test_a_folder_given_for_a_file_to_write_is_refused_before_the_run(
    runner: CliRunner, dataset: Path, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["bench", str(dataset), "--run-out", str(tmp_path)])
    assert result.exit_code == EXIT_BAD_INPUT
    assert f"error: {tmp_path} is a folder; give a file name" in result.output
    assert "running" not in result.output  # refused before any ranker ran
