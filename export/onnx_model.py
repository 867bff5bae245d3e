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

import logging
from collections.abc import Callable
from pathlib import Path

import typer

from export.model_source import check_source
from export.onnx_clip import export_clip
from export.onnx_folder import DEFAULT_OPSET, DEFAULT_TOLERANCE, Manifest
from export.onnx_sentence import export_sentence_transformer

log = logging.getLogger(__name__)

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
    """The command line of one export function: the source checked, the same arguments,
    then a logged summary."""

    def command(
        source: str,
        out_dir: Path,
        quantize: bool = False,
        overwrite: bool = False,
        opset: int = DEFAULT_OPSET,
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> None:
        check_source(source)
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
