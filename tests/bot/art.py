"""Sticker packs drawn with Pillow: the same concepts in two visual styles, as real PNG files.

'flat' is cartoon art: saturated flat fills with a thick black outline. 'soft' is airbrushed
art: radial gradients with feathered edges and no outline. The engine's style vectors tell the
two apart, so a user's taste for one style can be checked end to end.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

PackFiles = list[tuple[Path | str, str]]  # (image file, emoji), as the emulator takes them
Colour = tuple[int, int, int]
Drawer = Callable[[int, float, Colour, int], Image.Image]

# The concepts every styled pack draws, in order; each is a keyword of its emoji.
CONCEPTS: tuple[tuple[str, str], ...] = (
    ("grin", "😀"),
    ("cat", "🐱"),
    ("love", "❤️"),
    ("pizza", "🍕"),
    ("rain", "🌧"),
    ("party", "🎉"),
    ("sleep", "😴"),
    ("ok", "👍"),
)
PIZZA = 3  # index of the pizza concept in CONCEPTS
PALETTE: tuple[Colour, ...] = (
    (255, 204, 77),
    (221, 46, 68),
    (85, 172, 238),
    (119, 178, 85),
    (170, 90, 220),
    (255, 140, 0),
    (0, 170, 170),
    (240, 80, 160),
)
SIDE = 256  # pixels; the engine works on a 64 px copy, so bigger only costs time
SUPERSAMPLE = 2  # draw larger and shrink: anti-aliased edges, like rendered vector art
TURN = 0.3  # radians between the angles of successive drawings
FILLER_SIDE = 96  # the filler pack only needs distinct files, not detailed art


def _polygon(corners: int, side: int, turn: float) -> list[tuple[float, float]]:
    """A regular polygon filling most of a `side` square; `turn` rotates it (radians)."""
    centre, radius = side / 2, side * 0.38
    return [
        (
            centre + radius * math.cos(turn + 2 * math.pi * k / corners),
            centre + radius * math.sin(turn + 2 * math.pi * k / corners),
        )
        for k in range(corners)
    ]


def draw_flat(shape: int, turn: float, colour: Colour, side: int = SIDE) -> Image.Image:
    """A flat-filled polygon with a thick black outline and a flat black detail."""
    big = side * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.polygon(_polygon(3 + shape, big, turn), fill=colour, outline=(0, 0, 0), width=big // 20)
    dot = big // 14
    draw.ellipse([big / 2 - dot, big / 2 - dot, big / 2 + dot, big / 2 + dot], fill=(0, 0, 0))
    return image.resize((side, side), Image.Resampling.BOX)


def draw_soft(shape: int, turn: float, colour: Colour, side: int = SIDE) -> Image.Image:
    """A radial-gradient polygon with a feathered edge and no outline."""
    light = tuple(min(255, channel + 110) for channel in colour)
    dark = tuple(channel // 3 for channel in colour)
    shade = ImageOps.colorize(Image.radial_gradient("L"), light, dark).resize((side, side))
    mask = Image.new("L", (side, side), 0)
    ImageDraw.Draw(mask).polygon(_polygon(3 + shape, side, turn), fill=255)
    shade.putalpha(mask.filter(ImageFilter.GaussianBlur(side / 40)))
    return shade


def styled_pack(
    folder: Path, drawer: Drawer, concepts: Sequence[int] = range(len(CONCEPTS)), shift: int = 0
) -> PackFiles:
    """One PNG per concept index in `concepts`; `shift` varies colours and angles between packs."""
    folder.mkdir(parents=True, exist_ok=True)
    files: PackFiles = []
    for index in concepts:
        name, emoji = CONCEPTS[index]
        path = folder / f"{index:02d}_{name}.png"
        colour = PALETTE[(index + shift) % len(PALETTE)]
        drawer(index, TURN * (index + shift), colour, SIDE).save(path)
        files.append((path, emoji))
    return files


def filler_pack(folder: Path, count: int, emoji: str) -> PackFiles:
    """`count` small flat drawings, all distinct (ids derive from file content)."""
    folder.mkdir(parents=True, exist_ok=True)
    files: PackFiles = []
    for index in range(count):
        colour = (40 + index * 3, 255 - index * 2, (index * 37) % 256)
        path = folder / f"{index:03d}.png"
        draw_flat(index % 6, TURN * index, colour, FILLER_SIDE).save(path)
        files.append((path, emoji))
    return files
