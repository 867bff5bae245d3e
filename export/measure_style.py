"""Measure how well `engine.style` vectors separate art styles on a benchmark dataset.

Usage (from the repository root):

    python -m export.measure_style /work/shared/bench/emoji-dev [--features] [--timing N]

The dataset draws every caption (concept) once in each of K styles, and packs come in groups
that share their captions, one pack per style. Style labels are not given, so they are recovered
here without the style features under test: packs of a group are matched across groups by
their pooled colour histograms (an art style reuses one palette across its packs).

Printed: leave-one-out 1-NN style accuracy with every sticker of the same caption excluded (can
the nearest neighbour by style find the same style rather than the same concept), mean cosine
within and between styles, per concept whether its K stickers are told apart, and timing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from engine.style import STAT_NAMES, STYLE_DIM, StyleScaler, style_features

LABEL_BITS = 4  # colour histogram bits per channel for label recovery: 4096 palette bins
LABEL_ROUNDS = 20  # alignment rounds; converges in 2-3 on the dev sets
TIMING_BIG = 512  # largest sticker side Telegram allows: the slow case for timing
SHOW_MISSES = 15  # concepts not told apart listed by name


def load_catalog(folder: Path) -> list[dict[str, Any]]:
    with (folder / "catalog.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [row for row in rows if str(row["file"]).lower().endswith((".png", ".webp"))]


def load_images(folder: Path, rows: Sequence[dict[str, Any]]) -> list[Image.Image]:
    images = []
    for row in rows:
        with Image.open(folder / row["file"]) as image:
            image.load()
            images.append(image.copy())
    return images


def palette_histogram(image: Image.Image) -> np.ndarray:
    """Opaque-pixel colour counts on a coarse RGB grid (independent of engine.style)."""
    pixels = np.asarray(image.convert("RGBA"), dtype=np.int32)
    opaque = pixels[pixels[..., 3] >= 128][:, :3] >> (8 - LABEL_BITS)
    codes = (opaque[:, 0] << (2 * LABEL_BITS)) | (opaque[:, 1] << LABEL_BITS) | opaque[:, 2]
    return np.bincount(codes, minlength=1 << (3 * LABEL_BITS)).astype(np.float64)


def pack_groups(rows: Sequence[dict[str, Any]]) -> tuple[int, list[list[str]]]:
    """K (styles) and the groups of packs that share the same captions."""
    per_caption = Counter(row["caption"] for row in rows)
    k = Counter(per_caption.values()).most_common(1)[0][0]
    captions_of: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        captions_of[row["set"]].add(row["caption"])
    groups: dict[frozenset[str], list[str]] = defaultdict(list)
    for pack, captions in captions_of.items():
        groups[frozenset(captions)].append(pack)
    usable = [sorted(packs) for packs in groups.values() if len(packs) == k]
    if not usable:
        raise SystemExit("no pack groups with one pack per style: this dataset lacks the layout")
    return k, sorted(usable, key=lambda packs: -len(captions_of[packs[0]]))


def align_groups(
    groups: Sequence[Sequence[str]], pack_vectors: dict[str, np.ndarray]
) -> dict[str, int]:
    """Style index per pack: packs of each group matched to K shared centroids by cosine."""
    k = len(groups[0])
    centroids = np.stack([pack_vectors[pack] for pack in groups[0]])
    labels: dict[str, int] = {}
    for _ in range(LABEL_ROUNDS):
        new = {}
        for packs in groups:
            sims = np.stack([pack_vectors[p] for p in packs]) @ centroids.T
            perms = itertools.permutations(range(k))
            best = max(perms, key=lambda perm: sims[range(k), perm].sum())
            new.update({pack: style for pack, style in zip(packs, best, strict=True)})
        if new == labels:
            break
        labels = new
        for style in range(k):
            members = [pack_vectors[p] for p, s in labels.items() if s == style]
            mean = np.mean(members, axis=0)
            centroids[style] = mean / np.linalg.norm(mean)
    return labels


def recover_styles(
    rows: Sequence[dict[str, Any]], images: Sequence[Image.Image]
) -> tuple[int, np.ndarray]:
    k, groups = pack_groups(rows)
    pooled: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(1 << (3 * LABEL_BITS)))
    for row, image in zip(rows, images, strict=True):
        pooled[row["set"]] += palette_histogram(image)
    # Hellinger embedding: square roots of shares, so cosine is the Bhattacharyya coefficient
    vectors = {pack: np.sqrt(h / h.sum()) for pack, h in pooled.items()}
    labels = align_groups(groups, vectors)
    return k, np.array([labels.get(row["set"], -1) for row in rows])


def feature_pack_agreement(
    rows: Sequence[dict[str, Any]], vectors: np.ndarray, styles: np.ndarray
) -> float:
    """Share of packs that the style vectors alone put in the same style as the palette labels."""
    _, groups = pack_groups(rows)
    sets = np.array([row["set"] for row in rows])
    means = {}
    for pack in {p for g in groups for p in g}:
        mean = vectors[sets == pack].mean(axis=0)
        means[pack] = mean / np.linalg.norm(mean)
    by_vectors = align_groups(groups, means)
    truth = {row["set"]: int(s) for row, s in zip(rows, styles, strict=True)}
    # style indices are arbitrary: compare the partitions under the best relabelling
    k = len(groups[0])
    best = max(
        sum(perm[by_vectors[p]] == truth[p] for p in by_vectors)
        for perm in itertools.permutations(range(k))
    )
    return best / len(by_vectors)


def nearest_other_concept(sims: np.ndarray, captions: np.ndarray) -> np.ndarray:
    """Index of each sticker's nearest neighbour, stickers of the same caption excluded."""
    return np.where(captions[:, None] == captions[None, :], -np.inf, sims).argmax(axis=1)


