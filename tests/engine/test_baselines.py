"""The peer baselines (PerSRV, sticker-finder) on a tiny benchmark folder, through run_protocol."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.bench.baselines import PerSRVRanker, StickerFinderRanker
from engine.bench.baselines.kmeans import kmeans
from engine.bench.baselines.trigram import TrigramIndex, similarity, trigrams
from engine.bench.protocol import Ranker, run_protocol

SIZE = 128  # small, but above the style features' 64 px working size

# sticker id -> (pack, style, shape, caption)
CATALOG: dict[str, tuple[str, str, str, str]] = {
    "f_cat": ("flatpack", "flat", "circle", "cat sleeping"),
    "f_cat2": ("flatpack", "flat", "square", "cat laughing"),
    "f_dog": ("flatpack", "flat", "triangle", "dog running"),
    "f_bird": ("flatpack", "flat", "diamond", "bird singing"),
    "f_fish": ("flatpack", "flat", "wide", "fish swimming"),
    "f_frog": ("flatpack", "flat", "tall", "frog jumping"),
    "s_cat": ("softpack", "soft", "circle", "cat sleeping"),
    "s_dog": ("softpack", "soft", "square", "dog running"),
    "s_bird": ("softpack", "soft", "triangle", "bird singing"),
}


def _outline(shape: str) -> list[tuple[int, int]]:
    low, high, mid = 16, SIZE - 16, SIZE // 2
    return {
        "circle": [],
        "square": [(low, low), (high, low), (high, high), (low, high)],
        "triangle": [(mid, low), (high, high), (low, high)],
        "diamond": [(mid, low), (high, mid), (mid, high), (low, mid)],
        "wide": [(low, mid - 20), (high, mid - 20), (high, mid + 20), (low, mid + 20)],
        "tall": [(mid - 20, low), (mid + 20, low), (mid + 20, high), (mid - 20, high)],
    }[shape]


def _flat(shape: str) -> Image.Image:
    """A flat red shape with a thick black outline: hard edges, two colours."""
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    style: dict[str, Any] = {"fill": (220, 30, 30, 255), "outline": (0, 0, 0, 255), "width": 6}
    if shape == "circle":
        draw.ellipse((16, 16, SIZE - 16, SIZE - 16), **style)
    else:
        draw.polygon(_outline(shape), **style)
    return image


def _soft(shape: str) -> Image.Image:
    """A blue radial gradient with feathered alpha, masked to the shape: no outline at all."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    radius = np.hypot(xx - SIZE / 2, yy - SIZE / 2) / (SIZE / 2)
    rgba = np.zeros((SIZE, SIZE, 4), dtype=np.uint8)
    rgba[..., 0] = np.clip(90 + 120 * radius, 0, 255)
    rgba[..., 1] = np.clip(140 + 90 * radius, 0, 255)
    rgba[..., 2] = 240
    rgba[..., 3] = np.clip((1.0 - radius) * 400, 0, 255)
    mask = Image.new("L", (SIZE, SIZE), 255 if shape == "circle" else 0)
    if shape != "circle":
        ImageDraw.Draw(mask).polygon(_outline(shape), fill=255)
    image = Image.fromarray(rgba, "RGBA")
    image.putalpha(Image.fromarray(np.minimum(rgba[..., 3], np.asarray(mask))))
    return image


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def make_dataset(
    root: Path,
    history: Sequence[tuple[str, str, str, str | None]],
    queries: Sequence[tuple[str, str]],
) -> Path:
    """A FORMAT.md folder: `history` as (user, event, sticker, query), `queries` as (user, text)."""
    folder = root / "dataset"
    (folder / "stickers").mkdir(parents=True)
    catalog = []
    for sticker_id, (pack, style, shape, caption) in CATALOG.items():
        (_flat if style == "flat" else _soft)(shape).save(folder / "stickers" / f"{sticker_id}.png")
        catalog.append(
            {
                "sticker_id": sticker_id,
                "set": pack,
                "file": f"stickers/{sticker_id}.png",
                "emoji": None,
                "caption": caption,
                "ocr": None,
            }
        )
    _write_jsonl(folder / "catalog.jsonl", catalog)
    _write_jsonl(
        folder / "history.jsonl",
        [
            {
                "user_id": user,
                "ts": 1000 + n,
                "event": event,
                "sticker_id": sticker,
                "query": query,
                "context": None,
            }
            for n, (user, event, sticker, query) in enumerate(history)
        ],
    )
    _write_jsonl(
        folder / "queries.jsonl",
        [
            {
                "qid": f"q{n}",
                "user_id": user,
                "ts": 5000 + n,
                "lang": "en",
                "text": text,
                "relevant": {},
            }
            for n, (user, text) in enumerate(queries)
        ],
    )
    return folder


