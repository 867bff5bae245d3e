"""`export index`: reader -> mappers -> writer, the embedding cache, and the commands' errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from bot.cli import app
from bot.cli_support import EXIT_BAD_INPUT
from engine.build import NO_FILE, BuildHooks, StageClock, StickerFile, build_index
from engine.embed_cache import EmbedCache
from engine.emoji import EmojiKeywords
from engine.encoders import UniversalSentenceEncoder
from engine.index import Encoders
from engine.media import load_sticker_image
from engine.steps import NsfwStep
from engine.types import StickerRecord
from export.pipeline import PipelineOptions, run_pipeline
from tests.counting import CountingEncoder

SIDE = 64
CAPTIONS = {"a": "sleepy cat", "b": "pizza slice", "c": None, "d": "red rocket"}
THRESHOLD = 0.6


class FixedScorer:
    """An NSFW scorer with a known answer per image colour, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def score(self, image: Image.Image) -> float:
        self.calls += 1
        return 0.9 if image.getpixel((SIDE // 2, SIDE // 2))[0] > 128 else 0.1


@pytest.fixture(scope="module")
def use_model() -> UniversalSentenceEncoder:
    model = UniversalSentenceEncoder()
    model.encode_text(["warm up"])
    return model


def make_catalog(root: Path) -> Path:
    """Four drawn stickers (one without caption) and one catalog line without a file."""
    lines = []
    for i, (sticker_id, caption) in enumerate(CAPTIONS.items()):
        file = f"stickers/{sticker_id}.png"
        (root / "stickers").mkdir(parents=True, exist_ok=True)
        image = Image.new("RGBA", (SIDE, SIDE), (0, 0, 0, 0))
        ImageDraw.Draw(image).ellipse((4, 4, SIDE - 4, SIDE - 4), fill=(60 * i, 120, 90))
        image.save(root / file)
        lines.append({"sticker_id": sticker_id, "set": "p", "file": file, "caption": caption})
    lines.append({"sticker_id": "gone", "set": "p", "file": None, "caption": "lost"})
    (root / "catalog.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return root


def records(root: Path) -> list[StickerRecord]:
    from engine.catalog import read_catalog

    return read_catalog(root)


def test_second_build_with_the_cache_encodes_nothing_and_matches(
    tmp_path: Path, use_model: UniversalSentenceEncoder
) -> None:
    counter = CountingEncoder(use_model)
    encoders = Encoders(counter, EmojiKeywords.load())
    stickers = records(make_catalog(tmp_path / "cat"))
    cache = EmbedCache(tmp_path / "cache.sqlite")
    try:
        first = build_index(stickers, encoders, hooks=BuildHooks(cache=cache)).index
        computed = len(counter.asked)
        second = build_index(stickers, encoders, hooks=BuildHooks(cache=cache)).index
        # each caption and each of their words (engine.word_meaning) once, then nothing new
        captions = {caption for caption in CAPTIONS.values() if caption}
        words = {word for caption in captions for word in caption.split()}
        assert sorted(counter.asked) == sorted(captions | words) and len(counter.asked) == computed
        assert cache.misses["style"] == 4 and cache.hits["style"] == 4
        np.testing.assert_array_equal(first.text, second.text)
        np.testing.assert_array_equal(first.style_raw, second.style_raw)
        rocket = stickers[3]
        edited = [*stickers[:3], StickerRecord("d", "p", caption="blue rocket", path=rocket.path)]
        build_index(edited, encoders, hooks=BuildHooks(cache=cache))
        assert sorted(counter.asked[computed:]) == ["blue", "blue rocket"]  # only what is new
    finally:
        cache.close()


def test_file_null_is_skipped_as_no_file(
    tmp_path: Path, use_model: UniversalSentenceEncoder
) -> None:
    stickers = records(make_catalog(tmp_path))
    assert stickers[-1].path is None
    from engine.build import BuildReport

    report = BuildReport()
    build_index(stickers, Encoders(use_model, EmojiKeywords.load()), report=report)
    assert report.indexed == 4 and report.skipped == {NO_FILE: 1}


def test_nsfw_step_scores_once_per_file_content(tmp_path: Path) -> None:
    stickers = records(make_catalog(tmp_path))[:4]
    scorer = FixedScorer()
    clock = StageClock({"decode": 0.0})
    cache = EmbedCache(tmp_path / "cache.sqlite")
    try:
        for _ in range(2):
            step = NsfwStep(scorer, cache, THRESHOLD)
            files = [StickerFile(Path(str(r.path)), load_sticker_image, clock) for r in stickers]
            scored = [step(r, f) for r, f in zip(stickers, files, strict=True)]
            assert [r.nsfw for r in scored] == [0.1, 0.1, 0.1, 0.9]
            assert step.flagged == 1
        assert scorer.calls == 4
    finally:
        cache.close()


async def test_pipeline_applies_captions_and_counts(tmp_path: Path) -> None:
    root = make_catalog(tmp_path / "cat")
    captions = tmp_path / "captions.jsonl"
    captions.write_text(json.dumps({"sticker_id": "c", "caption": "green frog"}) + "\n")
    options = PipelineOptions(root, tmp_path / "data", captions, ocr=False, nsfw=False)
    first = await run_pipeline(options)
    assert (first.indexed, first.captions_applied, dict(first.skipped)) == (4, 1, {NO_FILE: 1})
    assert first.ocr_found is None and first.nsfw_flagged is None
    assert {"read", "decode", "style", "embed text", "write"} <= set(first.seconds)
    second = await run_pipeline(options)
    assert second.cache_misses["text"] == 0 and second.cache_misses["style"] == 0
    assert second.cache_hits["style"] == 4


def test_export_index_command(tmp_path: Path) -> None:
    root = make_catalog(tmp_path / "cat")
    data = tmp_path / "data"
    args = ["export", "index", str(root), "--data", str(data), "--no-ocr", "--no-nsfw"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Indexed 4 stickers" in result.output and "Skipped 1: 1 no_file." in result.output
    assert "Seconds: read" in result.output and (data / "embed-cache.sqlite").is_file()
    # An index saved in a format this code no longer reads is replaced, not refused.
    manifest_path = data / "index" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest_path.write_text(json.dumps({**manifest, "version": 0}), encoding="utf-8")
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert json.loads(manifest_path.read_text(encoding="utf-8"))["version"] == manifest["version"]


def test_commands_fail_in_one_line_on_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "catalog.jsonl").write_text("{not json\n")
    for args in (
        ["export", "index", str(bad), "--data", str(tmp_path / "d"), "--no-ocr", "--no-nsfw"],
        ["import", "u-sticker", str(tmp_path / "absent"), str(tmp_path / "out")],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == EXIT_BAD_INPUT, result.output
        assert result.output.count("error:") == 1 and "Traceback" not in result.output
