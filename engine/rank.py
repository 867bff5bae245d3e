"""Personalised ranking: relevance first, then the user's taste, then crowd utility.

score = relevance x (1 + PERSONAL x confidence x taste) x (1 + CROWD x utility)

Taste mixes style closeness, pack affinity and repeat affinity. Style closeness carries over to
packs the user never opened: half is the pixel closeness to the user's style clusters, half the
walk from their recent packs to the packs drawn alike (engine/pack_neighbours.py).

Taste multiplies relevance, as in PerSRV, so a sticker the user loves never outranks one that
means what they typed unless both are relevant. Confidence grows with the user's
(recency-weighted) history, so a new user gets the crowd's order. Where one meaning comes in
several packs, style closeness counts in full only for the copy closest to the user's style, so
the next meaning in their style comes before a second copy of the first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.crowd import Crowd
from engine.index import CatalogIndex
from engine.pack_neighbours import PackNeighbours
from engine.profile import Profile, relative_weights, style_affinity
from engine.recall import Candidates
from engine.selection import best_first

PERSONAL = 2.0  # how far taste can lift a relevant sticker (x3 at full confidence and taste)
CROWD = 0.15  # popularity only breaks near-ties
W_STYLE, W_PACK, W_REPEAT = 0.8, 0.15, 0.05
CONFIDENCE_HALF = 3.0  # recency-weighted events at which taste counts half
TASTE_REASON = 0.5  # a taste component above this is worth naming in the reason
# Slack on the largest possible lift, for float32 rounding in the score product.
LIFT_SLACK = 1e-5
# Of the stickers that mean the same (one caption in several packs), the one closest to the
# user's style leads: each other keeps its style closeness times (its closeness / the leader's)
# to this power. Without it a second pack's copy of the best meaning, nearly as close in pixel
# style, outranks the next meaning in the user's own style.
SIBLING_CONTRAST = 4.0
# The share of style closeness the walk over packs alike gives (when it exists), the rest coming
# from the style clusters, which keep what pixels say about packs nobody has used together yet.
# A sticker's pixels tell two styles drawn alike apart less surely than whole packs and who uses
# them together do: with one development style redrawn in another art style (bench-restyle, six
# copies of each set), style@5 gained up to 0.012 over half and half and lost at most 0.002,
# and the development sets themselves scored 0.737 and 0.829 against 0.737 and 0.823.
WALK_SHARE = 0.75


@dataclass(frozen=True, slots=True)
class Ranked:
    row: int
    score: float
    reason: str


def rank(
    index: CatalogIndex,
    candidates: Candidates,
    profile: Profile,
    crowd: Crowd,
    *,
    neighbours: PackNeighbours | None = None,
    allowed: np.ndarray | None = None,
    limit: int | None = None,
) -> list[Ranked]:
    """The best `limit` of `candidates` (all by default), best first.

    `neighbours` are the catalog's packs alike (style then rests on the clusters alone without
    them); `allowed` is a boolean mask of the rows we may show (safe mode)."""
    confidence = profile.mass / (profile.mass + CONFIDENCE_HALF)
    picked = _shown(candidates, allowed)  # positions in `candidates`
    relevance = candidates.scores[picked].astype(np.float32)  # float32, as scores are
    unranked = np.zeros(0, np.int64)  # rows shown but out of the running
    if limit is not None:
        contenders = _contenders(relevance, limit, _max_lift(confidence))
        unranked = candidates.rows[picked[~contenders]]
        picked, relevance = picked[contenders], relevance[contenders]
    if len(picked) == 0:
        return []
    rows = candidates.rows[picked]
    pack_style = _pack_style(index, profile, neighbours)
    style, lead_share = _style_among_siblings(index, pack_style, rows, unranked)
    pack, repeat = _habit_parts(index, profile, rows)
    taste = W_STYLE * style * lead_share + W_PACK * pack + W_REPEAT * repeat
    utility = _utilities(index, crowd, rows)
    scores = relevance * (1 + PERSONAL * confidence * taste) * (1 + CROWD * utility)
    # Ties by catalog order: pages stay stable.
    order = best_first(scores, len(scores) if limit is None else limit, ties=rows)
    # Plain lists from here: numpy scalars are slow one at a time.
    reason_ids = candidates.reason_ids[picked]
    columns = (part[order].tolist() for part in (rows, scores, style, pack, repeat, reason_ids))
    return [
        Ranked(row, score, _reason(candidates.reasons[reason], s, p, r, confidence))
        for row, score, s, p, r, reason in zip(*columns, strict=True)
    ]


def _shown(candidates: Candidates, allowed: np.ndarray | None) -> np.ndarray:
    """Positions of the candidates we may show."""
    if allowed is None or not len(candidates):
        return np.arange(len(candidates))
    return np.flatnonzero(allowed[candidates.rows])


def _utilities(index: CatalogIndex, crowd: Crowd, rows: np.ndarray) -> np.ndarray:
    """Crowd utility per row: by row when the crowd numbers this catalog's rows, else by id
    (the crowd counts by sticker id, as rows change with the catalog)."""
    found = crowd.usage.utilities_by_row(index.row_of, rows)
    if found is None:
        sticker_ids = index.rows.sticker_ids
        found = crowd.utilities([sticker_ids[r] for r in rows.tolist()])
    return found.astype(np.float32)


def _max_lift(confidence: float) -> float:
    """The most ranking can multiply a relevance by: taste (weights summing to 1 over parts
    of at most 1) and utility are each at most 1."""
    return (1 + PERSONAL * confidence) * (1 + CROWD)


def _contenders(relevance: np.ndarray, limit: int, max_lift: float) -> np.ndarray:
    """Which relevances can still reach the best `limit`: one that, lifted as far as ranking
    can, stays below the `limit`-th best relevance is beaten by at least `limit` rows (a score
    is never below its relevance). Exact, and it spares the taste of weak matches."""
    if limit <= 0 or len(relevance) <= limit:
        return np.ones(len(relevance), bool)
    bar = np.partition(relevance, len(relevance) - limit)[len(relevance) - limit]
    return relevance * (max_lift * (1 + LIFT_SLACK)) >= bar


def _pack_style(
    index: CatalogIndex, profile: Profile, neighbours: PackNeighbours | None
) -> Callable[[np.ndarray], np.ndarray]:
    """The user's style closeness of packs, by pack numbers (index.pack_of_row)."""
    recent = _pack_numbers(index, profile.recent_packs)
    walk = None if neighbours is None else neighbours.closeness(recent)

    def closeness(packs: np.ndarray) -> np.ndarray:
        clusters = style_affinity(profile, index.pack_vectors[packs])
        if walk is None:
            return clusters
        return WALK_SHARE * walk[packs] + (1 - WALK_SHARE) * clusters

    return closeness


