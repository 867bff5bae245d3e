"""What every model export shares: a folder staged beside its target and renamed into place,
validated against PyTorch on sample texts and images, optionally quantised to int8, and
described by its manifest (read back by engine.onnx_text)."""

from __future__ import annotations

import json
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
from PIL import Image

from engine.encoders import l2_normalise
from engine.onnx_text import MANIFEST_FORMAT, MANIFEST_NAME, file_sha256, open_session

DEFAULT_OPSET = 17
DEFAULT_TOLERANCE = 1e-4
# int8 weights are kept only if embeddings barely move: below this, neighbours start to reorder.
MIN_QUANTIZED_COSINE = 0.99
TIMING_RUNS = 5
VALIDATION_THREADS = 2
FOLDER_MODE = 0o755
TOKENIZER_NAME = "tokenizer.json"
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
FEATURE_TASK = "feature-extraction"  # what optimum exports the towers and transformers for


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


def check_target(out_dir: Path, overwrite: bool) -> None:
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
    check_target(out_dir, overwrite)
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


def require_fast_tokenizer(source: str, tokenizer: Any) -> None:
    if not tokenizer.is_fast:
        raise ExportError(f"{source}: no fast tokenizer, so no tokenizer.json for the engine")


def new_manifest(
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
class Steps:
    """The model-specific steps of an export; `build` runs them in the staging folder."""

    write: Callable[[Path], None]  # the model's files, tokenizer.json included
    validate: Callable[[Path], dict[str, float]]  # max abs differences against PyTorch
    quant_jobs: Callable[[Path], Sequence[QuantJob]]


@dataclass(frozen=True, kw_only=True)
class Options:
    """What the caller chose for the export, the same for every kind of model."""

    quantize: bool
    tolerance: float
    overwrite: bool


def build(out_dir: Path, manifest: Manifest, steps: Steps, options: Options) -> Manifest:
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