async def rankings(ranker: Ranker, folder: Path) -> list[list[str]]:
    result = await run_protocol(ranker, folder)
    assert result.skipped_events == 0
    return [result.rankings[f"q{n}"] for n in range(len(result.rankings))]


def sends(user: str, *stickers: str) -> list[tuple[str, str, str, str | None]]:
    return [(user, "send", sticker, None) for sticker in stickers]


# --- pg_trgm similarity ------------------------------------------------------------------


def test_trigram_similarity_matches_pg_trgm() -> None:
    # 'word'  -> "  word " -> {"  w", " wo", "wor", "ord", "rd "}         (5 trigrams)
    # 'words' -> "  words " -> {"  w", " wo", "wor", "ord", "rds", "ds "}  (6 trigrams)
    # shared 4, union 5 + 6 - 4 = 7: 4/7 = 0.571428...
    assert trigrams("word") == {"  w", " wo", "wor", "ord", "rd "}
    assert similarity("word", "words") == pytest.approx(4 / 7)
    assert similarity("word", "words") == pytest.approx(0.571428, abs=1e-6)
    # 'cat' -> {"  c", " ca", "cat", "at "} (4); 'cats' -> {"  c", " ca", "cat", "ats", "ts "}
    # (5); shared 3, union 6: 0.5
    assert similarity("cat", "cats") == pytest.approx(0.5)
    # case and punctuation are ignored; words are padded separately
    assert similarity("Cat!", "cat") == 1.0
    assert trigrams("a b") == {"  a", " a ", "  b", " b "}
    assert similarity("", "cat") == 0.0
    assert similarity("cat", "dog") == 0.0


def test_trigram_index_finds_what_similarity_says() -> None:
    index = TrigramIndex()
    words = ["cat", "cats", "catalogue", "dog", "words"]
    ids = [index.add(word) for word in words]
    assert index.add("cat") == ids[0]  # a repeat keeps its id
    found = index.search("cat", 0.3)
    expected = {i: similarity(w, "cat") for i, w in zip(ids, words, strict=True)}
    assert found == pytest.approx({i: s for i, s in expected.items() if s >= 0.3})
    assert ids[3] not in found


def test_kmeans_is_seeded_and_radii_cover_members() -> None:
    points = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0], [10.0, 0.0]])
    first, second = kmeans(points, 5, seed=0), kmeans(points, 5, seed=0)
    assert len(first.centroids) == 4  # only 4 distinct points
    assert np.array_equal(first.labels, second.labels)
    distances = np.linalg.norm(points - first.centroids[first.labels], axis=1)
    assert np.all(distances <= first.radii[first.labels] + 1e-12)
    two = kmeans(points, 2, seed=0)
    order = np.argsort(two.centroids[:, 0])
    assert two.centroids[order] == pytest.approx(np.array([[0.0, 0.5], [10.0, 1 / 3]]))
    assert two.radii[order] == pytest.approx([0.5, 2 / 3])


# --- PerSRV --------------------------------------------------------------------------------


async def test_persrv_returns_stickers_whose_fields_match(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path, sends("someone", "f_dog"), [("cold", "cat"), ("cold", "dog")])
    cat, dog = await rankings(PerSRVRanker(), folder)
    assert set(cat) == {"f_cat", "f_cat2", "s_cat"}
    assert set(dog) == {"f_dog", "s_dog"}
    # equal BM25, but f_dog was used by one user: + sqrt(0.3 x 1)
    assert dog[0] == "f_dog"


