"""export.measure_style on two groups of packs drawn in two known styles (tests/bot/art.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from export import measure_style
from tests.bot.art import CONCEPTS, PALETTE, TURN, draw_flat, draw_soft

STYLES = {"flat": draw_flat, "soft": draw_soft}
GROUPS = {"a": range(0, 4), "b": range(4, 8)}  # two groups of packs sharing their captions
SIDE = 64


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("styled")
    rows = []
    for group, concepts in GROUPS.items():
        for style, draw in STYLES.items():
            pack = f"{group}-{style}"
            for shape, concept in enumerate(concepts):
                file = f"stickers/{pack}/{concept}.png"
                (root / file).parent.mkdir(parents=True, exist_ok=True)
                draw(shape, shape * TURN, PALETTE[concept], SIDE).save(root / file)
                caption = CONCEPTS[concept][0]
                rows.append(
                    {
                        "sticker_id": f"{pack}-{concept}",
                        "set": pack,
                        "file": file,
                        "emoji": None,
                        "caption": caption,
                        "ocr": None,
                    }
                )
    (root / "catalog.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_styles_are_recovered_from_palettes_alone(dataset: Path) -> None:
    rows = measure_style.load_catalog(dataset)
    k, styles = measure_style.recover_styles(rows, measure_style.load_images(dataset, rows))

    assert k == 2
    by_pack = {row["set"]: int(style) for row, style in zip(rows, styles, strict=True)}
    assert by_pack["a-flat"] == by_pack["b-flat"] != by_pack["a-soft"] == by_pack["b-soft"]


def test_the_report_finds_each_stickers_style_without_its_concept(
    dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    measure_style.main([str(dataset), "--timing", "0"])

    report = capsys.readouterr().out
    assert "16 stickers, 4 packs, 2 styles" in report
    assert "1-NN style accuracy (same caption excluded): 1.0000" in report
    assert "packs the style vectors group like the palette labels: 1.0000" in report


def test_a_dataset_without_one_pack_per_style_is_refused() -> None:
    # Each caption is drawn twice, but no two packs share their captions.
    rows = [{"set": "p", "caption": "cat"}, {"set": "p", "caption": "dog"}]
    rows += [{"set": "q", "caption": "cat"}, {"set": "r", "caption": "dog"}]

    with pytest.raises(SystemExit, match="one pack per style"):
        measure_style.pack_groups(rows)
