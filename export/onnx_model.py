"""Export CLIP or a sentence-transformers text model to an ONNX folder the engine runs torch-free.

Usage (from the repository root, with the `export` extra installed):

    python -m export.onnx_model clip openai/clip-vit-base-patch32 models/clip [--quantize]
    python -m export.onnx_model sentence-transformer \
        sentence-transformers/clip-ViT-B-32-multilingual-v1 models/clip-text-multilingual

Every folder is checked before it appears: the engine's own loader (`engine.clip`) runs on sample
texts and images and must match PyTorch within a tolerance, else nothing is written. Files are
built in a temporary folder beside the target and renamed into place at the end.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
import typer
from optimum.exporters.onnx import export as optimum_export
from optimum.exporters.onnx.model_configs import (
    CLIPTextWithProjectionOnnxConfig,
    CLIPVisionModelOnnxConfig,
)
from optimum.exporters.tasks import TasksManager
from PIL import Image

from engine.clip import PREPROCESS_NAME, TEXT_MODEL, VISION_MODEL, OnnxClip, load_model_folder
from engine.encoders import l2_normalise
from engine.onnx_text import (
    KIND_CLIP,
    KIND_SENTENCE_TRANSFORMER,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    POOLERS,
    OnnxTextModel,
    file_sha256,
    open_session,
)

log = logging.getLogger(__name__)

DEFAULT_OPSET = 17
DEFAULT_TOLERANCE = 1e-4
# int8 weights are kept only if embeddings barely move: below this, neighbours start to reorder.
MIN_QUANTIZED_COSINE = 0.99
TIMING_RUNS = 5
VALIDATION_THREADS = 2
FOLDER_MODE = 0o755
TOKENIZER_NAME = "tokenizer.json"
DENSE_WEIGHT = "dense_weight.npy"
DENSE_BIAS = "dense_bias.npy"
FEATURE_TASK = "feature-extraction"
SAMPLE_SEED = 0
# Mixed scripts, emoji, punctuation and one text longer than CLIP's 77 tokens (truncation).
SAMPLE_TEXTS = (
    "a photo of a cat",
    "face with tears of joy 😂",
    "любовь и счастье",
    "Ça va ? naïve café",
    "笑死我了",
    "ok",
    " ".join(["very"] * 100) + " long caption",
)
SAMPLE_IMAGE_SIZES = ((40, 30), (64, 64), (50, 90), (300, 200))
SUPPORTED_ACTIVATIONS = ("identity", "tanh")


# (ONNX file name, reference inputs, how its raw output becomes an embedding) for quantisation.
QuantJob = tuple[str, dict[str, np.ndarray], Callable[[np.ndarray], np.ndarray]]


class ExportError(Exception):
    """The export cannot go ahead; the message says why and what to change."""


class ValidationFailed(ExportError):
    """ONNX (or the engine's pipeline) disagrees with PyTorch beyond the tolerance."""

    def __init__(self, problem: str, report: dict[str, float]) -> None:
        super().__init__(problem)
        self.report = report


@dataclass(frozen=True)
class QuantReport:
    """Float versus int8 for one ONNX file; `kept` says which one the folder holds."""

    file: str
    kept: bool
    mean_cosine: float
    threshold: float
    float_bytes: int
    int8_bytes: int
    float_ms: float
    int8_ms: float


@dataclass
class Manifest:
    """What `manifest.json` holds; `engine.onnx_text.read_manifest` reads it back."""

    source: str
    kind: str
    dim: int
    opset: int
    max_length: int
    tokenizer: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)
    precision: dict[str, str] = field(default_factory=dict)
    validation: dict[str, float] = field(default_factory=dict)
    quantization: list[QuantReport] = field(default_factory=list)
    text_pipeline: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    format_version: int = MANIFEST_FORMAT

    def write(self, folder: Path) -> None:
        """Hash every other file in `folder`, then write manifest.json."""
        self.files = {
            path.name: file_sha256(path)
            for path in sorted(folder.iterdir())
            if path.is_file() and path.name != MANIFEST_NAME
        }
        text = json.dumps(asdict(self), indent=2, ensure_ascii=False)
        (folder / MANIFEST_NAME).write_text(text + "\n", encoding="utf-8")


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


