"""A benchmark dataset whose captions read like a vision-language model's descriptions, or
that has none.

The development sets caption each sticker with a short name ("cat face"). A real VLM says more,
and says it differently for each copy of a meaning: "A cute cartoon of a cat face in pastel
colors." This wraps every caption in one of a few openings and closings about the drawing,
picked at random per sticker (seeded), and copies the rest of the dataset unchanged, so
`stickerbot bench` can measure how much of the engine relies on short captions.

Packs the bot learns live, before `export index` captions them, have no caption at all: only
their emoji and title. The uncaptioned copy measures that.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from engine.bench.copies import copy_sticker_files, plain_rows, refuse_existing, write_jsonl
from engine.catalog import read_catalog, require_dataset

OPENINGS = (
    "{}",
    "The image shows {}",
    "A cute cartoon of {}",
    "This sticker depicts {}",
    "An emoji-style drawing of {}",
    "A digital illustration featuring {}",
    "A small icon of {}",
    "Clip art of {}",
    "A playful sticker of {}",
    "A simple graphic showing {}",
    "{}, drawn as a sticker",
    "A colorful picture of {}",
)
CLOSINGS = (
    "",
    "with bright yellow tones",
    "on a white background",
    "in a minimalist flat style",
    "with bold black outlines",
    "with soft gradients and shading",
    "in a glossy 3D look",
    "with thin grey lines",
    "in pastel colors",
    "with a subtle drop shadow",
    "in a hand-drawn style",
    "with vivid saturated colors",
)
COPIED = ("history.jsonl", "queries.jsonl")


def describe(caption: str, rng: random.Random) -> str:
    """`caption` inside a random opening and closing, as one sentence."""
    sentence = rng.choice(OPENINGS).format(caption)
    closing = rng.choice(CLOSINGS)
    return f"{sentence} {closing}." if closing else f"{sentence}."


def write_described(dataset: Path, out: Path, seed: int = 0, *, uncaptioned: bool = False) -> int:
    """Copy `dataset` to `out` (a new folder) with every caption described, or removed when
    `uncaptioned`; return how many captions were rewritten."""
    refuse_existing(out)
    require_dataset(dataset)
    read_catalog(dataset)  # refuses what the bench would refuse, files outside the folder too
    rows = plain_rows(dataset / "catalog.jsonl")
    rng = random.Random(seed)
    rewritten = 0
    for row in rows:
        if isinstance(row.get("caption"), str) and row["caption"].strip():
            row["caption"] = None if uncaptioned else describe(row["caption"], rng)
            rewritten += 1
    out.mkdir(parents=True)
    write_jsonl(out / "catalog.jsonl", rows)
    for name in COPIED:
        shutil.copyfile(dataset / name, out / name)
    copy_sticker_files(dataset, out, rows)
    return rewritten
