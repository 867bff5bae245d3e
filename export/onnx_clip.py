"""CLIP to ONNX: the text and vision towers with their projections, the tokenizer and the image
preprocessing the engine mirrors (engine.clip)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from optimum.exporters.onnx import export as optimum_export
from optimum.exporters.onnx.model_configs import (
    CLIPTextWithProjectionOnnxConfig,
    CLIPVisionModelOnnxConfig,
)
from PIL import Image

from engine.clip import PREPROCESS_NAME, TEXT_MODEL, VISION_MODEL, OnnxClip, load_model_folder
from engine.encoders import l2_normalise
from engine.onnx_text import KIND_CLIP, open_session
from export.onnx_folder import (
    DEFAULT_OPSET,
    DEFAULT_TOLERANCE,
    FEATURE_TASK,
    SAMPLE_TEXTS,
    TOKENIZER_NAME,
    VALIDATION_THREADS,
    ExportError,
    Manifest,
    Options,
    QuantJob,
    Steps,
    ValidationFailed,
    build,
    check_target,
    max_abs_diff,
    new_manifest,
    require_fast_tokenizer,
    sample_images,
)


class TextEmbedsOnnxConfig(CLIPTextWithProjectionOnnxConfig):
    """CLIP text tower with projection; only the pooled, projected embedding is exported."""

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        return {"text_embeds": {0: "batch_size"}}


class ImageEmbedsOnnxConfig(CLIPVisionModelOnnxConfig):
    """CLIP vision tower with projection (optimum's own config stops before the projection)."""

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        return {"image_embeds": {0: "batch_size"}}


def _preprocess_spec(processor: Any) -> dict[str, Any]:
    """preprocess.json from a `CLIPImageProcessor`; refuses settings the engine cannot mirror."""
    size = processor.size
    if "shortest_edge" not in size:
        raise ExportError(f"image processor size {size} is not a shortest-edge resize")
    if not getattr(processor, "do_convert_rgb", True) or not processor.do_normalize:
        raise ExportError("image processor skips RGB conversion or normalisation; not supported")
    return {
        "shortest_edge": int(size["shortest_edge"]),
        "crop_height": int(processor.crop_size["height"]),
        "crop_width": int(processor.crop_size["width"]),
        "mean": [float(v) for v in processor.image_mean],
        "std": [float(v) for v in processor.image_std],
        "rescale_factor": float(processor.rescale_factor) if processor.do_rescale else 1.0,
        "resample": Image.Resampling(int(processor.resample)).name.lower(),
        "do_resize": bool(processor.do_resize),
        "do_center_crop": bool(processor.do_center_crop),
        "alpha": "composite on white",
    }


def _load_clip(source: str) -> tuple[Any, Any, Any, Any]:
    from transformers import (
        AutoTokenizer,
        CLIPConfig,
        CLIPImageProcessor,
        CLIPTextModelWithProjection,
        CLIPVisionModelWithProjection,
    )

    tokenizer = AutoTokenizer.from_pretrained(source, use_fast=True)
    require_fast_tokenizer(source, tokenizer)
    processor = CLIPImageProcessor.from_pretrained(source)
    # Sub-configs of older checkpoints carry a default projection_dim; the top-level one rules.
    projection_dim = CLIPConfig.from_pretrained(source).projection_dim
    text = CLIPTextModelWithProjection.from_pretrained(source, projection_dim=projection_dim)
    vision = CLIPVisionModelWithProjection.from_pretrained(source, projection_dim=projection_dim)
    return text.eval(), vision.eval(), tokenizer, processor


def _write_clip_files(
    temp: Path, text: Any, vision: Any, tokenizer: Any, processor: Any, opset: int
) -> None:
    optimum_export(
        text, TextEmbedsOnnxConfig(text.config, task=FEATURE_TASK), temp / TEXT_MODEL, opset=opset
    )
    optimum_export(
        vision,
        ImageEmbedsOnnxConfig(vision.config, task=FEATURE_TASK),
        temp / VISION_MODEL,
        opset=opset,
    )
    tokenizer.backend_tokenizer.save(str(temp / TOKENIZER_NAME))
    (temp / PREPROCESS_NAME).write_text(
        json.dumps(_preprocess_spec(processor), indent=2) + "\n", encoding="utf-8"
    )


def _clip_reference(
    text: Any, vision: Any, tokenizer: Any, processor: Any, max_length: int
) -> dict[str, np.ndarray]:
    """PyTorch inputs and outputs on the sample texts and images."""
    ids = tokenizer(
        list(SAMPLE_TEXTS),
        padding="max_length",
        truncation=True,
        max_length=max_length,
        return_tensors="pt",
    )["input_ids"]
    pixels = processor(images=sample_images(), return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        text_embeds = text(input_ids=ids).text_embeds
        image_embeds = vision(pixel_values=pixels).image_embeds
    return {
        "input_ids": ids.numpy(),
        "pixel_values": pixels.numpy(),
        "text_embeds": text_embeds.numpy(),
        "image_embeds": image_embeds.numpy(),
    }


def _validate_clip(folder: Path, ref: dict[str, np.ndarray]) -> dict[str, float]:
    """Raw ONNX outputs and the engine's full pipeline, both against PyTorch."""
    model = load_model_folder(folder, threads=VALIDATION_THREADS)
    if not isinstance(model, OnnxClip):
        raise ExportError(f"{folder}: the engine did not load this export as CLIP")
    if not np.array_equal(model.tokenize(SAMPLE_TEXTS), ref["input_ids"]):
        raise ValidationFailed(
            "tokenizer.json gives other token ids than the transformers "
            "tokenizer; nothing was written",
            {},
        )
    text_raw = open_session(folder / TEXT_MODEL, VALIDATION_THREADS).run(
        ["text_embeds"], {"input_ids": ref["input_ids"]}
    )[0]
    image_raw = open_session(folder / VISION_MODEL, VALIDATION_THREADS).run(
        ["image_embeds"], {"pixel_values": ref["pixel_values"]}
    )[0]
    return {
        "text_max_abs_diff": max_abs_diff(text_raw, ref["text_embeds"]),
        "image_max_abs_diff": max_abs_diff(image_raw, ref["image_embeds"]),
        "text_pipeline_max_abs_diff": max_abs_diff(
            model.encode_text(SAMPLE_TEXTS), l2_normalise(ref["text_embeds"])
        ),
        "image_pipeline_max_abs_diff": max_abs_diff(
            model.encode_images(sample_images()), l2_normalise(ref["image_embeds"])
        ),
    }


def _clip_quant_jobs(ref: dict[str, np.ndarray]) -> list[QuantJob]:
    """Both towers already output the embedding itself."""
    return [
        (TEXT_MODEL, {"input_ids": ref["input_ids"]}, lambda out: out),
        (VISION_MODEL, {"pixel_values": ref["pixel_values"]}, lambda out: out),
    ]


def export_clip(
    source: str,
    out_dir: Path,
    *,
    opset: int = DEFAULT_OPSET,
    quantize: bool = False,
    tolerance: float = DEFAULT_TOLERANCE,
    overwrite: bool = False,
) -> Manifest:
    """Export a CLIP model (hub id or local folder) to `out_dir`; see the module docstring."""
    out_dir = Path(out_dir)
    check_target(out_dir, overwrite)
    text, vision, tokenizer, processor = _load_clip(source)
    max_length = int(text.config.max_position_embeddings)
    dim = int(text.config.projection_dim)
    manifest = new_manifest(
        source,
        KIND_CLIP,
        tokenizer,
        (TEXT_MODEL, VISION_MODEL),
        dim=dim,
        opset=opset,
        max_length=max_length,
    )
    ref = _clip_reference(text, vision, tokenizer, processor, max_length)
    steps = Steps(
        write=lambda temp: _write_clip_files(temp, text, vision, tokenizer, processor, opset),
        validate=lambda temp: _validate_clip(temp, ref),
        quant_jobs=lambda temp: _clip_quant_jobs(ref),
    )
    options = Options(quantize=quantize, tolerance=tolerance, overwrite=overwrite)
    return build(out_dir, manifest, steps, options)
