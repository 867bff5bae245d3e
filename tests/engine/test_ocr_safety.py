"""OCR and NSFW scoring on images drawn here; model tests skip without the `vision` extra."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from engine import ocr, safety
from engine.errors import ModelError
from engine.ocr import StickerOcr, ocr_available
from engine.safety import NsfwScorer, nsfw_available

SIDE = 256
TRANSPARENT = (0, 0, 0, 0)


@pytest.fixture(scope="module")
def reader() -> StickerOcr:
    if not ocr_available():
        pytest.skip("vision extra not installed")
    return StickerOcr()


@pytest.fixture(scope="module")
def scorer() -> NsfwScorer:
    if not nsfw_available():
        pytest.skip("vision extra not installed")
    return NsfwScorer()


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled scalable font: no system fonts needed."""
    return ImageFont.load_default(size=size)


def caption(word: str, fill: str = "black", stroke: str | None = None) -> Image.Image:
    """A transparent sticker with one big word across it."""
    image = Image.new("RGBA", (SIDE, SIDE), TRANSPARENT)
    draw = ImageDraw.Draw(image)
    draw.text(
        (SIDE // 2, SIDE // 2),
        word,
        fill=fill,
        font=font(64),
        anchor="mm",
        stroke_width=3 if stroke else 0,
        stroke_fill=stroke,
    )
    return image


def emoji_face() -> Image.Image:
    """An emoji-like smiley: strong outlines but no text."""
    image = Image.new("RGBA", (SIDE, SIDE), TRANSPARENT)
    draw = ImageDraw.Draw(image)
    draw.ellipse((30, 30, 226, 226), fill=(255, 200, 0, 255), outline="black", width=4)
    draw.ellipse((80, 90, 100, 120), fill="black")
    draw.ellipse((156, 90, 176, 120), fill="black")
    draw.arc((80, 110, 176, 190), 20, 160, fill="black", width=6)
    return image


def plain_drawings() -> dict[str, Image.Image]:
    """Harmless flat drawings of the kind sticker sets are full of."""
    box = Image.new("RGBA", (SIDE, SIDE), TRANSPARENT)
    ImageDraw.Draw(box).rounded_rectangle((40, 60, 216, 200), 30, fill=(90, 160, 255, 255))
    scene = Image.new("RGB", (SIDE, SIDE), "skyblue")
    draw = ImageDraw.Draw(scene)
    draw.rectangle((0, 160, SIDE, SIDE), fill=(60, 160, 60))
    draw.polygon([(40, 160), (100, 70), (160, 160)], fill=(120, 120, 140))
    return {"box": box, "scene": scene, "caption": caption("Hello")}


# --- OCR ---------------------------------------------------------------------------------------


def test_black_caption_is_read(reader: StickerOcr) -> None:
    text = reader.read_text(caption("Hello"))
    assert text is not None and "hello" in text.lower()


def test_white_caption_with_outline_is_read(reader: StickerOcr) -> None:
    text = reader.read_text(caption("YES", fill="white", stroke="black"))
    assert text is not None and "yes" in text.lower()


def test_white_caption_without_outline_is_read(reader: StickerOcr) -> None:
    text = reader.read_text(caption("YES", fill="white"))
    assert text is not None and "yes" in text.lower()


@pytest.mark.parametrize(
    "image",
    [Image.new("RGBA", (SIDE, SIDE), TRANSPARENT), Image.new("RGB", (SIDE, SIDE), "white")],
    ids=["transparent", "white"],
)
def test_blank_image_has_no_text(reader: StickerOcr, image: Image.Image) -> None:
    assert reader.read_text(image) is None


def test_emoji_like_image_has_no_text(reader: StickerOcr) -> None:
    assert reader.read_text(emoji_face()) is None


def test_low_confidence_and_symbol_fragments_are_dropped() -> None:
    assert ocr._confident_text([("maybe", ocr.MIN_TEXT_CONFIDENCE - 0.01)]) is None
    assert ocr._confident_text([("?!", 0.99)]) is None
    found = [("top", 0.95), ("?", 0.99), ("line", 0.9)]
    assert ocr._confident_text(found) == "top line"


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ([[10, 100], [240, 100], [240, 160], [10, 160]], True),  # caption line
        ([[5, 50], [250, 50], [250, 200], [5, 200]], True),  # one huge word
        ([[38, 29], [227, 33], [223, 233], [34, 229]], False),  # a whole face
    ],
)
def test_line_shape_check(box: list[list[float]], expected: bool) -> None:
    assert ocr._looks_like_line(box, SIDE) is expected


def test_one_big_word_filling_the_sticker_is_read(reader: StickerOcr) -> None:
    image = Image.new("RGBA", (SIDE, SIDE), TRANSPARENT)
    ImageDraw.Draw(image).text(
        (SIDE // 2, SIDE // 2), "OK", fill="black", font=font(150), anchor="mm"
    )
    text = reader.read_text(image)
    assert text is not None and "ok" in text.lower()


# --- NSFW --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(plain_drawings()))
def test_plain_drawing_scores_low(scorer: NsfwScorer, name: str) -> None:
    value = scorer.score(plain_drawings()[name])
    assert isinstance(value, float)
    assert 0.0 <= value < 0.2


def test_score_is_a_probability_for_any_image(scorer: NsfwScorer) -> None:
    for image in (emoji_face(), Image.new("L", (64, 300), 128), Image.new("RGBA", (1, 1))):
        value = scorer.score(image)
        assert isinstance(value, float) and 0.0 <= value <= 1.0


def test_exposed_classes_are_nudenet_labels() -> None:
    nudenet = pytest.importorskip("nudenet.nudenet")
    labels = set(vars(nudenet)["__labels"])
    assert safety.EXPOSED_CLASSES.issubset(labels)


# --- missing extra -----------------------------------------------------------------------------


def test_ocr_without_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "OCR_MODULE", "stickerbot_no_such_module")
    assert not ocr.ocr_available()
    with pytest.raises(ModelError, match=r"stickerbot\[vision\]"):
        StickerOcr()


def test_nsfw_without_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safety, "NSFW_MODULE", "stickerbot_no_such_module")
    assert not safety.nsfw_available()
    with pytest.raises(ModelError, match=r"stickerbot\[vision\]"):
        NsfwScorer()
