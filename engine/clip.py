"""CLIP exported to ONNX (`export.onnx_clip.export_clip`): text and image embeddings, no torch.

Tokenisation uses the `tokenizers` copy of the export-time tokenizer and image preprocessing
re-implements `transformers.CLIPImageProcessor` with Pillow and numpy; the export checks both
against the originals before it writes a folder.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image

from engine.encoders import l2_normalise
from engine.errors import ModelError
from engine.onnx_text import (
    DEFAULT_THREADS,
    EXPORT_HINT,
    KIND_CLIP,
    KIND_SENTENCE_TRANSFORMER,
    TEXT_BATCH,
    Manifest,
    OnnxTextModel,
    open_session,
    read_manifest,
    tokenizer_from_manifest,
)

IMAGE_BATCH = 16  # bounds memory: one 224x224 batch of 16 is ~10 MB of float32
WHITE = (255, 255, 255, 255)
TEXT_MODEL = "text.onnx"
VISION_MODEL = "vision.onnx"
PREPROCESS_NAME = "preprocess.json"


@dataclass(frozen=True)
class PreprocessSpec:
    """What `CLIPImageProcessor` does, as recorded in preprocess.json at export."""

    shortest_edge: int
    crop_height: int
    crop_width: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    rescale_factor: float
    resample: str = "bicubic"
    do_resize: bool = True
    do_center_crop: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessSpec:
        return cls(
            shortest_edge=int(data["shortest_edge"]),
            crop_height=int(data["crop_height"]),
            crop_width=int(data["crop_width"]),
            mean=tuple(float(v) for v in data["mean"]),  # type: ignore[arg-type]
            std=tuple(float(v) for v in data["std"]),  # type: ignore[arg-type]
            rescale_factor=float(data["rescale_factor"]),
            resample=str(data.get("resample", "bicubic")),
            do_resize=bool(data.get("do_resize", True)),
            do_center_crop=bool(data.get("do_center_crop", True)),
        )

    def check(self) -> None:
        """Refuse settings this re-implementation would not reproduce exactly."""
        if self.resample.upper() not in Image.Resampling.__members__:
            raise ValueError(f"unknown resample filter {self.resample!r}")
        if (
            self.do_resize
            and self.do_center_crop
            and (min(self.crop_height, self.crop_width) > self.shortest_edge)
        ):
            raise ValueError("a crop larger than the resized image needs padding, not supported")


def flatten_on_white(image: Image.Image) -> Image.Image:
    """RGB copy of `image`; transparent pixels become white.

    Stickers are transparent PNG/WEBP. A plain RGB conversion drops alpha and exposes whatever
    colour the invisible pixels happen to store (often black, sometimes junk), so the same sticker
    would embed differently depending on the tool that saved it. White is how chat apps show them
    on a light theme, and it keeps the outline of the drawing visible to the model.
    """
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, WHITE)
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def resize_shortest_edge(image: Image.Image, size: int, resample: str) -> Image.Image:
    """Shortest side to `size`, long side scaled and truncated as transformers does."""
    width, height = image.size
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(size * long / short)
    new_size = (size, new_long) if width <= height else (new_long, size)
    # reducing_gap=None: transformers resizes in one pass; the fast two-step path differs slightly.
    return image.resize(new_size, Image.Resampling[resample.upper()], reducing_gap=None)


def center_crop(image: Image.Image, height: int, width: int) -> Image.Image:
    left = (image.width - width) // 2
    top = (image.height - height) // 2
    return image.crop((left, top, left + width, top + height))


def preprocess_image(image: Image.Image, spec: PreprocessSpec) -> np.ndarray:
    """(3, crop_height, crop_width) float32 pixel values, as `CLIPImageProcessor` makes them."""
    rgb = flatten_on_white(image)
    if spec.do_resize:
        rgb = resize_shortest_edge(rgb, spec.shortest_edge, spec.resample)
    if spec.do_center_crop:
        rgb = center_crop(rgb, spec.crop_height, spec.crop_width)
    # float64 multiply then float32, the order transformers' rescale uses, so results match bitwise.
    pixels = np.asarray(rgb, dtype=np.uint8).astype(np.float64) * spec.rescale_factor
    pixels = pixels.astype(np.float32)
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    return ((pixels - mean) / std).transpose(2, 0, 1)


class OnnxClip:
    """Text and image encoder over an exported CLIP folder; sessions open on first use."""

    def __init__(self, folder: Path, manifest: Manifest, threads: int = DEFAULT_THREADS) -> None:
        self.folder = folder
        self.name = f"{manifest['kind']}:{manifest['source']}"
        self.dim = int(manifest["dim"])
        self.max_length = int(manifest["max_length"])
        self._threads = threads
        # CLIP's text tower reads the first EOS position and is causal, so padding to the fixed
        # length with the tokenizer's pad id (EOS for openai's CLIP) gives HF's exact result.
        self._tokenizer = tokenizer_from_manifest(folder, manifest, pad_to_max=True)
        self.preprocess = self._load_preprocess(folder)
        self._sessions: dict[str, ort.InferenceSession] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _load_preprocess(folder: Path) -> PreprocessSpec:
        path = folder / PREPROCESS_NAME
        try:
            spec = PreprocessSpec.from_dict(json.loads(path.read_text(encoding="utf-8")))
            spec.check()
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ModelError(f"{path}: unusable ({error}); {EXPORT_HINT}") from error
        return spec

    def _session(self, filename: str) -> ort.InferenceSession:
        with self._lock:
            if filename not in self._sessions:
                self._sessions[filename] = open_session(self.folder / filename, self._threads)
            return self._sessions[filename]

    def tokenize(self, texts: Sequence[str]) -> np.ndarray:
        """(n, max_length) int64 input ids."""
        return np.array([e.ids for e in self._tokenizer.encode_batch(list(texts))], dtype=np.int64)

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        session = self._session(TEXT_MODEL)
        parts = [
            session.run(["text_embeds"], {"input_ids": self.tokenize(texts[i : i + TEXT_BATCH])})[0]
            for i in range(0, len(texts), TEXT_BATCH)
        ]
        return l2_normalise(np.concatenate(parts))

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        session = self._session(VISION_MODEL)
        parts = []
        for start in range(0, len(images), IMAGE_BATCH):
            batch = [
                preprocess_image(image, self.preprocess)
                for image in images[start : start + IMAGE_BATCH]
            ]
            parts.append(session.run(["image_embeds"], {"pixel_values": np.stack(batch)})[0])
        return l2_normalise(np.concatenate(parts))


def load_model_folder(path: Path | str, threads: int = DEFAULT_THREADS) -> OnnxClip | OnnxTextModel:
    """The encoder an exported folder holds; `ModelError` if it is missing, partial or altered."""
    folder = Path(path)
    manifest = read_manifest(folder)
    kind = manifest.get("kind")
    classes: dict[str, type[OnnxClip] | type[OnnxTextModel]] = {
        KIND_CLIP: OnnxClip,
        KIND_SENTENCE_TRANSFORMER: OnnxTextModel,
    }
    if kind not in classes:
        raise ModelError(f"{folder}: unknown model kind {kind!r}; {EXPORT_HINT}")
    try:
        return classes[kind](folder, manifest, threads)
    except (KeyError, TypeError, ValueError) as error:
        # A hand-edited manifest (hashes cover the other files, not the manifest itself).
        raise ModelError(f"{folder}: manifest lacks or mangles {error}; {EXPORT_HINT}") from error
