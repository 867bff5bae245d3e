"""Pixel-only style vectors: what tells sticker packs' art styles apart, with no neural model.

Every statistic is computed on a copy resized so its longest side is `WORK_SIZE`, so that it
describes the drawing and not the file's resolution. Two blocks make up the raw vector:

- `STAT_NAMES`: shares, ratios and means, grouped as
  - shape and transparency: alpha coverage, soft versus hard alpha edges;
  - outline: dark (or light) pixels along the alpha edge and one ring further in (thickness);
  - line work: edge density, ink ridges, stroke thickness, hard versus soft colour edges;
  - shading: a log-spaced histogram of colour gradients inside the drawing (flat fills, airbrush
    shading, cel shading, hard lines each fill different bins), number of palette colours;
  - palette: saturation, lightness, colourfulness distributions.
- a palette fingerprint of `PALETTE_BUCKETS` numbers: the colours that fill the drawing's areas
  (swatches), hashed into buckets. An art style reuses the same swatches across its stickers
  (a skin tone, an outline colour, a pixel-art palette), which no summary statistic captures.

`StyleScaler` learns a robust centre and spread per statistic over a catalog, so that the cosine
of two scaled vectors weighs every statistic alike and gives the swatches an equal share.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from engine.encoders import l2_normalise

# The smallest sticker size in the wild: no input is ever upsampled (bar tiny ones), and 64x64
# keeps every statistic cheap.
WORK_SIZE = 64
OPAQUE = 0.5  # alpha from which a pixel counts as part of the drawing
# Alpha strictly between these is a partial (anti-aliased or feathered) pixel; the margins
# ignore 8-bit rounding noise.
ALPHA_LOW, ALPHA_HIGH = 0.02, 0.98
DARK = 0.25  # luma below this reads as ink (black or near-black outline and line work)
LIGHT = 0.85  # luma above this reads as white (die-cut borders, highlights)
GRAY_SAT = 0.15  # saturation below this reads as gray
VIVID_SAT = 0.7  # saturation above this (with value above 0.5) reads as a vivid fill colour
STRONG = 0.25  # a colour step above this between neighbours is a drawn edge, not shading
FLAT = 0.004  # steps of at most one 8-bit level are a flat fill: survives rounding of fills
# Log-spaced gradient bins over the drawing's interior: the histogram's shape separates flat
# fills (mass in the first bin), soft airbrush shading, cel shading and hard line art.
GRAD_BINS = np.array([FLAT, 0.012, 0.03, 0.08, 0.2, 0.45], dtype=np.float32)
INK_RIDGE = 0.3  # a pixel this much darker than its brightest neighbour sits on a drawn line
PALETTE_BITS = 4  # bits per channel for colour counting: merges anti-aliasing and lossy noise
MIN_COLOUR_SHARE = 0.005  # a colour must cover 0.5% of the drawing to count as a swatch
TOP_COLOURS = 8  # flat-colour art puts nearly all its pixels into its top 8 colours
MIN_PIXELS = 8  # fewer opaque pixels than this: colour statistics are meaningless, left at 0
# Neighbour steps below this stay within one fill (flat or gently shaded); the blends that
# anti-aliasing makes between two fills sit on larger steps and change with resolution.
SWATCH_STEP = 0.03
# Swatch buckets: 128 keeps collisions between a style's ~10-20 swatches rare at 4096 colours.
PALETTE_BUCKETS = 128
_HASH_MULTIPLIER = 2654435761  # Knuth's multiplicative hash: spreads neighbouring colours
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # Rec. 601 luma weights

STAT_NAMES: tuple[str, ...] = (
    # shape and transparency
    "alpha_coverage",
    "bbox_fill",
    "alpha_edge_softness",
    "partial_alpha_share",
    # outline along the alpha edge
    "outline_dark",
    "outline_dark_inner",
    "outline_light",
    "outline_luma_std",
    # line work
    "edge_density",
    "ink_ridge_density",
    "dark_share",
    "ink_thickness",
    "edge_hardness",
    # shading: gradient histogram (one entry per GRAD_BINS interval) and colour counts
    "grad_flat",
    "grad_faint",
    "grad_soft",
    "grad_gentle",
    "grad_medium",
    "grad_edge",
    "grad_hard",
    "colour_count",
    "top_colour_share",
    "colour_entropy",
    "luma_entropy",
    # palette
    "saturation_mean",
    "saturation_std",
    "gray_share",
    "vivid_share",
    "luma_mean",
    "luma_std",
    "light_share",
    "colourfulness",
)
N_STATS = len(STAT_NAMES)
STYLE_DIM: int = N_STATS + PALETTE_BUCKETS

SCALER_CLIP = 2.0  # robust z-scores beyond +-2 are outliers; clipping stops one from dominating
IQR_TO_SIGMA = 1.349  # the IQR of a normal distribution spans 1.349 standard deviations
MIN_SPREAD = 1e-6  # a spread below this is a constant dimension: scale it by 1, not by ~0
PALETTE_WEIGHT = 1.0  # swatches and statistics get equal shares of the cosine

_LEVELS = (1 << PALETTE_BITS) - 1
_N_COLOURS = (_LEVELS + 1) ** 3


def _bucket_table() -> np.ndarray:
    """Swatch bucket of every quantised colour: top bits of a 32-bit multiplicative hash."""
    hashed = (np.arange(_N_COLOURS, dtype=np.uint64) * np.uint64(_HASH_MULTIPLIER)) % (1 << 32)
    return (hashed >> np.uint64(32 - (PALETTE_BUCKETS.bit_length() - 1))).astype(np.intp)


_BUCKET_OF_COLOUR = _bucket_table()


def _to_rgba(image: Image.Image) -> Image.Image:
    """The image as RGBA; modes Pillow cannot convert directly (16-bit, float) go through L."""
    if image.mode == "RGBA":
        return image
    try:
        return image.convert("RGBA")
    except ValueError:
        return image.convert("L").convert("RGBA")


def _working_copy(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """Planar RGB (3, h, w) and alpha (h, w) in [0, 1], longest side `WORK_SIZE`, aspect kept.

    Planar, because numpy reduces over a length-3 last axis far slower than it combines three
    contiguous planes."""
    rgba = _to_rgba(image)
    width, height = rgba.size
    scale = WORK_SIZE / max(width, height, 1)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size != rgba.size:
        # BOX averages areas when shrinking (what anti-aliased rendering at 64 px would give);
        # Pillow premultiplies alpha while resampling RGBA, so no dark fringes appear.
        resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
        rgba = rgba.resize(size, resample)
    planes = np.asarray(rgba, dtype=np.float32).transpose(2, 0, 1) * np.float32(1 / 255)
    return planes[:3], planes[3]


def _erode(mask: np.ndarray) -> np.ndarray:
    """Pixels whose 4 neighbours are all in the mask (outside the image counts as outside)."""
    out = mask.copy()
    out[1:] &= mask[:-1]
    out[:-1] &= mask[1:]
    out[:, 1:] &= mask[:, :-1]
    out[:, :-1] &= mask[:, 1:]
    out[0] = out[-1] = False
    out[:, 0] = out[:, -1] = False
    return out


def _max3(values: np.ndarray) -> np.ndarray:
    """3x3 maximum filter (border pixels use the neighbours they have)."""
    rows = values.copy()
    np.maximum(rows[1:], values[:-1], out=rows[1:])
    np.maximum(rows[:-1], values[1:], out=rows[:-1])
    out = rows.copy()
    np.maximum(out[:, 1:], rows[:, :-1], out=out[:, 1:])
    np.maximum(out[:, :-1], rows[:, 1:], out=out[:, :-1])
    return out


def _channel_max(values: np.ndarray) -> np.ndarray:
    """Elementwise maximum over the first (channel) axis of a planar array."""
    return np.maximum(np.maximum(values[0], values[1]), values[2])


def _gradient(rgb: np.ndarray) -> np.ndarray:
    """Per pixel, the largest colour step (any channel) to its right or lower neighbour."""
    grad = np.zeros(rgb.shape[1:], dtype=np.float32)
    grad[:, :-1] = _channel_max(np.abs(rgb[:, :, 1:] - rgb[:, :, :-1]))
    np.maximum(grad[:-1], _channel_max(np.abs(rgb[:, 1:] - rgb[:, :-1])), out=grad[:-1])
    return grad


def _ratio(part: float | np.integer[Any], whole: float | np.integer[Any]) -> float:
    """part / whole, 0 for an empty whole (e.g. a drawing without interior pixels)."""
    return float(part) / float(whole) if whole else 0.0


def _entropy(counts: np.ndarray) -> float:
    """Shannon entropy in bits of a histogram."""
    probs = counts[counts > 0] / max(float(counts.sum()), 1.0)
    return float(-(probs * np.log2(probs)).sum())


class _Masks:
    """The pixel sets every statistic is taken over."""

    def __init__(self, alpha: np.ndarray) -> None:
        self.opaque = alpha >= OPAQUE
        core = _erode(self.opaque)
        self.rim = self.opaque & ~core  # outermost ring of the drawing
        self.interior = _erode(core)  # gradients here never touch the alpha edge
        self.inner = core & ~self.interior  # the second ring
        self.n_opaque = int(np.count_nonzero(self.opaque))


def _shape_stats(alpha: np.ndarray, masks: _Masks) -> list[float]:
    visible = alpha > ALPHA_LOW
    n_partial = np.count_nonzero(visible & (alpha < ALPHA_HIGH))
    rows = np.flatnonzero(masks.opaque.any(axis=1))
    cols = np.flatnonzero(masks.opaque.any(axis=0))
    bbox = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1) if rows.size else 0
    return [
        float(alpha.mean()),
        _ratio(masks.n_opaque, bbox),
        # partial pixels per rim pixel ~ width of the anti-aliased or feathered alpha edge
        _ratio(n_partial, np.count_nonzero(masks.rim)),
        _ratio(n_partial, np.count_nonzero(visible)),
    ]


def _outline_stats(luma: np.ndarray, masks: _Masks) -> list[float]:
    rim_luma = luma[masks.rim]
    n_rim = rim_luma.size
    return [
        _ratio(np.count_nonzero(rim_luma < DARK), n_rim),
        # the next ring inward stays dark only when the outline is thick
        _ratio(np.count_nonzero(luma[masks.inner] < DARK), np.count_nonzero(masks.inner)),
        _ratio(np.count_nonzero(rim_luma > LIGHT), n_rim),
        # a drawn outline has one colour all round; an unoutlined shape shows its fills
        float(rim_luma.std()) if n_rim else 0.0,
    ]


def _line_stats(luma: np.ndarray, grad: np.ndarray, masks: _Masks) -> list[float]:
    opaque = masks.opaque
    ink = opaque & (luma < DARK)
    ridge = opaque & (_max3(np.where(opaque, luma, 0.0)) - luma > INK_RIDGE)
    n_ink = np.count_nonzero(ink)
    inside = grad[masks.interior]
    n_edges = np.count_nonzero(inside > FLAT)
    n_strong = np.count_nonzero(inside > STRONG)
    return [
        _ratio(n_strong, inside.size),
        _ratio(np.count_nonzero(ridge), masks.n_opaque),
        _ratio(n_ink, masks.n_opaque),
        # ink area over its boundary pixels ~ half the stroke width (1 for hairlines)
        _ratio(n_ink, n_ink - np.count_nonzero(_erode(ink))),
        _ratio(n_strong, n_edges),
    ]


def _colour_counts(rgb: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Pixels of `where` per colour on a `PALETTE_BITS`-per-channel grid."""
    red, green, blue = (rgb[:, where] * _LEVELS + 0.5).astype(np.intp)
    codes = (red * (_LEVELS + 1) + green) * (_LEVELS + 1) + blue
    return np.bincount(codes, minlength=_N_COLOURS).astype(np.float32)


