"""NSFW score for a sticker with NudeNet 3.4.2 (its 320n.onnx detector ships inside the wheel).

Optional: it needs the `vision` extra. Known weakness, measured on drawn images: a plain round
skin-toned blob reads as BUTTOCKS_EXPOSED (about 0.7) and a yellow emoji face as about 0.35,
so a filter threshold should sit well above 0.4.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
from PIL import Image

from engine.errors import ModelError
from engine.media import WHITE, flatten

NSFW_MODULE = "nudenet"
VISION_HINT = "pip install 'stickerbot[vision]'"
# Only exposed sexual anatomy counts. Covered parts, faces, feet, armpits, bellies and male
# chests are left out: they fill harmless stickers (beach, sport, memes) and would hide them.
EXPOSED_CLASSES = frozenset(
    {
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "BUTTOCKS_EXPOSED",
        "ANUS_EXPOSED",
    }
)


def nsfw_available() -> bool:
    """True when the `vision` extra is installed (checked without importing OpenCV)."""
    return importlib.util.find_spec(NSFW_MODULE) is not None


class NsfwScorer:
    """Scores how likely a sticker shows exposed sexual anatomy; the model opens on first use."""

    def __init__(self) -> None:
        if not nsfw_available():
            raise ModelError(f"NSFW scoring needs the vision extra: {VISION_HINT}")
        self._detector: Any = None

    def score(self, image: Image.Image) -> float:
        """Highest detector confidence over EXPOSED_CLASSES, in [0, 1]; 0.0 when none is found.

        NudeNet drops detections under 0.2 (and NMS under 0.25), so small values read as 0.0.
        """
        detections = self._load().detect(_as_rgb_array(image))
        scores = [float(d["score"]) for d in detections if d.get("class") in EXPOSED_CLASSES]
        return min(1.0, max(0.0, *scores)) if scores else 0.0

    def _load(self) -> Any:
        """Open NudeNet once with its bundled model; passing no path means nothing is fetched."""
        if self._detector is None:
            try:
                from nudenet import NudeDetector
            except ImportError as exc:
                raise ModelError(f"NSFW scoring could not load ({exc}); {VISION_HINT}") from exc
            self._detector = NudeDetector()
        return self._detector


def _as_rgb_array(image: Image.Image) -> np.ndarray:
    """An RGB uint8 array, in memory.

    NudeNet treats arrays as RGB(A): it converts them to BGR and its blob step swaps back, so
    the model sees RGB. Transparency is flattened onto white, as a person would see it.
    """
    return np.ascontiguousarray(np.asarray(flatten(image, WHITE)))
