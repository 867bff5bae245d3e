"""Sticker files in every format Telegram sends (PNG, WEBP, TGS, WEBM), made for tests: a red
square on a transparent canvas, moving in the animated ones."""

from __future__ import annotations

import gzip
import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

RED = (255, 0, 0, 255)
CANVAS = 512  # Telegram's sticker side
TGS_FRAMES = 30  # a 0.5 s clip at 60 fps keeps the fixture tiny
WEBM_FRAMES = 12


def write_png(path: Path, size: tuple[int, int] = (CANVAS, CANVAS)) -> Path:
    """A transparent canvas with a red square in the middle."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    w, h = size
    image.paste(RED, (w // 4, h // 4, 3 * w // 4, 3 * h // 4))
    image.save(path, format="PNG")
    return path


def write_webp(path: Path) -> Path:
    """The same square as lossless WEBP (keeps alpha exact)."""
    with Image.open(write_png(path.with_suffix(".tmp.png"))) as image:
        image.save(path, format="WEBP", lossless=True)
    return path


def _fixed(value: object) -> dict[str, object]:
    """A Lottie property that does not animate."""
    return {"a": 0, "k": value}


def lottie_doc(frames: int = TGS_FRAMES) -> dict[str, object]:
    """A 512 px Lottie animation: a red 200 px square sliding from x=156 to x=356."""
    rectangle = {"ty": "rc", "d": 1, "s": _fixed([200, 200]), "p": _fixed([0, 0]), "r": _fixed(0)}
    fill = {"ty": "fl", "c": _fixed([1, 0, 0, 1]), "o": _fixed(100), "r": 1}
    group_transform = {
        "ty": "tr",
        "p": _fixed([0, 0]),
        "a": _fixed([0, 0]),
        "s": _fixed([100, 100]),
        "r": _fixed(0),
        "o": _fixed(100),
    }
    linear = {"i": {"x": [1], "y": [1]}, "o": {"x": [0], "y": [0]}}
    position = {
        "a": 1,
        "k": [
            {"t": 0, "s": [156, 256, 0], "e": [356, 256, 0], **linear},
            {"t": frames, "s": [356, 256, 0]},
        ],
    }
    transform = {
        "o": _fixed(100),
        "r": _fixed(0),
        "p": position,
        "a": _fixed([0, 0, 0]),
        "s": _fixed([100, 100, 100]),
    }
    layer = {
        "ddd": 0,
        "ind": 1,
        "ty": 4,
        "nm": "square",
        "sr": 1,
        "ks": transform,
        "ao": 0,
        "shapes": [{"ty": "gr", "it": [rectangle, fill, group_transform]}],
        "ip": 0,
        "op": frames,
        "st": 0,
        "bm": 0,
    }
    return {
        "v": "5.5.2",
        "fr": 60,
        "ip": 0,
        "op": frames,
        "w": CANVAS,
        "h": CANVAS,
        "nm": "fixture",
        "ddd": 0,
        "assets": [],
        "layers": [layer],
    }


def write_tgs(path: Path, doc: object | None = None) -> Path:
    """Gzip Lottie JSON exactly as Telegram's TGS format does."""
    payload = json.dumps(lottie_doc() if doc is None else doc).encode()
    path.write_bytes(gzip.compress(payload))
    return path


def webm_supports_alpha() -> bool:
    """Whether this FFmpeg build can encode VP9 with an alpha plane."""
    try:
        codec = av.codec.Codec("libvpx-vp9", "w")
    except (av.FFmpegError, ValueError):
        return False
    return any(fmt.name == "yuva420p" for fmt in codec.video_formats or ())


def write_webm(path: Path, side: int = 128) -> Path:
    """A VP9 clip of a red square moving right on a transparent (when possible) canvas."""
    pix_fmt = "yuva420p" if webm_supports_alpha() else "yuv420p"
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libvpx-vp9", rate=Fraction(30))
        stream.width = stream.height = side
        stream.pix_fmt = pix_fmt
        for index in range(WEBM_FRAMES):
            pixels = np.zeros((side, side, 4), np.uint8)
            left = index * side // (2 * WEBM_FRAMES)
            pixels[side // 4 : 3 * side // 4, left : left + side // 2] = RED
            frame = av.VideoFrame.from_ndarray(pixels, format="rgba")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