def _shading_stats(
    luma: np.ndarray, grad: np.ndarray, counts: np.ndarray, masks: _Masks
) -> list[float]:
    inside = grad[masks.interior]
    bins = np.bincount(np.searchsorted(GRAD_BINS, inside), minlength=GRAD_BINS.size + 1)
    n_opaque = float(masks.n_opaque)
    palette = np.count_nonzero(counts >= MIN_COLOUR_SHARE * n_opaque)
    top = np.partition(counts, -TOP_COLOURS)[-TOP_COLOURS:].sum() / n_opaque
    luma_hist = np.bincount((luma[masks.opaque] * 63 + 0.5).astype(np.intp), minlength=64)
    return [
        *(bins / max(inside.size, 1)).tolist(),
        float(np.log2(1 + palette)),
        float(top),
        _entropy(counts),
        _entropy(luma_hist.astype(np.float32)),
    ]


def _palette_stats(rgb: np.ndarray, luma: np.ndarray, masks: _Masks) -> list[float]:
    colours = rgb[:, masks.opaque]
    lum = luma[masks.opaque]
    red, green, blue = colours
    high = _channel_max(colours)
    low = np.minimum(np.minimum(red, green), blue)
    sat = (high - low) / np.maximum(high, 1e-6)
    # Hasler & Suesstrunk colourfulness: spread and mean of the opponent channels
    rg, yb = red - green, 0.5 * (red + green) - blue
    colourful = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    n = float(masks.n_opaque)
    return [
        float(sat.mean()),
        float(sat.std()),
        np.count_nonzero(sat < GRAY_SAT) / n,
        np.count_nonzero((sat > VIVID_SAT) & (high > 0.5)) / n,
        float(lum.mean()),
        float(lum.std()),
        np.count_nonzero(lum > LIGHT) / n,
        float(colourful),
    ]


