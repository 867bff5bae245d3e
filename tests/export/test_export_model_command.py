"""`stickerbot export model`: the command users run to bring their own text model or CLIP."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from huggingface_hub import constants
from typer.testing import CliRunner

from bot.cli import app
from bot.cli_support import EXIT_FAILURE
from engine.clip import load_model_folder
from engine.onnx_text import OnnxTextModel
from export.tiny_text import DENSE_OUT, build_tiny_sentence_transformer


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_a_sentence_transformer_exported_from_the_command_loads_in_the_engine(
    runner: CliRunner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = build_tiny_sentence_transformer(tmp_path / "source")
    out_dir = tmp_path / "models" / "text"
    args = ["export", "model", "sentence-transformer", str(source), str(out_dir)]
    with caplog.at_level("INFO"):
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    model = load_model_folder(out_dir)
    assert isinstance(model, OnnxTextModel)
    assert model.encode_text(["sleepy cat"]).shape == (1, DENSE_OUT)
    assert f"wrote {out_dir}: sentence-transformer" in caplog.text  # the summary users see


def test_exporting_over_a_folder_is_one_line_and_leaves_it_as_it_was(
    runner: CliRunner, tmp_path: Path
) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "mine.txt").write_text("keep me")
    args = ["export", "model", "clip", str(tmp_path / "no-such-source"), str(taken)]
    result = runner.invoke(app, args)
    assert result.exit_code == EXIT_FAILURE
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert "Traceback" not in result.output
    assert (taken / "mine.txt").read_text() == "keep me"


def test_a_missing_folder_is_refused_in_one_line_before_anything_loads(
    runner: CliRunner, tmp_path: Path
) -> None:
    missing, out_dir = tmp_path / "missing", tmp_path / "out"
    args = ["export", "model", "sentence-transformer", str(missing), str(out_dir)]
    result = runner.invoke(app, args)
    assert result.exit_code == EXIT_FAILURE
    assert result.output == f"error: {missing}: no such folder\n"
    assert not out_dir.exists()


def test_a_hub_model_with_the_hub_out_of_reach_is_refused_at_once_in_one_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A port nothing listens on: the hub is out of reach here whatever the network.
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    args = ["export", "model", "sentence-transformer", "someone/some-model", str(tmp_path / "o")]
    result = runner.invoke(app, args)
    assert result.exit_code == EXIT_FAILURE
    assert result.output.startswith("error: someone/some-model is no folder here and http://")
    assert "HF_HUB_OFFLINE=1" in result.output and result.output.count("\n") == 1
    assert not (tmp_path / "o").exists()


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
