"""`engine.clip.OnnxClip` against PyTorch's CLIP, on a tiny random-weight model.

The tiny model is built offline (`export.tiny_clip`) and exported with `export.onnx_clip`, so
these tests prove tokenisation, preprocessing, plumbing and numerics, not retrieval quality.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from engine.clip import OnnxClip, load_model_folder
from engine.encoders import ImageEncoder, TextEncoder, l2_normalise
from engine.errors import ModelError

TOLERANCE = 1e-4
REPO_ROOT = Path(__file__).resolve().parents[2]
TEXTS = [
    "a photo of a cat",
    "face with tears of joy 😂",
    "любовь",
    "Ça va? naïve café",
    "笑死我了",
    "",
    "lol " * 60,  # longer than 77 tokens: truncated like transformers does
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(tiny CLIP source folder, its ONNX export)."""
    from export.onnx_clip import export_clip
    from export.tiny_clip import build_tiny_clip, clip_bpe

    root = tmp_path_factory.mktemp("engine-clip")
    source = build_tiny_clip(root / "source", clip_bpe(root / "bpe"))
    export_clip(str(source), root / "onnx")
    return source, root / "onnx"


@pytest.fixture(scope="module")
def torch_clip(exported: tuple[Path, Path]) -> dict[str, Any]:
    from transformers import CLIPImageProcessor, CLIPModel, CLIPTokenizerFast

    source = str(exported[0])
    return {
        "model": CLIPModel.from_pretrained(source).eval(),
        "tokenizer": CLIPTokenizerFast.from_pretrained(source),
        "processor": CLIPImageProcessor.from_pretrained(source),
    }


@pytest.fixture(scope="module")
def clip(exported: tuple[Path, Path]) -> OnnxClip:
    model = load_model_folder(exported[1])
    assert isinstance(model, OnnxClip)
    return model


def _rgba(width: int, height: int, seed: int) -> Image.Image:
    """Random colours with a transparent border, like a sticker cut-out."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    pixels[: height // 4, :, 3] = 0
    pixels[:, : width // 5, 3] = rng.integers(0, 256, (height, width // 5), dtype=np.uint8)
    return Image.fromarray(pixels, "RGBA")


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(7)
    return [
        Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8), "RGB"),
        _rgba(64, 48, 1),
        _rgba(20, 100, 2),  # smaller than the model's input: upscaled
        _rgba(512, 512, 3),  # Telegram's sticker size
        Image.fromarray(rng.integers(0, 256, (50, 50), dtype=np.uint8), "L"),
    ]


def _on_white(image: Image.Image) -> Image.Image:
    """What the engine feeds CLIP for a transparent sticker (documented in engine.clip)."""
    if image.mode != "RGBA":
        return image.convert("RGB")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, image).convert("RGB")


def test_is_a_text_and_image_encoder(clip: OnnxClip) -> None:
    assert isinstance(clip, TextEncoder) and isinstance(clip, ImageEncoder)
    assert clip.dim == 32 and clip.name.startswith("clip:")
    assert clip.encode_text([]).shape == (0, 32)
    assert clip.encode_images([]).shape == (0, 32)


def test_text_embeddings_match_pytorch(clip: OnnxClip, torch_clip: dict[str, Any]) -> None:
    import torch

    batch = torch_clip["tokenizer"](
        TEXTS, padding="max_length", truncation=True, max_length=77, return_tensors="pt"
    )
    assert np.array_equal(clip.tokenize(TEXTS), batch["input_ids"].numpy())
    with torch.no_grad():
        expected = torch_clip["model"].get_text_features(input_ids=batch["input_ids"])
    got = clip.encode_text(TEXTS)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), 32)
    assert np.max(np.abs(got - l2_normalise(expected.numpy()))) <= TOLERANCE


def test_image_embeddings_match_pytorch(clip: OnnxClip, torch_clip: dict[str, Any]) -> None:
    import torch

    images = _images()
    pixels = torch_clip["processor"](images=[_on_white(i) for i in images], return_tensors="pt")[
        "pixel_values"
    ]
    with torch.no_grad():
        expected = torch_clip["model"].get_image_features(pixel_values=pixels)
    got = clip.encode_images(images)
    assert got.dtype == np.float32 and got.shape == (len(images), 32)
    assert np.max(np.abs(got - l2_normalise(expected.numpy()))) <= TOLERANCE


def test_transparent_pixels_count_as_white(clip: OnnxClip) -> None:
    invisible_black = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    white = Image.new("RGB", (40, 40), (255, 255, 255))
    both = clip.encode_images([invisible_black, white])
    assert float(both[0] @ both[1]) == pytest.approx(1.0, abs=1e-6)


def test_plumbing_supports_retrieval(clip: OnnxClip) -> None:
    """Each image is its own nearest neighbour, and text vectors are finite unit vectors.

    The weights are random, so this checks the plumbing (distinct inputs stay distinct, outputs
    are normalised), not whether CLIP would match a caption to its picture.
    """
    images = _images()
    vectors = clip.encode_images(images)
    similarity = vectors @ vectors.T
    assert list(np.argmax(similarity, axis=1)) == list(range(len(images)))
    texts = clip.encode_text(TEXTS)
    assert np.all(np.isfinite(texts))
    assert np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)


def test_tampered_folder_is_refused(exported: tuple[Path, Path], tmp_path: Path) -> None:
    folder = shutil.copytree(exported[1], tmp_path / "copy")
    with (folder / "vision.onnx").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelError) as caught:
        load_model_folder(folder)
    message = str(caught.value)
    assert "vision.onnx" in message and "hash" in message and "\n" not in message


def test_missing_file_or_manifest_is_refused(exported: tuple[Path, Path], tmp_path: Path) -> None:
    folder = shutil.copytree(exported[1], tmp_path / "copy")
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match=r"tokenizer\.json is missing"):
        load_model_folder(folder)
    with pytest.raises(ModelError, match=r"no manifest\.json"):
        load_model_folder(tmp_path)


def test_engine_modules_do_not_import_torch() -> None:
    probe = (
        "import sys, engine.clip, engine.onnx_text; "
        "print(sorted(m for m in ('torch', 'transformers', 'optimum') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


async def test_engine_recalls_by_clip_image_vectors(
    exported: tuple[Path, Path], encoder: Any, png: Any, tmp_path: Path
) -> None:
    """With a CLIP model configured, the engine indexes image vectors, keeps them across a
    reopen and recalls stickers through them (weights are random: mechanics, not quality)."""
    from engine.config import EngineConfig
    from engine.engine import Engine
    from engine.recall import recall_text
    from engine.types import StickerRecord

    config = EngineConfig(clip_model=str(exported[1]))
    records = [
        StickerRecord(f"s{i}", "pack", caption=None, path=str(png(style, i)))
        for i, style in enumerate(["flat", "soft", "flat", "soft"])
    ]
    engine = await Engine.open(tmp_path, config, text_encoder=encoder)
    await engine.build(records)
    await engine.suggest("u1", "a red square")  # the CLIP text tower runs on the query path
    await engine.close()

    engine = await Engine.open(tmp_path, config, text_encoder=encoder)
    index = engine._index
    assert index.image is not None and index.image.shape[0] == len(records)
    target = 2
    candidates = recall_text(
        index,
        engine._crowd,
        "",
        np.zeros(encoder.dim, np.float32),
        10,
        clip_vector=index.image[target],
    )
    evidence = candidates.as_evidence()
    best = max(evidence, key=lambda row: evidence[row].score)
    assert best == target
    assert evidence[best].reason == "looks like it"
    await engine.close()
