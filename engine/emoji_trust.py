"""Emoji trust: how far a pack author's emoji agrees with what the sticker's caption says.

Pack authors' emoji are often loose or wrong, so the emoji field of a sticker that has its own
caption or OCR text counts as far as the emoji's name picks that text out of the catalog's.
The check ranks the caption among a sample of the catalog's distinct meanings by similarity to
the emoji's name. A rank rather than a cosine, because a cosine's scale depends on the text:
a short caption ("cat face") sits close to the name, while a long description ("A cartoon cat
face on a white background, in pastel colours") sits further from every short text, right or
wrong. The scale depends on the text model too (USE, an exported CLIP text tower). The rank
does not. Measured on `emoji-dev-sparse` (noisy emoji), the rank also told right from wrong
emoji better than a cosine threshold did.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.documents import emoji_name, has_own_meaning
from engine.emoji import EmojiKeywords
from engine.encoders import ENCODE_CHUNK, TextEncoder, encode_distinct
from engine.types import StickerRecord

# Distinct meanings a caption is ranked among: enough to resolve the top 0.1%, and cheap at
# any catalog size (one product of each distinct emoji name with this many vectors).
REFERENCE_SIZE = 4096
REFERENCE_SEED = 0  # the same catalog gets the same sample, so a rebuild gives the same trust
# How many reference meanings may sit closer to the emoji's name than the caption does, as a
# share of the reference: up to FULL_SHARE the emoji counts fully, from FLOOR_SHARE hardly.
FULL_SHARE, FLOOR_SHARE = 0.001, 0.02
# The floor is at least this many meanings, since in a small catalog one close meaning is a
# large share: among ten meanings, a caption second only to "a yawning face" for 😴 still
# agrees with it.
FLOOR_MIN = 4
TRUST_FLOOR = 0.15  # even a disagreeing emoji keeps a little weight: captions can be wrong too
# Similarities lie in [-1, 1]; shifting each name's row by this much per row number keeps all
# rows in one ascending array, so one searchsorted ranks every sticker against its own row.
ROW_SHIFT = 4.0
# A reference meaning is closer to the emoji's name only by more than float rounding: the
# caption is itself in the reference, its similarity there computed by another product, and
# rounding once decided whether it counted as closer than itself (in a ten-meaning catalog,
# trust 0.75 instead of 1).
ROUNDING = 1e-5


def reference_meanings(count: int) -> np.ndarray:
    """Which of a catalog's `count` distinct meanings to rank captions among: all of them when
    there are few, else a seeded sample of REFERENCE_SIZE, in ascending order."""
    if count <= REFERENCE_SIZE:
        return np.arange(count)
    rng = np.random.default_rng(REFERENCE_SEED)
    return np.sort(rng.choice(count, REFERENCE_SIZE, replace=False))


def emoji_trust(
    records: Sequence[StickerRecord],
    text: np.ndarray,
    emoji: EmojiKeywords,
    encoder: TextEncoder,
    reference: np.ndarray,
) -> np.ndarray:
    """Each record's emoji weight: 1 where the emoji is all we know of the sticker; else from
    TRUST_FLOOR to 1 by how many of `reference` (vectors of distinct meanings) are closer to the
    emoji's name than the record's own text. `text` holds the records' meaning vectors."""
    trust = np.ones(len(records), np.float32)
    rows, names = _checked(records, emoji)
    if not rows or not len(reference):
        return trust
    name_vectors, which = encode_distinct(encoder, names, ENCODE_CHUNK)
    own = np.einsum("ij,ij->i", name_vectors[which], text[rows])
    closer = len(reference) - _beaten(name_vectors @ reference.T, which, own)
    full = FULL_SHARE * len(reference)
    floor = max(FLOOR_SHARE * len(reference), FLOOR_MIN)
    trust[rows] = np.clip((floor - closer) / (floor - full), TRUST_FLOOR, 1.0)
    return trust


def _checked(records: Sequence[StickerRecord], emoji: EmojiKeywords) -> tuple[list[int], list[str]]:
    """Rows whose emoji can be checked against their own text, and their emoji's names."""
    rows, names = [], []
    for row, record in enumerate(records):
        if record.emoji and has_own_meaning(record) and (name := emoji_name(record, emoji)):
            rows.append(row)
            names.append(name)
    return rows, names


def _beaten(similarity: np.ndarray, which: np.ndarray, own: np.ndarray) -> np.ndarray:
    """For each checked row, how many reference meanings are no closer to its emoji's name
    (row `which` of `similarity`) than its own caption (`own`), up to ROUNDING."""
    shift = ROW_SHIFT * np.arange(len(similarity))[:, None]
    ranked = np.sort(similarity, axis=1) + shift
    at = np.searchsorted(ranked.ravel(), own + ROUNDING + ROW_SHIFT * which, side="right")
    return at - which * similarity.shape[1]