def _swatch_fingerprint(counts: np.ndarray, n_opaque: int) -> np.ndarray:
    """Square roots of the shares of swatches (colours of fills), summed per hash bucket.

    `counts` holds only pixels inside fills (`SWATCH_STEP`), so anti-aliased blends between two
    fills, which change with resolution and outline width, never become swatches."""
    swatches = np.flatnonzero(counts >= MIN_COLOUR_SHARE * n_opaque)
    shares = np.bincount(
        _BUCKET_OF_COLOUR[swatches], weights=counts[swatches] / n_opaque, minlength=PALETTE_BUCKETS
    )
    # square root: cosine of two fingerprints is then the Bhattacharyya overlap of the swatches
    return np.sqrt(shares)


def style_features(image: Image.Image) -> np.ndarray:
    """Raw style features of one sticker: float32, length `STYLE_DIM`, always finite."""
    rgb, alpha = _working_copy(image)
    masks = _Masks(alpha)
    luma = _LUMA[0] * rgb[0] + _LUMA[1] * rgb[1] + _LUMA[2] * rgb[2]
    values = _shape_stats(alpha, masks) + _outline_stats(luma, masks)
    fingerprint = np.zeros(PALETTE_BUCKETS)
    if masks.n_opaque >= MIN_PIXELS:
        grad = _gradient(rgb)
        counts = _colour_counts(rgb, masks.opaque)
        values += _line_stats(luma, grad, masks)
        values += _shading_stats(luma, grad, counts, masks)
        values += _palette_stats(rgb, luma, masks)
        fills = masks.opaque & (grad < SWATCH_STEP)
        fingerprint = _swatch_fingerprint(_colour_counts(rgb, fills), masks.n_opaque)
    values += [0.0] * (N_STATS - len(values))
    raw = np.concatenate([np.asarray(values, dtype=np.float32), fingerprint.astype(np.float32)])
    return np.nan_to_num(raw, nan=0.0, posinf=0.0, neginf=0.0)


