"""Emoji artwork read by the names emoji image packages give their files."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from engine.bench.restyled import art_by_emoji
from engine.emoji import normalise


def test_art_is_found_by_code_points_with_variation_selectors_dropped(tmp_path: Path) -> None:
    for name in ("0023-fe0f-20e3.webp", "1F431.PNG", "2764-fe0f.png", "ffff-zz.png", "1f600.gif"):
        Image.new("RGBA", (4, 4)).save(tmp_path / name, format="PNG")

    found = art_by_emoji(tmp_path)

    assert found == {
        normalise("#️⃣"): tmp_path / "0023-fe0f-20e3.webp",
        "🐱": tmp_path / "1F431.PNG",
        normalise("❤️"): tmp_path / "2764-fe0f.png",
    }
    assert "❤" in found  # the keyword table's key: U+FE0F dropped
