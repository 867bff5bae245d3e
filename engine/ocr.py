"""Offline OCR of sticker captions with RapidOCR (PP-OCRv4 Chinese+English, ONNX in the wheel).

Optional: it needs the `vision` extra. Most stickers carry no text, so `read_text` works in
stages and stops at the first that finds nothing: a contrast check (about 1 ms), the text
detector alone (tens of ms), a shape check on its boxes, and only then the recogniser, which
costs as much again as the detector.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
from PIL import Image

from engine.errors import ModelError
from engine.media import WHITE, flatten

OCR_MODULE = "rapidocr_onnxruntime"
VISION_HINT = "pip install 'stickerbot[vision]'"
# Recogniser confidence below which a fragment is noise; real captions score 0.9+, while
# cartoon strokes misread as text ("?", "一") tend to land between 0.5 and 0.85.
MIN_TEXT_CONFIDENCE = 0.8
# Detector input cap: sticker captions are large, and 320 px keeps detection near 30 ms on CPU
# (RapidOCR's default enlarges a 256 px sticker to 736 px, about 8x the work).
DET_MAX_SIDE = 320
# Pixels this far in luminance from the dominant tone count as "ink" for the pre-check.
INK_CONTRAST = 48
# Fewer ink pixels than this share of the image cannot form a readable word.
MIN_INK_SHARE = 0.002
# Stickers whose visible pixels are mostly lighter than this (white captions) go on black.
LIGHT_CONTENT = 170
BLACK = (0, 0, 0)  # backdrop that keeps white captions without an outline readable
# The detector often boxes a whole cartoon face as one "word". A caption line is either not
# that tall or clearly wider than tall, so a box over this share of the height must also be
# at least MIN_TALL_LINE_ASPECT times wider than tall to reach the recogniser.
MAX_LINE_HEIGHT_SHARE = 0.5
MIN_TALL_LINE_ASPECT = 1.3


def ocr_available() -> bool:
    """True when the `vision` extra is installed (checked without importing OpenCV)."""
    return importlib.util.find_spec(OCR_MODULE) is not None


class StickerOcr:
    """Reads a sticker's caption; the ONNX sessions are opened on first use."""

    def __init__(self, threads: int | None = None) -> None:
        if not ocr_available():
            raise ModelError(f"OCR needs the vision extra: {VISION_HINT}")
        self._threads = threads
        self._engine: Any = None

    def read_text(self, image: Image.Image) -> str | None:
        """Return the confident text on the sticker in reading order, or None if there is none."""
        rgb = _flatten_for_text(image)
        gray = np.asarray(rgb.convert("L"))
        if not _has_ink(gray):
            return None
        bgr = np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])
        engine = self._load()
        # Sticker text is upright, so the 180-degree classifier would only cost time.
        found, _ = engine(bgr, use_cls=False, use_rec=False)
        boxes = [box for box in found or [] if _looks_like_line(box, bgr.shape[0])]
        if not boxes:
            return None
        crops = engine.get_crop_img_list(bgr, [np.asarray(b, dtype=np.float32) for b in boxes])
        fragments = [_recognise(engine, crop) for crop in crops]
        return _confident_text(fragments)

    def _load(self) -> Any:
        """Open RapidOCR once; its models ship inside the wheel, so nothing is downloaded."""
        if self._engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as exc:
                raise ModelError(f"OCR could not load ({exc}); reinstall: {VISION_HINT}") from exc
            options: dict[str, Any] = {
                "det_limit_side_len": DET_MAX_SIDE,
                "det_limit_type": "max",
            }
            if self._threads:
                options["intra_op_num_threads"] = self._threads
            self._engine = RapidOCR(**options)
        return self._engine


def _flatten_for_text(image: Image.Image) -> Image.Image:
    """Put transparent stickers on white, or on black when their content is light (white text)."""
    rgba = image.convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32)
    if alpha.sum() == 0:
        return flatten(rgba, WHITE)
    luminance = np.asarray(rgba.convert("L"), dtype=np.float32)
    mean = float((luminance * alpha).sum() / alpha.sum())
    return flatten(rgba, BLACK if mean > LIGHT_CONTENT else WHITE)


def _has_ink(gray: np.ndarray) -> bool:
    """Cheap pre-check: text needs enough pixels that stand out from the dominant tone."""
    dominant = int(np.bincount(gray.ravel(), minlength=256).argmax())
    ink = np.count_nonzero(np.abs(gray.astype(np.int16) - dominant) > INK_CONTRAST)
    return bool(ink >= MIN_INK_SHARE * gray.size)


def _looks_like_line(box: list[list[float]], image_height: int) -> bool:
    """Reject boxes shaped like a whole drawing rather than a line of text."""
    corners = np.asarray(box, dtype=np.float32)
    width = float(np.linalg.norm(corners[1] - corners[0]))
    height = float(np.linalg.norm(corners[3] - corners[0]))
    if height <= MAX_LINE_HEIGHT_SHARE * image_height:
        return True
    return width >= MIN_TALL_LINE_ASPECT * height


def _recognise(engine: Any, crop: np.ndarray) -> tuple[str, float]:
    """Read one detected line; RapidOCR answers [[text, confidence]] when detection is off."""
    result, _ = engine(crop, use_det=False, use_cls=False)
    if not result:
        return "", 0.0
    text, confidence = result[0][0], result[0][1]
    return str(text).strip(), float(confidence)


def _confident_text(fragments: list[tuple[str, float]]) -> str | None:
    """Join fragments the recogniser is sure of; drop ones without a letter or digit."""
    words = [
        text
        for text, confidence in fragments
        if confidence >= MIN_TEXT_CONFIDENCE and any(ch.isalnum() for ch in text)
    ]
    return " ".join(words) or None