class StyleScaler:
    """Robust per-statistic centring (median) and scaling (IQR), then L2 normalisation.

    Learnt over a catalog so every statistic contributes on the same footing to the cosine; the
    clip keeps a single extreme statistic from deciding a vector's direction. The swatch
    fingerprint is already a comparable unit vector and is only given its `PALETTE_WEIGHT`.
    """

    def __init__(self, center: np.ndarray | None = None, scale: np.ndarray | None = None) -> None:
        self.center = np.zeros(N_STATS, np.float32) if center is None else center
        self.scale = np.ones(N_STATS, np.float32) if scale is None else scale

    def fit(self, features: np.ndarray) -> StyleScaler:
        """Learn centre and spread from raw features (n, STYLE_DIM); returns self."""
        data = np.asarray(features, dtype=np.float64).reshape(-1, STYLE_DIM)[:, :N_STATS]
        if not data.size:
            return self
        low, median, high = np.percentile(data, [25, 50, 75], axis=0)
        spread = (high - low) / IQR_TO_SIGMA
        # Statistics constant over half the catalog (e.g. outline share when most packs have no
        # outline) have no IQR: fall back to the standard deviation, then to 1.
        spread = np.where(spread > MIN_SPREAD, spread, data.std(axis=0))
        spread = np.where(spread > MIN_SPREAD, spread, 1.0)
        self.center = median.astype(np.float32)
        self.scale = spread.astype(np.float32)
        return self

    def transform(self, features: np.ndarray) -> np.ndarray:
        """Scaled, clipped and L2-normalised float32 rows (n, STYLE_DIM).

        Statistics and swatches are normalised apart before joining, so their shares of the
        cosine stay fixed (`PALETTE_WEIGHT`) whatever the number of swatches."""
        data = np.asarray(features, dtype=np.float32).reshape(-1, STYLE_DIM)
        stats = np.clip((data[:, :N_STATS] - self.center) / self.scale, -SCALER_CLIP, SCALER_CLIP)
        swatches = l2_normalise(data[:, N_STATS:]) * np.float32(PALETTE_WEIGHT)
        return l2_normalise(np.concatenate([l2_normalise(stats), swatches], axis=1))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state, stored with the index."""
        return {
            "dim": STYLE_DIM,
            "stats": list(STAT_NAMES),
            "palette_buckets": PALETTE_BUCKETS,
            "center": [float(v) for v in self.center],
            "scale": [float(v) for v in self.scale],
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> StyleScaler:
        """Rebuild a scaler from `to_dict` output; refuses one saved for other features."""
        if (
            state.get("dim") != STYLE_DIM
            or list(state.get("stats", [])) != list(STAT_NAMES)
            or state.get("palette_buckets") != PALETTE_BUCKETS
        ):
            raise ValueError("style scaler was saved for other style features; rebuild the index")
        return cls(
            np.asarray(state["center"], dtype=np.float32),
            np.asarray(state["scale"], dtype=np.float32),
        )
