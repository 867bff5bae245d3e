"""Sticker decoding: real PNG/WEBP/TGS/WEBM files (tests/media_files.py), plus broken ones for each
reason."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from engine import media
from engine.errors import StickerbotError
from engine.media import MediaError, load_sticker_image, sniff_format
from tests.media_files import (
    TGS_FRAMES,
    lottie_doc,
    webm_supports_alpha,
    write_png,
    write_tgs,
    write_webm,
    write_webp,
)


def rgba_at(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    """One RGBA pixel as a tuple (Pillow's getpixel is typed loosely)."""
    pixel = image.getpixel((x, y))
    assert isinstance(pixel, tuple)
    return pixel


# --- good files --------------------------------------------------------------------------------

Writer = Callable[[Path], Path]
GOOD: dict[str, tuple[str, Writer]] = {
    "png": ("s.png", write_png),
    "webp": ("s.webp", write_webp),
    "tgs": ("s.tgs", write_tgs),
    "webm": ("s.webm", write_webm),
}


@pytest.mark.parametrize("fmt", sorted(GOOD))
def test_good_sticker_decodes_to_rgba_within_size(tmp_path: Path, fmt: str) -> None:
    name, writer = GOOD[fmt]
    path = writer(tmp_path / name)
    assert sniff_format(path) == fmt
    image = load_sticker_image(path, size=96)
    assert image.mode == "RGBA"
    assert max(image.size) <= 96
    red, green, _, alpha = rgba_at(image, image.width // 2, image.height // 2)
    assert red > 200 and green < 60 and alpha > 200


@pytest.mark.parametrize("fmt", ["png", "tgs"])
def test_transparent_corner_stays_transparent(tmp_path: Path, fmt: str) -> None:
    name, writer = GOOD[fmt]
    image = load_sticker_image(writer(tmp_path / name))
    assert rgba_at(image, 1, 1)[3] == 0


def test_webm_alpha_is_kept_when_encoder_supports_it(tmp_path: Path) -> None:
    if not webm_supports_alpha():
        pytest.skip("this FFmpeg build has no yuva420p VP9 encoder")
    image = load_sticker_image(write_webm(tmp_path / "a.webm"))
    assert rgba_at(image, 1, 1)[3] < 16


def test_webm_falls_back_to_native_decoder_without_libvpx(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(media, "ALPHA_DECODERS", {"vp9": "stickerbot-no-such-decoder"})
    image = load_sticker_image(write_webm(tmp_path / "n.webm"))
    red, green, _, alpha = rgba_at(image, image.width // 2, image.height // 2)
    assert red > 200 and green < 60 and alpha == 255


def test_tgs_renders_the_middle_frame(tmp_path: Path) -> None:
    image = load_sticker_image(write_tgs(tmp_path / "m.tgs"), size=256)
    left, _, right, _ = image.getchannel("A").getbbox() or (0, 0, 0, 0)
    # At the middle frame the square is centred (x=256 of 512), so its box is symmetric.
    assert abs((left + right) / 2 - 128) <= 4


def test_tgs_falls_back_when_middle_frame_is_blank(tmp_path: Path) -> None:
    doc = lottie_doc()
    layer = doc["layers"][0]  # type: ignore[index]
    layer["op"] = TGS_FRAMES // 4  # the square exists only in the first quarter
    image = load_sticker_image(write_tgs(tmp_path / "b.tgs", doc))
    assert image.getchannel("A").getbbox() is not None


def test_extension_is_ignored_in_favour_of_magic(tmp_path: Path) -> None:
    path = write_png(tmp_path / "lies.webm")
    assert sniff_format(path) == "png"
    assert load_sticker_image(path).mode == "RGBA"


def test_small_images_are_not_enlarged(tmp_path: Path) -> None:
    image = load_sticker_image(write_png(tmp_path / "s.png", size=(40, 20)), size=256)
    assert image.size == (40, 20)


def test_non_square_keeps_aspect(tmp_path: Path) -> None:
    image = load_sticker_image(write_png(tmp_path / "w.png", size=(512, 256)), size=128)
    assert image.size == (128, 64)


# --- bad files ---------------------------------------------------------------------------------


def _truncate(path: Path, keep: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def _bad_png(tmp: Path) -> Path:
    return _truncate(write_png(tmp / "t.png"))


def _bad_webp(tmp: Path) -> Path:
    return _truncate(write_webp(tmp / "t.webp"))


def _bad_gzip(tmp: Path) -> Path:
    path = tmp / "g.tgs"
    path.write_bytes(gzip.compress(b"\x00\xff not json at all"))
    return path


def _truncated_tgs(tmp: Path) -> Path:
    return _truncate(write_tgs(tmp / "t.tgs"))


def _json_not_lottie(tmp: Path) -> Path:
    return write_tgs(tmp / "j.tgs", {"hello": "world"})


def _lottie_zero_canvas(tmp: Path) -> Path:
    return write_tgs(tmp / "z.tgs", {**lottie_doc(), "w": 0})


def _gzip_bomb(tmp: Path) -> Path:
    path = tmp / "bomb.tgs"
    path.write_bytes(gzip.compress(b" " * (media.MAX_TGS_JSON_BYTES + 1024), 9))
    return path


def _oversize_tgs(tmp: Path) -> Path:
    path = tmp / "big.tgs"
    path.write_bytes(b"\x1f\x8b" + b"\x00" * media.MAX_TGS_BYTES)
    return path


def _oversize_file(tmp: Path) -> Path:
    path = tmp / "huge.webp"
    with path.open("wb") as handle:  # sparse: no real 20 MB written
        handle.write(b"RIFF\x00\x00\x00\x00WEBP")
        handle.truncate(media.MAX_FILE_BYTES + 1)
    return path


def _pixel_bomb(tmp: Path) -> Path:
    path = tmp / "wide.png"
    Image.new("1", (8192, 4096)).save(path)  # 1-bit: a few KB on disk, 33 Mpx decoded
    return path


def _bad_webm(tmp: Path) -> Path:
    return _truncate(write_webm(tmp / "t.webm"), keep=0.1)


def _ebml_garbage(tmp: Path) -> Path:
    path = tmp / "g.webm"
    path.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 4)
    return path


def _wrong_magic(tmp: Path) -> Path:
    path = tmp / "x.webp"
    path.write_bytes(b"GIF89a" + b"\x00" * 64)
    return path


def _empty(tmp: Path) -> Path:
    path = tmp / "e.png"
    path.touch()
    return path


def _missing(tmp: Path) -> Path:
    return tmp / "nope.png"


def _directory(tmp: Path) -> Path:
    return tmp


BAD: dict[str, tuple[Callable[[Path], Path], str]] = {
    "truncated png": (_bad_png, "corrupt_image"),
    "truncated webp": (_bad_webp, "corrupt_image"),
    "gzip of garbage": (_bad_gzip, "corrupt_tgs"),
    "truncated tgs": (_truncated_tgs, "corrupt_tgs"),
    "json that is not lottie": (_json_not_lottie, "corrupt_tgs"),
    "lottie with zero canvas": (_lottie_zero_canvas, "corrupt_tgs"),
    "gzip bomb": (_gzip_bomb, "too_large"),
    "oversize tgs": (_oversize_tgs, "too_large"),
    "oversize file": (_oversize_file, "too_large"),
    "pixel bomb": (_pixel_bomb, "too_large"),
    "truncated webm": (_bad_webm, "corrupt_webm"),
    "ebml garbage": (_ebml_garbage, "corrupt_webm"),
    "wrong magic": (_wrong_magic, "unsupported_format"),
    "empty": (_empty, "empty"),
    "missing": (_missing, "missing"),
    "directory": (_directory, "missing"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_raises_media_error_with_reason(tmp_path: Path, case: str) -> None:
    make, reason = BAD[case]
    with pytest.raises(MediaError) as caught:
        load_sticker_image(make(tmp_path))
    assert caught.value.reason == reason
    assert reason in media.REASONS
    assert isinstance(caught.value, StickerbotError)
    assert "\n" not in str(caught.value)


def test_size_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        load_sticker_image(write_png(tmp_path / "s.png"), size=0)
