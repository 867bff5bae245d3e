"""ONNX export of CLIP and sentence-transformers models, on tiny random-weight models."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from engine.clip import OnnxClip, load_model_folder
from engine.onnx_text import OnnxTextModel
from export.onnx_clip import export_clip
from export.onnx_folder import (
    MIN_QUANTIZED_COSINE,
    SAMPLE_TEXTS,
    ExportError,
    Manifest,
    ValidationFailed,
    sample_images,
)
from export.onnx_sentence import export_sentence_transformer
from export.tiny_text import DENSE_OUT, build_tiny_sentence_transformer

TOLERANCE = 1e-4
TINY_DIM = 32
CLIP_FILES = {"text.onnx", "vision.onnx", "tokenizer.json", "preprocess.json"}


def _leftovers(parent: Path) -> list[str]:
    """Temporary folders an export left beside its target (there should be none)."""
    return [p.name for p in parent.iterdir() if p.name.startswith(".")]


def test_manifest_lists_every_file_with_its_hash(clip_export: tuple[Path, Manifest]) -> None:
    out_dir, manifest = clip_export
    stored = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    assert set(stored["files"]) == CLIP_FILES
    assert {p.name for p in out_dir.iterdir()} == CLIP_FILES | {"manifest.json"}
    for name, digest in stored["files"].items():
        assert hashlib.sha256((out_dir / name).read_bytes()).hexdigest() == digest
    assert stored["kind"] == "clip" and stored["dim"] == TINY_DIM
    assert stored["max_length"] == 77 and stored["opset"] == 17
    assert stored["precision"] == {"text.onnx": "float32", "vision.onnx": "float32"}
    assert {"onnxruntime", "optimum", "torch", "transformers"} <= set(stored["versions"])
    assert stored["files"] == manifest.files
    assert _leftovers(out_dir.parent) == []


def test_validation_numbers_are_within_tolerance(clip_export: tuple[Path, Manifest]) -> None:
    validation = clip_export[1].validation
    diffs = {k: v for k, v in validation.items() if k.endswith("max_abs_diff")}
    assert set(diffs) == {
        "text_max_abs_diff",
        "image_max_abs_diff",
        "text_pipeline_max_abs_diff",
        "image_pipeline_max_abs_diff",
    }
    assert all(0 <= v <= TOLERANCE for v in diffs.values())


def test_preprocess_json_mirrors_the_image_processor(clip_export: tuple[Path, Manifest]) -> None:
    spec = json.loads((clip_export[0] / "preprocess.json").read_text(encoding="utf-8"))
    assert spec["shortest_edge"] == spec["crop_height"] == spec["crop_width"] == 32
    assert spec["resample"] == "bicubic"
    assert spec["rescale_factor"] == pytest.approx(1 / 255)
    assert len(spec["mean"]) == len(spec["std"]) == 3


def test_failed_validation_writes_nothing(tiny_clip_source: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "refused"
    with pytest.raises(ValidationFailed) as caught:
        export_clip(str(tiny_clip_source), out_dir, tolerance=-1)
    assert "nothing was written" in str(caught.value)
    assert caught.value.report["text_max_abs_diff"] >= 0
    assert not out_dir.exists()
    assert _leftovers(tmp_path) == []


def test_existing_target_is_refused_before_any_work(tiny_clip_source: Path, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(ExportError, match="already exists"):
        export_clip(str(tiny_clip_source), tmp_path / "taken")


def test_quantisation_reports_size_speed_and_decision(
    tiny_clip_source: Path, clip_export: tuple[Path, Manifest], tmp_path: Path
) -> None:
    out_dir = tmp_path / "int8"
    manifest = export_clip(str(tiny_clip_source), out_dir, quantize=True)
    assert [r.file for r in manifest.quantization] == ["text.onnx", "vision.onnx"]
    for report in manifest.quantization:
        assert report.float_bytes > 0 and report.int8_bytes > 0
        assert report.float_ms > 0 and report.int8_ms > 0
        assert report.kept == (report.mean_cosine >= MIN_QUANTIZED_COSINE)
        expected = "int8" if report.kept else "float32"
        assert manifest.precision[report.file] == expected
    text_report = manifest.quantization[0]
    # The token embedding table dominates the text tower; int8 stores it in a quarter.
    assert text_report.int8_bytes < text_report.float_bytes / 2
    quantised = load_model_folder(out_dir)
    reference = load_model_folder(clip_export[0])
    assert isinstance(quantised, OnnxClip) and isinstance(reference, OnnxClip)
    cosines = np.sum(
        quantised.encode_images(sample_images()) * reference.encode_images(sample_images()), axis=1
    )
    if manifest.quantization[1].kept:
        assert cosines.mean() >= MIN_QUANTIZED_COSINE


def test_sentence_transformer_export_matches_pytorch(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    source = build_tiny_sentence_transformer(tmp_path / "st-source")
    out_dir = tmp_path / "st-onnx"
    manifest = export_sentence_transformer(str(source), out_dir)
    assert manifest.kind == "sentence-transformer" and manifest.dim == DENSE_OUT
    assert manifest.text_pipeline["pooling"] == "mean"
    assert manifest.text_pipeline["dense"]["activation"] == "tanh"
    assert manifest.text_pipeline["normalize"] is True
    assert manifest.validation["text_pipeline_max_abs_diff"] <= TOLERANCE
    model = load_model_folder(out_dir)
    assert isinstance(model, OnnxTextModel)
    texts = [*SAMPLE_TEXTS, "happy dog", "очень sad 笑"]
    expected = SentenceTransformer(str(source), device="cpu").encode(
        texts, convert_to_numpy=True, normalize_embeddings=True
    )
    got = model.encode_text(texts)
    assert got.dtype == np.float32 and got.shape == (len(texts), DENSE_OUT)
    assert np.max(np.abs(got - expected)) <= TOLERANCE


def test_overwrite_replaces_the_folder_whole(tiny_clip_source: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "clip"
    out_dir.mkdir()
    (out_dir / "stale.onnx").write_bytes(b"old")
    export_clip(str(tiny_clip_source), out_dir, overwrite=True)
    assert not (out_dir / "stale.onnx").exists()
    assert isinstance(load_model_folder(out_dir), OnnxClip)
    assert _leftovers(tmp_path) == []