def within_between(sims: np.ndarray, styles: np.ndarray) -> tuple[float, float]:
    same = styles[:, None] == styles[None, :]
    off_diagonal = ~np.eye(len(styles), dtype=bool)
    return float(sims[same & off_diagonal].mean()), float(sims[~same].mean())


def concepts_told_apart(
    vectors: np.ndarray, styles: np.ndarray, captions: np.ndarray, nearest: np.ndarray, k: int
) -> tuple[float, float, list[str]]:
    """Per concept: are its K stickers told apart? Two readings, as shares of concepts:
    every sticker's nearest other-concept neighbour has its own style; and matching the K
    stickers one-to-one to style centroids (built without this concept) gets every style right.
    Also returns the concepts that fail the first reading."""
    sums = np.stack([vectors[styles == s].sum(axis=0) for s in range(k)])
    nn_right = assigned_right = 0
    missed = []
    names = sorted(set(captions))
    for caption in names:
        idx = np.nonzero(captions == caption)[0]
        right = bool((styles[nearest[idx]] == styles[idx]).all())
        nn_right += right
        if not right:
            missed.append(caption)
        if len(idx) != k:
            continue
        held = sums.copy()
        for i in idx:
            held[styles[i]] -= vectors[i]
        sims = vectors[idx] @ (held / np.linalg.norm(held, axis=1, keepdims=True)).T
        best = max(itertools.permutations(range(k)), key=lambda p: sims[range(k), p].sum())
        assigned_right += bool((np.array(best) == styles[idx]).all())
    return nn_right / len(names), assigned_right / len(names), missed


def feature_report(features: np.ndarray, styles: np.ndarray, k: int) -> None:
    """Per-feature Fisher ratio (between-style over within-style variance) and style medians."""
    print("\nfeature                  fisher  " + "  ".join(f"style{s}" for s in range(k)))
    for j, name in enumerate(STAT_NAMES):
        col = features[:, j].astype(np.float64)
        groups = [col[styles == s] for s in range(k)]
        within = np.mean([g.var() for g in groups])
        between = np.var([g.mean() for g in groups])
        ratio = between / within if within > 0 else float("inf")
        medians = "  ".join(f"{np.median(g):6.3f}" for g in groups)
        print(f"{name:24s} {ratio:6.2f}  {medians}")


def timing(images: Sequence[Image.Image], count: int) -> None:
    """Median ms per image at the dataset's size and upscaled to 512 px (one core)."""
    sample = list(images[:count])
    big = [
        im.convert("RGBA").resize((TIMING_BIG, TIMING_BIG), Image.Resampling.LANCZOS)
        for im in sample
    ]
    for label, batch in (("as stored", sample), (f"{TIMING_BIG} px", big)):
        times = []
        for image in batch:
            start = time.perf_counter()
            style_features(image)
            times.append(time.perf_counter() - start)
        side = max(batch[0].size)
        print(
            f"timing {label} ({side} px): median {1e3 * np.median(times):.2f} ms, "
            f"p95 {1e3 * np.percentile(times, 95):.2f} ms over {len(batch)} images"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--features", action="store_true", help="per-feature separation table")
    parser.add_argument("--timing", type=int, default=200, help="images to time (0: skip)")
    args = parser.parse_args(argv)

    rows = load_catalog(args.dataset)
    images = load_images(args.dataset, rows)
    k, styles = recover_styles(rows, images)
    keep = styles >= 0
    rows = [row for row, ok in zip(rows, keep, strict=True) if ok]
    images = [image for image, ok in zip(images, keep, strict=True) if ok]
    styles = styles[keep]
    captions = np.array([row["caption"] for row in rows])
    print(
        f"{args.dataset}: {len(rows)} stickers, {len({r['set'] for r in rows})} packs, "
        f"{k} styles of {sorted(Counter(styles.tolist()).values())} stickers, dim {STYLE_DIM}"
    )

    start = time.perf_counter()
    features = np.stack([style_features(image) for image in images])
    elapsed = time.perf_counter() - start
    print(f"features: {1e3 * elapsed / len(images):.2f} ms per sticker")
    scaler = StyleScaler().fit(features)
    vectors = scaler.transform(features)
    sims = vectors @ vectors.T

    within, between = within_between(sims, styles)
    nearest = nearest_other_concept(sims, captions)
    told, assigned, missed = concepts_told_apart(vectors, styles, captions, nearest, k)
    accuracy = float((styles[nearest] == styles).mean())
    print(f"1-NN style accuracy (same caption excluded): {accuracy:.4f}")
    print(
        f"mean cosine within style {within:.4f}, between styles {between:.4f}, "
        f"gap {within - between:.4f}"
    )
    print(f"concepts told apart (all {k} stickers' 1-NN in their own style): {told:.4f}")
    print(f"concepts told apart (one-to-one match to style centroids): {assigned:.4f}")
    print(
        f"packs the style vectors group like the palette labels: "
        f"{feature_pack_agreement(rows, vectors, styles):.4f}"
    )
    if missed:
        more = ", ..." if len(missed) > SHOW_MISSES else ""
        print(f"not told apart ({len(missed)}): {', '.join(missed[:SHOW_MISSES])}{more}")
    if args.features:
        feature_report(features, styles, k)
    if args.timing:
        timing(images, args.timing)


if __name__ == "__main__":
    main()
