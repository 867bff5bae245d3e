"""Sticker sets built from real image files, served by getStickerSet and sendSticker."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from .errors import EmulatorError
from .files import FileStore, StoredFile

log = logging.getLogger(__name__)

DEFAULT_SIDE = 512  # Telegram stickers fit a 512x512 box; used when the size cannot be read
DEFAULT_EMOJI = "🙂"
EMOJI_FILE = "emoji.json"  # optional per-pack mapping of file name to emoji
STATIC_SUFFIXES = frozenset({".webp", ".png", ".jpg", ".jpeg"})
ANIMATED_SUFFIX = ".tgs"  # gzipped Lottie
VIDEO_SUFFIX = ".webm"
STICKER_SUFFIXES = STATIC_SUFFIXES | {ANIMATED_SUFFIX, VIDEO_SUFFIX}


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a static image; the 512 box when Pillow cannot read it."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError):
        return DEFAULT_SIDE, DEFAULT_SIDE


def sticker_json(
    stored: StoredFile, suffix: str, emoji: str | None, set_name: str | None
) -> dict[str, Any]:
    """The Bot API `Sticker` object for one stored file."""
    suffix = suffix.lower()
    animated, video = suffix == ANIMATED_SUFFIX, suffix == VIDEO_SUFFIX
    width, height = (DEFAULT_SIDE, DEFAULT_SIDE) if animated or video else image_size(stored.read())
    sticker: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "type": "regular",
        "width": width,
        "height": height,
        "is_animated": animated,
        "is_video": video,
        "file_size": stored.file_size,
    }
    if emoji:
        sticker["emoji"] = emoji
    if set_name:
        sticker["set_name"] = set_name
    return sticker


@dataclass
class StickerSet:
    name: str
    title: str
    stickers: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "sticker_type": "regular",
            "stickers": [dict(sticker) for sticker in self.stickers],
        }


class StickerRegistry:
    """Sticker sets by name and stickers by file_id (sets and one-off uploads alike)."""

    def __init__(self, files: FileStore) -> None:
        self._files = files
        self._sets: dict[str, StickerSet] = {}
        self._by_file_id: dict[str, dict[str, Any]] = {}

    def add_set(self, name: str, title: str, files: Sequence[tuple[Path, str]]) -> StickerSet:
        if not files:
            raise EmulatorError(f"sticker set {name!r} has no files")
        sticker_set = StickerSet(name=name, title=title)
        for path, emoji in files:
            sticker_set.stickers.append(self.register(Path(path), emoji, name))
        self._sets[name] = sticker_set
        return sticker_set

    def register(
        self,
        source: Path | bytes,
        emoji: str | None,
        set_name: str | None,
        suffix: str | None = None,
    ) -> dict[str, Any]:
        """Store one sticker file; `suffix` is required for in-memory uploads."""
        if isinstance(source, Path):
            if not source.is_file():
                raise EmulatorError(f"sticker file not found: {source}")
            suffix = source.suffix
        suffix = suffix or ".webp"
        stored = self._files.add(source, "sticker", suffix)
        sticker = sticker_json(stored, suffix, emoji, set_name)
        self._by_file_id[stored.file_id] = sticker
        return sticker

    def get_set(self, name: str) -> StickerSet | None:
        return self._sets.get(name)

    def by_file_id(self, file_id: str) -> dict[str, Any] | None:
        return self._by_file_id.get(file_id)

    def load_packs(self, folder: Path) -> list[StickerSet]:
        """Every subfolder with sticker files becomes a set named after the folder."""
        loaded = []
        for pack in sorted(path for path in Path(folder).iterdir() if path.is_dir()):
            files = pack_files(pack)
            if files:
                loaded.append(self.add_set(pack.name, pack.name, files))
            else:
                log.warning("skipping %s: no sticker files", pack)
        return loaded


def pack_files(pack: Path) -> list[tuple[Path, str]]:
    """(file, emoji) pairs of one pack folder, sorted by file name for a stable order."""
    emoji_path = pack / EMOJI_FILE
    emojis: dict[str, str] = {}
    if emoji_path.is_file():
        emojis = json.loads(emoji_path.read_text(encoding="utf-8"))
    return [
        (path, emojis.get(path.name, DEFAULT_EMOJI))
        for path in sorted(pack.iterdir())
        if path.suffix.lower() in STICKER_SUFFIXES
    ]