def _style_among_siblings(
    index: CatalogIndex,
    pack_style: Callable[[np.ndarray], np.ndarray],
    rows: np.ndarray,
    unranked: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(style closeness per row of `rows`, the share of it that counts), float32. The share is
    (its closeness / the closest of its meaning among every row shown) ** SIBLING_CONTRAST, 1
    for rows of no meaning.

    Measured against every shown sibling, the `unranked` ones too, not only the rows ranked: a
    page is the head of the full ranking whatever its length. Only siblings of the ranked rows
    are read."""
    meanings = index.meaning_of_row[rows]
    others = unranked[np.isin(index.meaning_of_row[unranked], meanings[meanings >= 0])]
    style, lead_share = _sibling_shares(index, pack_style, np.concatenate([rows, others]))
    return style[: len(rows)], lead_share[: len(rows)]


def _sibling_shares(
    index: CatalogIndex, pack_style: Callable[[np.ndarray], np.ndarray], rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """`_style_among_siblings` with `rows` its own siblings."""
    # Style is a pack's: computed once per distinct pack, not once per row.
    packs, pack_at = np.unique(index.pack_of_row[rows], return_inverse=True)
    style = pack_style(packs)[pack_at].astype(np.float32)
    lead_share = np.ones(len(rows), np.float32)
    meanings = index.meaning_of_row[rows]
    known = np.flatnonzero(meanings >= 0)
    if not len(known):
        return style, lead_share
    _, meaning_at = np.unique(meanings[known], return_inverse=True)
    closest = np.zeros(int(meaning_at.max()) + 1, np.float32)
    np.maximum.at(closest, meaning_at, style[known])
    mine, lead = style[known], closest[meaning_at]
    share = np.divide(mine, lead, out=np.ones_like(mine), where=lead > 0)
    lead_share[known] = share**SIBLING_CONTRAST
    return style, lead_share


def _habit_parts(
    index: CatalogIndex, profile: Profile, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pack affinity and repeat affinity per row."""
    pack = _lookup(_pack_numbers(index, relative_weights(profile.packs)), index.pack_of_row[rows])
    repeat = _lookup(_sticker_rows(index, profile), rows)
    return pack, repeat


def _pack_numbers(index: CatalogIndex, by_name: dict[str, float]) -> dict[int, float]:
    """Weights of packs by name, by pack number (index.pack_of_row), for packs in the catalog."""
    numbers: dict[int, float] = {}
    for name, affinity in by_name.items():
        members = index.set_rows.get(name)
        if members is not None and len(members) > 0:
            numbers[int(index.pack_of_row[members[0]])] = affinity
    return numbers


def _sticker_rows(index: CatalogIndex, profile: Profile) -> dict[int, float]:
    """The user's repeat affinities by row, for stickers in the catalog."""
    affinities = relative_weights(profile.stickers)
    rows = index.row_of.rows_of(list(affinities)).tolist()
    return {row: a for row, a in zip(rows, affinities.values(), strict=True) if row >= 0}


def _lookup(values_by_key: dict[int, float], keys: np.ndarray) -> np.ndarray:
    """values_by_key[k] per key (0 when absent), by one sorted search for all keys: the user
    has a few weighted packs and stickers, a query thousands of candidates."""
    found = np.zeros(len(keys), np.float32)
    if not values_by_key:
        return found
    known = np.fromiter(values_by_key, np.int64, len(values_by_key))
    values = np.fromiter(values_by_key.values(), np.float32, len(values_by_key))
    order = np.argsort(known)
    known, values = known[order], values[order]
    at = np.minimum(np.searchsorted(known, keys), len(known) - 1)
    hit = known[at] == keys
    found[hit] = values[at[hit]]
    return found


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
