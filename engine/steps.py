"""Per-sticker build steps that read the pixels: OCR text and NSFW score.

Each runs inside the index build (as a `BuildHooks` step) and is cached by the file's content
hash and the step's identity (its code and its model's package), so a rebuild recomputes only
what changed. `stickerbot export index` and the benchmark's opt-in NSFW scoring both use them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from engine import ocr, safety
from engine.build import StickerFile
from engine.embed_cache import EmbedCache, code_identity
from engine.ocr import StickerOcr
from engine.types import StickerRecord

OCR_KIND, NSFW_KIND = "ocr", "nsfw"  # cache kinds
# What makes a cached OCR text or NSFW score stale: the step's code and its model's package.
OCR_IDENTITY = ("ocr", (Path(ocr.__file__),), ("rapidocr-onnxruntime", "onnxruntime"))
NSFW_IDENTITY = ("nsfw", (Path(safety.__file__),), ("nudenet", "onnxruntime"))


class _Scorer(Protocol):
    def score(self, image: Any) -> float: ...


def cached_value(
    cache: EmbedCache | None, kind: str, model: str, file: StickerFile, compute: Callable[[], Any]
) -> Any:
    """`compute()` once per file content and model: later builds read the cache."""
    if cache is None:
        return compute()
    hit, value = cache.value(kind, model, file.sha256)
    if not hit:
        value = compute()
        cache.put_value(kind, model, file.sha256, value)
    return value


class OcrStep:
    """Mapper: reads the text on stickers whose catalog line has none."""

    def __init__(self, reader: StickerOcr, cache: EmbedCache | None) -> None:
        self._reader, self._cache = reader, cache
        self._model = code_identity(*OCR_IDENTITY)
        self.found = 0

    def __call__(self, record: StickerRecord, file: StickerFile) -> StickerRecord:
        if record.ocr:
            return record  # a catalog's own text beats a reading of the pixels
        text = cached_value(
            self._cache, OCR_KIND, self._model, file, lambda: self._reader.read_text(file.image)
        )
        if not text:
            return record
        self.found += 1
        return dataclasses.replace(record, ocr=text)


class NsfwStep:
    """Mapper: the sticker's NSFW score, which safe mode filters on."""

    def __init__(self, scorer: _Scorer, cache: EmbedCache | None, threshold: float) -> None:
        self._scorer, self._cache, self._threshold = scorer, cache, threshold
        self._model = code_identity(*NSFW_IDENTITY)
        self.flagged = 0

    def __call__(self, record: StickerRecord, file: StickerFile) -> StickerRecord:
        score = cached_value(
            self._cache, NSFW_KIND, self._model, file, lambda: self._scorer.score(file.image)
        )
        self.flagged += score >= self._threshold
        return dataclasses.replace(record, nsfw=float(score))
