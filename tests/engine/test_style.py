"""Style vectors on real drawings made with Pillow: outlined flat art versus soft gradient art."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from engine.style import STYLE_DIM, StyleScaler, style_features

SUPERSAMPLE = 4  # draw 4x larger and shrink: anti-aliased edges like real rendered art
# Area averaging: the coverage anti-aliasing of vector renderers (resvg, cairo, browsers).
RESAMPLE = Image.Resampling.BOX
# Shapes as polygons in unit coordinates: a square, a triangle, a star and a blob.
SHAPES: dict[str, list[tuple[float, float]]] = {
    "square": [(0.15, 0.15), (0.85, 0.15), (0.85, 0.85), (0.15, 0.85)],
    "triangle": [(0.5, 0.1), (0.9, 0.88), (0.1, 0.88)],
    "star": [
        (0.5 + r * np.cos(a), 0.5 + r * np.sin(a))
        for i in range(10)
        for r, a in [(0.42 if i % 2 == 0 else 0.18, np.pi * i / 5 - np.pi / 2)]
    ],
    "blob": [(0.5 + 0.38 * np.cos(a), 0.5 + 0.3 * np.sin(a)) for a in np.linspace(0, 6.2, 24)],
}
FLAT_COLOURS = [(255, 204, 77), (221, 46, 68), (85, 172, 238), (119, 178, 85)]
GRADIENTS = [
    ((255, 240, 180), (200, 90, 0)),
    ((250, 180, 200), (120, 20, 60)),
    ((190, 230, 255), (10, 70, 160)),
    ((210, 250, 190), (30, 110, 30)),
]

Drawer = Callable[[str, int, int], Image.Image]


def _polygon(shape: str, size: int) -> list[tuple[float, float]]:
    return [(x * size, y * size) for x, y in SHAPES[shape]]


def draw_outlined_flat(shape: str, variant: int, size: int) -> Image.Image:
    """Flat fill, one colour, with a thick black outline (cartoon / OpenMoji-like)."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    outline = max(1, big // 20)
    draw.polygon(_polygon(shape, big), fill=FLAT_COLOURS[variant], outline=(0, 0, 0), width=outline)
    # a flat detail inside, as flat art has: an eye-like dot
    dot = big // 12
    draw.ellipse([big / 2 - dot, big / 2 - dot, big / 2 + dot, big / 2 + dot], fill=(0, 0, 0))
    return image.resize((size, size), RESAMPLE)


def draw_soft_gradient(shape: str, variant: int, size: int) -> Image.Image:
    """Radial gradient fill, no outline, feathered alpha edge (airbrushed art)."""
    big = size * SUPERSAMPLE
    light, dark = GRADIENTS[variant]
    shade = ImageOps.colorize(Image.radial_gradient("L"), light, dark).resize((big, big))
    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).polygon(_polygon(shape, big), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(big / 40))
    shade.putalpha(mask)
    return shade.resize((size, size), RESAMPLE)


STYLES: dict[str, Drawer] = {"flat": draw_outlined_flat, "soft": draw_soft_gradient}


def catalog(size: int = 128) -> tuple[list[Image.Image], list[str]]:
    images, labels = [], []
    for style, drawer in STYLES.items():
        for variant, shape in enumerate(SHAPES):
            images.append(drawer(shape, variant, size))
            labels.append(style)
    return images, labels


@pytest.fixture(scope="module")
def fitted() -> tuple[StyleScaler, np.ndarray, list[str]]:
    images, labels = catalog()
    raw = np.stack([style_features(image) for image in images])
    return StyleScaler().fit(raw), raw, labels


def test_raw_features_are_fixed_length_finite_float32() -> None:
    for image in catalog()[0]:
        features = style_features(image)
        assert features.dtype == np.float32
        assert features.shape == (STYLE_DIM,)
        assert np.isfinite(features).all()


def test_scaled_vectors_are_unit_norm(fitted: tuple[StyleScaler, np.ndarray, list[str]]) -> None:
    scaler, raw, _ = fitted
    vectors = scaler.transform(raw)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(raw), STYLE_DIM)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_same_style_is_closer_than_cross_style(
    fitted: tuple[StyleScaler, np.ndarray, list[str]],
) -> None:
    scaler, raw, labels = fitted
    vectors = scaler.transform(raw)
    sims = vectors @ vectors.T
    styles = np.array(labels)
    same = styles[:, None] == styles[None, :]
    off_diagonal = ~np.eye(len(styles), dtype=bool)
    assert sims[same & off_diagonal].mean() > sims[~same].mean() + 0.5
    # every drawing's nearest other drawing (different shape and colour) has its style
    np.fill_diagonal(sims, -np.inf)
    assert (styles[sims.argmax(axis=1)] == styles).all()


@pytest.mark.parametrize("style", sorted(STYLES))
def test_resolution_invariance(
    fitted: tuple[StyleScaler, np.ndarray, list[str]], style: str
) -> None:
    scaler = fitted[0]
    for variant, shape in enumerate(SHAPES):
        small = STYLES[style](shape, variant, 64)
        large = STYLES[style](shape, variant, 512)
        pair = scaler.transform(np.stack([style_features(small), style_features(large)]))
        assert float(pair[0] @ pair[1]) > 0.9, (style, shape)


def test_fully_transparent_image_is_finite(
    fitted: tuple[StyleScaler, np.ndarray, list[str]],
) -> None:
    features = style_features(Image.new("RGBA", (100, 100), (255, 0, 0, 0)))
    assert features.shape == (STYLE_DIM,)
    assert np.isfinite(features).all()
    assert np.isfinite(fitted[0].transform(features)).all()


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGB", "1", "I;16", "I", "F", "CMYK"])
def test_other_modes_do_not_crash(mode: str) -> None:
    source = draw_outlined_flat("star", 0, 96)
    if mode == "P":
        image = source.convert("RGBA").quantize(16)
    elif mode in ("I;16", "I", "F"):
        image = source.convert("L").convert(mode)
    else:
        image = source.convert(mode)
    features = style_features(image)
    assert features.shape == (STYLE_DIM,)
    assert np.isfinite(features).all()


def test_palette_image_with_transparency() -> None:
    image = draw_soft_gradient("blob", 1, 64).convert("P")  # keeps a transparency index
    assert np.isfinite(style_features(image)).all()


def test_non_square_and_tiny_images() -> None:
    wide = draw_outlined_flat("square", 2, 128).resize((512, 128))
    tiny = draw_outlined_flat("square", 2, 16)
    for image in (wide, tiny, Image.new("RGBA", (1, 1), (0, 0, 0, 255))):
        features = style_features(image)
        assert features.shape == (STYLE_DIM,)
        assert np.isfinite(features).all()


def test_scaler_round_trips_through_json(
    fitted: tuple[StyleScaler, np.ndarray, list[str]],
) -> None:
    scaler, raw, _ = fitted
    restored = StyleScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_allclose(restored.transform(raw), scaler.transform(raw), atol=1e-6)


def test_scaler_refuses_state_of_other_features(
    fitted: tuple[StyleScaler, np.ndarray, list[str]],
) -> None:
    state = fitted[0].to_dict()
    state["dim"] = STYLE_DIM + 1
    with pytest.raises(ValueError):
        StyleScaler.from_dict(state)


def test_scaler_on_constant_catalog_stays_finite() -> None:
    raw = np.stack([style_features(draw_outlined_flat("star", 0, 64))] * 3)
    vectors = StyleScaler().fit(raw).transform(raw)
    assert np.isfinite(vectors).all()