async def test_persrv_reorders_toward_the_users_style(tmp_path: Path) -> None:
    # Each fan's history covers their style; the cat in their style sits inside a cluster.
    flat_history = ("f_dog", "f_bird", "f_cat2", "f_fish", "f_frog", "f_cat", "f_dog")
    history = sends("flat_fan", *flat_history) + sends(
        "soft_fan", "s_dog", "s_bird", "s_cat", "s_dog"
    )
    queries = [("flat_fan", "cat sleeping"), ("soft_fan", "cat sleeping"), ("cold", "cat sleeping")]
    flat, soft, cold = await rankings(PerSRVRanker(), make_dataset(tmp_path, history, queries))
    # f_cat and s_cat have the same caption and one user each: only the style boost differs
    assert flat.index("f_cat") < flat.index("s_cat")
    assert soft.index("s_cat") < soft.index("f_cat")
    assert cold[:2] == ["f_cat", "s_cat"]  # no clusters: recall order, ties by catalog order


async def test_persrv_learns_queries_typed_before_picks(tmp_path: Path) -> None:
    history = [("u1", "pick", "s_dog", "puppy"), ("u2", "pick", "s_dog", "puppy")]
    folder = make_dataset(tmp_path, history, [("u3", "puppy"), ("u3", "kitten")])
    puppy, kitten = await rankings(PerSRVRanker(), folder)
    assert puppy == ["s_dog"]
    assert kitten == []


# --- sticker-finder --------------------------------------------------------------------------


async def test_sticker_finder_counts_exact_tags(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path, [], [("u", "cat sleeping"), ("u", "dog")])
    cat, dog = await rankings(StickerFinderRanker(), folder)
    # 2 tags each, tie broken by pack name; then one tag
    assert cat[:3] == ["f_cat", "s_cat", "f_cat2"]
    assert dog[:2] == ["f_dog", "s_dog"]


async def test_sticker_finder_usage_bonus_is_per_use_and_per_user(tmp_path: Path) -> None:
    history = (
        sends("fan", "s_cat")
        + sends("heavy", *["f_cat2"] * 19)
        + sends("heavier", *["f_cat2"] * 21)
    )
    queries = [
        ("fan", "cat sleeping"),
        ("other", "cat sleeping"),
        ("heavy", "cat sleeping"),
        ("heavier", "cat sleeping"),
    ]
    fan, other, heavy, heavier = await rankings(
        StickerFinderRanker(), make_dataset(tmp_path, history, queries)
    )
    assert fan[:3] == ["s_cat", "f_cat", "f_cat2"]  # 2.05 beats 2.0
    assert other[:3] == ["f_cat", "s_cat", "f_cat2"]  # someone else's usage counts for nothing
    assert heavy[:3] == ["f_cat", "s_cat", "f_cat2"]  # 1 + 19 x 0.05 = 1.95 < 2
    assert heavier[:3] == ["f_cat2", "f_cat", "s_cat"]  # 1 + 21 x 0.05 = 2.05 > 2


async def test_sticker_finder_pack_name_scores_below_a_tag(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path, [], [("u", "soft dog")])
    (ranking,) = await rankings(StickerFinderRanker(), folder)
    # s_dog: tag "dog" + "soft" in its pack name = 1.75; f_dog: 1; other soft stickers: 0.75
    assert ranking[:4] == ["s_dog", "f_dog", "s_bird", "s_cat"]


async def test_sticker_finder_fuzzy_fallback(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path, [], [("u", "cats"), ("u", "zebra")])
    cats, zebra = await rankings(StickerFinderRanker(), folder)
    # no tag "cats": fuzzy, similarity("cat", "cats") = 0.5 >= 0.3; then pack order
    assert cats == ["f_cat", "f_cat2", "s_cat"]
    assert zebra == []


async def test_sticker_finder_picks_make_their_query_searchable(tmp_path: Path) -> None:
    history = [("u1", "pick", "s_cat", "Kitty!!")]
    queries = [("u2", "kitty"), ("u2", "kitty")]
    folder = make_dataset(tmp_path, history, queries)
    learnt, _ = await rankings(StickerFinderRanker(), folder)
    assert learnt[0] == "s_cat"
    plain, _ = await rankings(StickerFinderRanker(learn_from_picks=False), folder)
    assert "s_cat" not in plain


async def test_sticker_finder_empty_query_lists_favourites(tmp_path: Path) -> None:
    history = sends("u", "s_dog", "f_bird", "s_dog")
    (ranking,) = await rankings(
        StickerFinderRanker(), make_dataset(tmp_path, history, [("u", " ")])
    )
    assert ranking == ["s_dog", "f_bird"]
