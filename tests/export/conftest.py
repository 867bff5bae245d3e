"""Session fixtures: a tiny random CLIP, built once and exported once for all export tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from export.onnx_clip import export_clip
from export.onnx_folder import Manifest
from export.tiny_clip import build_tiny_clip, clip_bpe


@pytest.fixture(scope="session")
def tiny_clip_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny-clip")
    return build_tiny_clip(root / "source", clip_bpe(root / "bpe"))


@pytest.fixture(scope="session")
def clip_export(
    tiny_clip_source: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Manifest]:
    out_dir = tmp_path_factory.mktemp("clip-export") / "clip"
    return out_dir, export_clip(str(tiny_clip_source), out_dir)