def tool_versions() -> dict[str, str]:
    names = (
        "onnxruntime",
        "onnx",
        "optimum",
        "optimum-onnx",
        "transformers",
        "torch",
        "tokenizers",
        "sentence-transformers",
    )
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


# ---------------------------------------------------------------- folder handling


def _check_target(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not overwrite:
        raise ExportError(
            f"{out_dir} already exists; remove it or pass overwrite=True (--overwrite)"
        )


@contextmanager
def _staging(out_dir: Path, overwrite: bool) -> Iterator[Path]:
    """A temporary folder beside `out_dir` that replaces it only if the block succeeds."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Same parent, so the final rename stays on one filesystem and is atomic.
    temp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    temp.chmod(FOLDER_MODE)  # mkdtemp makes it private; the bot may run as another user
    try:
        yield temp
        _publish(temp, out_dir, overwrite)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _publish(temp: Path, out_dir: Path, overwrite: bool) -> None:
    _check_target(out_dir, overwrite)
    if not out_dir.exists():
        temp.rename(out_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
    old.rmdir()
    out_dir.rename(old)
    temp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------- shared checks


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def _enforce(report: dict[str, float], tolerance: float) -> None:
    worst = max(report.values())
    # `not <=` so a NaN difference fails too.
    if not worst <= tolerance:
        raise ValidationFailed(
            f"ONNX differs from PyTorch by {worst:.3g} (tolerance {tolerance:g}): "
            f"{json.dumps(report)}; nothing was written",
            report,
        )


def sample_images(seed: int = SAMPLE_SEED) -> list[Image.Image]:
    """Seeded random RGB images of several sizes and aspect ratios."""
    rng = np.random.default_rng(seed)
    return [
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")
        for w, h in SAMPLE_IMAGE_SIZES
    ]


def _timed_run(path: Path, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
    """First output of `path` on `feed`, and the median run time in milliseconds."""
    session = open_session(path, VALIDATION_THREADS)
    output = session.run(None, feed)[0]  # warm-up, also the result
    times = []
    for _ in range(TIMING_RUNS):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1000)
    return output, statistics.median(times)


def _quantize(
    path: Path, feed: dict[str, np.ndarray], embed: Callable[[np.ndarray], np.ndarray]
) -> QuantReport:
    """Dynamic int8 copy of `path`; it replaces the float file only if embeddings stay close."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8_path = path.with_suffix(".int8.onnx")
    quantize_dynamic(path, int8_path, weight_type=QuantType.QInt8)
    float_out, float_ms = _timed_run(path, feed)
    int8_out, int8_ms = _timed_run(int8_path, feed)
    cosines = np.sum(l2_normalise(embed(float_out)) * l2_normalise(embed(int8_out)), axis=1)
    mean_cosine = float(np.mean(cosines))
    report = QuantReport(
        file=path.name,
        kept=mean_cosine >= MIN_QUANTIZED_COSINE,
        mean_cosine=mean_cosine,
        threshold=MIN_QUANTIZED_COSINE,
        float_bytes=path.stat().st_size,
        int8_bytes=int8_path.stat().st_size,
        float_ms=float_ms,
        int8_ms=int8_ms,
    )
    if report.kept:
        os.replace(int8_path, path)
    else:
        int8_path.unlink()
    return report


def _apply_quantization(manifest: Manifest, folder: Path, jobs: Sequence[QuantJob]) -> None:
    for filename, feed, embed in jobs:
        report = _quantize(folder / filename, feed, embed)
        manifest.quantization.append(report)
        manifest.precision[filename] = "int8" if report.kept else "float32"
    manifest.write(folder)


# ---------------------------------------------------------------- shared steps


def _require_fast_tokenizer(source: str, tokenizer: Any) -> None:
    if not tokenizer.is_fast:
        raise ExportError(f"{source}: no fast tokenizer, so no tokenizer.json for the engine")


def _new_manifest(
    source: str,
    kind: str,
    tokenizer: Any,
    models: Sequence[str],
    *,
    dim: int,
    opset: int,
    max_length: int,
) -> Manifest:
    """What is known before any file is written: every ONNX file in `models` starts as float32."""
    return Manifest(
        source=source,
        kind=kind,
        dim=dim,
        opset=opset,
        max_length=max_length,
        versions=tool_versions(),
        tokenizer={
            "file": TOKENIZER_NAME,
            "pad_id": int(tokenizer.pad_token_id),
            "pad_token": str(tokenizer.pad_token),
        },
        precision=dict.fromkeys(models, "float32"),
    )


@dataclass(frozen=True)
class _Steps:
    """The model-specific steps of an export; `_build` runs them in the staging folder."""

    write: Callable[[Path], None]  # the model's files, tokenizer.json included
    validate: Callable[[Path], dict[str, float]]  # max abs differences against PyTorch
    quant_jobs: Callable[[Path], Sequence[QuantJob]]


@dataclass(frozen=True, kw_only=True)
class _Options:
    """What the caller chose for the export, the same for every kind of model."""

    quantize: bool
    tolerance: float
    overwrite: bool


def _build(out_dir: Path, manifest: Manifest, steps: _Steps, options: _Options) -> Manifest:
    """Write, validate and maybe quantise in a staging folder; it becomes `out_dir` at the end."""
    with _staging(out_dir, options.overwrite) as temp:
        steps.write(temp)
        manifest.write(temp)  # the engine's loader, which validation runs, reads it
        manifest.validation = _validated(steps.validate(temp), options.tolerance)
        manifest.write(temp)
        if options.quantize:
            _apply_quantization(manifest, temp, steps.quant_jobs(temp))
    return manifest


def _validated(report: dict[str, float], tolerance: float) -> dict[str, float]:
    """`report` with the tolerance it was held to, once it is within it."""
    _enforce(report, tolerance)
    return {**report, "tolerance": tolerance}


# ---------------------------------------------------------------- CLIP


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
    _require_fast_tokenizer(source, tokenizer)
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
    _check_target(out_dir, overwrite)
    text, vision, tokenizer, processor = _load_clip(source)
    max_length = int(text.config.max_position_embeddings)
    dim = int(text.config.projection_dim)
    manifest = _new_manifest(
        source,
        KIND_CLIP,
        tokenizer,
        (TEXT_MODEL, VISION_MODEL),
        dim=dim,
        opset=opset,
        max_length=max_length,
    )
    ref = _clip_reference(text, vision, tokenizer, processor, max_length)
    steps = _Steps(
        write=lambda temp: _write_clip_files(temp, text, vision, tokenizer, processor, opset),
        validate=lambda temp: _validate_clip(temp, ref),
        quant_jobs=lambda temp: _clip_quant_jobs(ref),
    )
    options = _Options(quantize=quantize, tolerance=tolerance, overwrite=overwrite)
    return _build(out_dir, manifest, steps, options)


# ---------------------------------------------------------------- sentence-transformers


@dataclass
class _StParts:
    transformer: Any
    pooling: str
    dense: Any | None
    normalize: bool


def _pooling_mode(module: Any) -> str:
    mode = getattr(module, "pooling_mode", None)  # sentence-transformers 5
    if mode is None:
        mode = module.get_pooling_mode_str()  # sentence-transformers 3 and 4
    if not isinstance(mode, str) or mode not in POOLERS:
        raise ExportError(f"pooling {mode!r} is not supported; only {sorted(POOLERS)}")
    return mode


def _st_parts(model: Any) -> _StParts:
    """The Transformer, Pooling, Dense and Normalize modules, refusing anything else."""
    parts = _StParts(transformer=None, pooling="", dense=None, normalize=False)
    for module in model:
        kind = type(module).__name__
        if kind == "Transformer" and parts.transformer is None:
            parts.transformer = module
        elif kind == "Pooling":
            parts.pooling = _pooling_mode(module)
        elif kind == "Dense" and parts.dense is None:
            parts.dense = module
        elif kind == "Normalize":
            parts.normalize = True
        else:
            raise ExportError(
                f"module {kind} is not supported; expected Transformer, Pooling, "
                "at most one Dense and Normalize"
            )
    if parts.transformer is None or not parts.pooling:
        raise ExportError("model lacks a Transformer or a Pooling module")
    return parts


def _st_dimension(model: Any) -> int:
    # sentence-transformers 5 renamed the method; 3 and 4 only have the old name.
    getter = getattr(model, "get_embedding_dimension", None)
    return int(getter() if getter else model.get_sentence_embedding_dimension())


def _write_dense(temp: Path, dense: Any | None) -> dict[str, Any] | None:
    if dense is None:
        return None
    activation = type(dense.activation_function).__name__.lower()
    if activation not in SUPPORTED_ACTIVATIONS:
        raise ExportError(f"Dense activation {activation} is not supported")
    np.save(temp / DENSE_WEIGHT, dense.linear.weight.detach().cpu().numpy().astype(np.float32))
    spec: dict[str, Any] = {"weight": DENSE_WEIGHT, "bias": None, "activation": activation}
    if dense.linear.bias is not None:
        np.save(temp / DENSE_BIAS, dense.linear.bias.detach().cpu().numpy().astype(np.float32))
        spec["bias"] = DENSE_BIAS
    return spec


def _export_transformer(auto_model: Any, path: Path, opset: int) -> None:
    constructor = TasksManager.get_exporter_config_constructor(
        exporter="onnx", model=auto_model, task=FEATURE_TASK, library_name="transformers"
    )
    optimum_export(auto_model, constructor(auto_model.config), path, opset=opset)


def _st_reference(model: Any, parts: _StParts) -> dict[str, np.ndarray]:
    batch = parts.transformer.tokenizer(
        list(SAMPLE_TEXTS),
        padding=True,
        truncation=True,
        max_length=int(parts.transformer.max_seq_length),
        return_tensors="pt",
    )
    with torch.no_grad():
        hidden = parts.transformer.auto_model(**batch).last_hidden_state
    embeddings = model.encode(
        list(SAMPLE_TEXTS), convert_to_numpy=True, batch_size=len(SAMPLE_TEXTS)
    )
    feed = {name: tensor.numpy().astype(np.int64) for name, tensor in batch.items()}
    return {"hidden": hidden.numpy(), "embeddings": l2_normalise(embeddings), **feed}


def _st_feed(path: Path, ref: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The reference tokenizer outputs this ONNX file takes (BERT wants token_type_ids too)."""
    wanted = {i.name for i in open_session(path, VALIDATION_THREADS).get_inputs()}
    return {name: ref[name] for name in wanted}


def _validate_st(folder: Path, ref: dict[str, np.ndarray]) -> dict[str, float]:
    model = load_model_folder(folder, threads=VALIDATION_THREADS)
    if not isinstance(model, OnnxTextModel):
        raise ExportError(f"{folder}: the engine did not load this export as a text model")
    feed = _st_feed(folder / TEXT_MODEL, ref)
    hidden = open_session(folder / TEXT_MODEL, VALIDATION_THREADS).run(None, feed)[0]
    # Padding positions are never pooled, so only the kept tokens have to agree.
    mask = ref["attention_mask"][..., None].astype(bool)
    return {
        "text_max_abs_diff": max_abs_diff(
            np.where(mask, hidden, 0), np.where(mask, ref["hidden"], 0)
        ),
        "text_pipeline_max_abs_diff": max_abs_diff(
            model.encode_text(SAMPLE_TEXTS), ref["embeddings"]
        ),
    }


def _write_st_files(temp: Path, parts: _StParts, manifest: Manifest, opset: int) -> None:
    """The transformer in ONNX and the tokenizer; pooling and Dense go in the manifest."""
    _export_transformer(parts.transformer.auto_model, temp / TEXT_MODEL, opset)
    parts.transformer.tokenizer.backend_tokenizer.save(str(temp / TOKENIZER_NAME))
    manifest.text_pipeline = {
        "model": TEXT_MODEL,
        "pooling": parts.pooling,
        "dense": _write_dense(temp, parts.dense),
        "normalize": parts.normalize,
    }


def _st_quant_jobs(folder: Path, parts: _StParts, ref: dict[str, np.ndarray]) -> list[QuantJob]:
    """The transformer outputs token states: pooled, they become the embedding to compare."""
    pool = POOLERS[parts.pooling]
    return [
        (
            TEXT_MODEL,
            _st_feed(folder / TEXT_MODEL, ref),
            lambda out: pool(out, ref["attention_mask"]),
        )
    ]


def export_sentence_transformer(
    source: str,
    out_dir: Path,
    *,
    opset: int = DEFAULT_OPSET,
    quantize: bool = False,
    tolerance: float = DEFAULT_TOLERANCE,
    overwrite: bool = False,
) -> Manifest:
    """Export a sentence-transformers text model: transformer in ONNX, pooling/Dense as data."""
    from sentence_transformers import SentenceTransformer

    out_dir = Path(out_dir)
    _check_target(out_dir, overwrite)
    model = SentenceTransformer(source, device="cpu").eval()
    parts = _st_parts(model)
    tokenizer = parts.transformer.tokenizer
    _require_fast_tokenizer(source, tokenizer)
    max_length = int(parts.transformer.max_seq_length)
    dim = _st_dimension(model)
    manifest = _new_manifest(
        source,
        KIND_SENTENCE_TRANSFORMER,
        tokenizer,
        (TEXT_MODEL,),
        dim=dim,
        opset=opset,
        max_length=max_length,
    )
    ref = _st_reference(model, parts)
    steps = _Steps(
        write=lambda temp: _write_st_files(temp, parts, manifest, opset),
        validate=lambda temp: _validate_st(temp, ref),
        quant_jobs=lambda temp: _st_quant_jobs(temp, parts, ref),
    )
    options = _Options(quantize=quantize, tolerance=tolerance, overwrite=overwrite)
    return _build(out_dir, manifest, steps, options)


# ---------------------------------------------------------------- command line

app = typer.Typer(add_completion=False, help="Export models to ONNX folders for the engine.")


def _summarise(manifest: Manifest, out_dir: Path) -> None:
    log.info(
        "wrote %s: %s %s, dim %d, validation %s",
        out_dir,
        manifest.kind,
        manifest.source,
        manifest.dim,
        manifest.validation,
    )
    for report in manifest.quantization:
        log.info(
            "int8 %s: kept=%s cosine=%.4f size %d -> %d bytes, %.1f -> %.1f ms",
            report.file,
            report.kept,
            report.mean_cosine,
            report.float_bytes,
            report.int8_bytes,
            report.float_ms,
            report.int8_ms,
        )


def _command(export: Callable[..., Manifest]) -> Callable[..., None]:
    """The command line of one export function: same arguments, then a logged summary."""

    def command(
        source: str,
        out_dir: Path,
        quantize: bool = False,
        overwrite: bool = False,
        opset: int = DEFAULT_OPSET,
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> None:
        manifest = export(
            source,
            out_dir,
            opset=opset,
            quantize=quantize,
            tolerance=tolerance,
            overwrite=overwrite,
        )
        _summarise(manifest, out_dir)

    return command


app.command("clip", help="Export a CLIP model (e.g. openai/clip-vit-base-patch32).")(
    _command(export_clip)
)
app.command(
    "sentence-transformer",
    help="Export a sentence-transformers text model (e.g. clip-ViT-B-32-multilingual-v1).",
)(_command(export_sentence_transformer))


if __name__ == "__main__":  # optimum may start worker processes: only run under this guard
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    app()
