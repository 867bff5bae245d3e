"""resource_path: bundled files resolve from the source tree and from a frozen binary."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine import demo, emoji
from engine.resources import SOURCE_ROOT, bundle_root, resource_path

REPO = Path(__file__).resolve().parent.parent


def test_source_tree_resolves_to_the_repository() -> None:
    assert SOURCE_ROOT == REPO
    assert bundle_root() == REPO
    assert resource_path("data/emoji/keywords.jsonl.gz") == REPO / "data/emoji/keywords.jsonl.gz"


def test_shipped_data_is_found_through_it() -> None:
    assert resource_path("data/emoji/keywords.jsonl.gz") == emoji.DEFAULT_PATH
    assert emoji.DEFAULT_PATH.is_file()
    assert resource_path("data/demo") == demo.DEMO_DIR
    assert (demo.DEMO_DIR / "catalog.jsonl").is_file()


def test_frozen_app_resolves_inside_the_unpacked_bundle(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert bundle_root() == tmp_path
    assert resource_path(Path("data") / "demo") == tmp_path / "data" / "demo"


def test_meipass_alone_does_not_count_as_frozen(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert bundle_root() == REPO


def test_absolute_paths_are_refused() -> None:
    with pytest.raises(ValueError, match="relative"):
        resource_path(REPO / "data")
