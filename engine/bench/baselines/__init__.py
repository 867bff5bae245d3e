"""Reproductions of peer systems as benchmark rankers, for side-by-side runs with Stickerbot.

- `persrv.PerSRVRanker`: PerSRV (arXiv 2410.21801), BM25 recall plus per-user style clusters.
- `sticker_finder.StickerFinderRanker`: sticker-finder's tag, pack-name and usage scoring with a
  pg_trgm fuzzy fallback.
"""

from engine.bench.baselines.persrv import PerSRVRanker
from engine.bench.baselines.sticker_finder import StickerFinderRanker

__all__ = ["PerSRVRanker", "StickerFinderRanker"]
