"""A sentence-transformers text model to ONNX: the transformer, its pooling and optional dense
layer, as engine.onnx_text runs them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from optimum.exporters.onnx import export as optimum_export
from optimum.exporters.tasks import TasksManager

from engine.clip import TEXT_MODEL, load_model_folder
from engine.encoders import l2_normalise
from engine.onnx_text import KIND_SENTENCE_TRANSFORMER, POOLERS, OnnxTextModel, open_session
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
    build,
    check_target,
    max_abs_diff,
    new_manifest,
    require_fast_tokenizer,
)

DENSE_WEIGHT = "dense_weight.npy"
DENSE_BIAS = "dense_bias.npy"
SUPPORTED_ACTIVATIONS = ("identity", "tanh")  # of a Dense layer, as engine.onnx_text applies it


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
    check_target(out_dir, overwrite)
    model = SentenceTransformer(source, device="cpu").eval()
    parts = _st_parts(model)
    tokenizer = parts.transformer.tokenizer
    require_fast_tokenizer(source, tokenizer)
    max_length = int(parts.transformer.max_seq_length)
    dim = _st_dimension(model)
    manifest = new_manifest(
        source,
        KIND_SENTENCE_TRANSFORMER,
        tokenizer,
        (TEXT_MODEL,),
        dim=dim,
        opset=opset,
        max_length=max_length,
    )
    ref = _st_reference(model, parts)
    steps = Steps(
        write=lambda temp: _write_st_files(temp, parts, manifest, opset),
        validate=lambda temp: _validate_st(temp, ref),
        quant_jobs=lambda temp: _st_quant_jobs(temp, parts, ref),
    )
    options = Options(quantize=quantize, tolerance=tolerance, overwrite=overwrite)
    return build(out_dir, manifest, steps, options)
