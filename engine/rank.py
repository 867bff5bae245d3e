"""Personalised ranking: relevance first, then the user's taste, then crowd utility.

score = relevance x (1 + PERSONAL x confidence x taste) x (1 + CROWD x utility)

Taste mixes style closeness (pixels: it carries over to packs the user never opened), pack
affinity and repeat affinity. It multiplies relevance, as in PerSRV, so a sticker the user loves
never outranks one that means what they typed unless both are relevant. Confidence grows with
the user's (recency-weighted) history, so a new user gets the crowd's order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.crowd import Crowd
from engine.index import CatalogIndex
from engine.profile import Profile, affinities, style_affinity
from engine.recall import Evidence

PERSONAL = 2.0  # how far taste can lift a relevant sticker (x3 at full confidence and taste)
CROWD = 0.15  # popularity only breaks near-ties
W_STYLE, W_PACK, W_REPEAT = 0.8, 0.15, 0.05
CONFIDENCE_HALF = 3.0  # recency-weighted events at which taste counts half
TASTE_REASON = 0.5  # a taste component above this is worth naming in the reason


@dataclass(frozen=True, slots=True)
class Ranked:
    row: int
    score: float
    reason: str


def rank(
    index: CatalogIndex,
    evidence: dict[int, Evidence],
    profile: Profile,
    crowd: Crowd,
    *,
    allowed: np.ndarray | None = None,
    limit: int | None = None,
) -> list[Ranked]:
    """The best `limit` candidates of `evidence` (all by default), best first.

    `allowed` is a boolean mask of the rows we may show (safe mode)."""
    rows = np.fromiter(evidence.keys(), dtype=np.int64, count=len(evidence))
    if allowed is not None and len(rows):
        rows = rows[allowed[rows]]
    if len(rows) == 0:
        return []
    relevance = np.array([evidence[int(r)].score for r in rows], dtype=np.float32)
    style, pack, repeat = _taste_parts(index, profile, rows)
    taste = W_STYLE * style + W_PACK * pack + W_REPEAT * repeat
    confidence = profile.mass / (profile.mass + CONFIDENCE_HALF)
    utility = np.array([crowd.utility(index.records[int(r)].sticker_id) for r in rows], np.float32)
    scores = relevance * (1 + PERSONAL * confidence * taste) * (1 + CROWD * utility)
    order = np.lexsort((rows, -scores))[:limit]  # ties by catalog order: pages stay stable
    return [
        Ranked(
            int(rows[i]),
            float(scores[i]),
            _reason(evidence[int(rows[i])].reason, style[i], pack[i], repeat[i], confidence),
        )
        for i in order
    ]


def _taste_parts(
    index: CatalogIndex, profile: Profile, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    style = style_affinity(profile, index.pack_style_of(rows))
    records = index.records
    pack = affinities(profile.packs, [records[r].set_name for r in rows])
    repeat = affinities(profile.stickers, [records[r].sticker_id for r in rows])
    return style, pack, repeat


def _reason(relevance: str, style: float, pack: float, repeat: float, confidence: float) -> str:
    parts = [relevance] if relevance else []
    if confidence > 0:
        if repeat > TASTE_REASON:
            parts.append("you sent it before")
        elif pack > TASTE_REASON:
            parts.append("from a pack you use")
        elif style > TASTE_REASON:
            parts.append("in your style")
    return "; ".join(parts) or "popular"
