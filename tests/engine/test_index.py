"""The catalog index built from a real folder: drawn PNGs, captions, emoji, broken files."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import index as index_module
from engine import index_files
from engine.build import SAME_WORDING, BuildReport, build_field, build_index
from engine.catalog import read_catalog
from engine.documents import meaning_text
from engine.emoji import EmojiKeywords
from engine.emoji_trust import TRUST_FLOOR, emoji_trust
from engine.encoders import UniversalSentenceEncoder
from engine.errors import IndexMismatch
from engine.growth import _grown_reference, extend_index, growth_reads_from
from engine.index import (
    NEIGHBOURS,
    CatalogIndex,
    Encoders,
    _packs,
    centred_pack_styles,
    pack_means,
)
from engine.index_files import INDEX_VERSION, OLDEST_READABLE, load_index, save_index
from engine.meaning_book import TEXTS_FILE, MeaningBook
from engine.style import STYLE_DIM, StyleScaler
from engine.types import StickerRecord

PngMaker = Callable[[str, int, int], Path]  # the `png` fixture of conftest.py
FLAT, SOFT = "flat_pack", "soft_pack"
# (shape, caption, emoji in the flat pack, emoji in the soft pack)
CONCEPTS: list[tuple[int, str, str | None, str | None]] = [
    (0, "a sleepy cat yawning in bed", "😴", None),
    (1, "a slice of pizza with melted cheese", "🍕", "🍕"),
    (2, "a red heart full of love", "❤️", "❤️"),
    (3, "rain falling from a grey cloud", "🌧", "🌧"),
]
GOOD = 2 * len(CONCEPTS) + 2  # both packs, plus an emoji-only and a blank sticker


def _line(sticker_id: str, set_name: str, file: str, **fields: Any) -> dict[str, Any]:
    return {"sticker_id": sticker_id, "set": set_name, "file": file, **fields}


@pytest.fixture(scope="module")
def folder(png: PngMaker, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset folder in the benchmark format, with one missing and one corrupt image."""
    root = tmp_path_factory.mktemp("dataset")
    (root / "img").mkdir()
    lines = []
    for style, pack in (("flat", FLAT), ("soft", SOFT)):
        for shape, caption, flat_emoji, soft_emoji in CONCEPTS:
            name = f"img/{style}{shape}.png"
            shutil.copy(png(style, shape, 0), root / name)
            emoji = flat_emoji if style == "flat" else soft_emoji
            lines.append(_line(f"{style}{shape}", pack, name, caption=caption, emoji=emoji))
    shutil.copy(png("flat", 4, 0), root / "img/party.png")
    lines.append(_line("party", FLAT, "img/party.png", emoji="🎉"))  # no caption: emoji only
    shutil.copy(png("soft", 5, 0), root / "img/blank.png")
    lines.append(_line("blank", SOFT, "img/blank.png"))  # nothing known about its meaning
    lines.append(_line("gone", FLAT, "img/gone.png", caption="a file nobody uploaded"))
    (root / "img/corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 8)
    lines.append(_line("corrupt", SOFT, "img/corrupt.png", caption="a truncated upload"))
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    (root / "catalog.jsonl").write_text(text + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def built(folder: Path, encoders: Encoders) -> tuple[CatalogIndex, BuildReport]:
    report = BuildReport()
    progress: list[int] = []
    index = build_index(
        read_catalog(folder), encoders, report=report, on_progress=progress.append
    ).index
    assert sum(progress) == GOOD + 2  # every record is reported, skipped ones too
    return index, report


def test_broken_files_are_skipped_with_counted_reasons(
    built: tuple[CatalogIndex, BuildReport],
) -> None:
    index, report = built
    assert report.indexed == len(index) == GOOD
    assert dict(report.skipped) == {"missing": 1, "corrupt_image": 1}
    assert "gone" not in index.row_of
    assert "corrupt" not in index.row_of
    assert index.rows.sticker_ids[:2] == ["flat0", "flat1"]
    assert all(index.row_of[s] == i for i, s in enumerate(index.rows.sticker_ids))


def test_vectors_have_the_expected_shapes_and_norms(
    built: tuple[CatalogIndex, BuildReport],
) -> None:
    index, _ = built
    assert index.text.shape == (GOOD, UniversalSentenceEncoder.dim)
    norms = np.linalg.norm(index.text, axis=1)
    blank = index.row_of["blank"]
    assert norms[blank] == 0.0  # nothing known: a zero row, never in the dense graph
    np.testing.assert_allclose(np.delete(norms, blank), 1.0, atol=1e-5)
    assert index.style.shape == index.style_raw.shape == (GOOD, STYLE_DIM)
    assert index.pack_vectors.shape == (len(index.set_rows), STYLE_DIM)
    np.testing.assert_allclose(np.linalg.norm(index.style, axis=1), 1.0, atol=1e-5)
    # one dense vector per distinct meaning: captions both packs share are one entry
    distinct = np.unique(index.text[norms > 0], axis=0)
    assert len(index.dense) == len(index.meanings) == len(distinct) < GOOD - 1
    assert index.meaning_of_row[blank] == -1
    assert index.neighbour_rows.shape == (len(index.meanings), NEIGHBOURS)  # one per meaning
    assert ((index.trust >= TRUST_FLOOR) & (index.trust <= 1.0)).all()
    assert index.text_model == UniversalSentenceEncoder.name


def test_emoji_only_sticker_means_its_emoji(
    built: tuple[CatalogIndex, BuildReport], encoder: UniversalSentenceEncoder
) -> None:
    index, _ = built
    party = index.row_of["party"]
    assert index.trust[party] == 1.0  # the emoji is all we know, so it is fully trusted
    assert index.emoji_only[party] and not index.emoji_only[index.row_of["flat1"]]
    query = encoder.encode_text(["party popper"])[0]
    assert float(index.text[party] @ query) > 0.9
    hits = index.fields["emoji"].search("festa", 10)  # Italian keyword of 🎉
    assert party in hits.rows


def test_same_caption_in_two_packs_are_meaning_neighbours(
    built: tuple[CatalogIndex, BuildReport],
) -> None:
    index, _ = built
    for shape, *_ in CONCEPTS:
        flat, soft = index.row_of[f"flat{shape}"], index.row_of[f"soft{shape}"]
        neighbours = dict(index.neighbours(flat))
        assert soft in neighbours
        assert neighbours[soft] == pytest.approx(1.0, abs=1e-3)
        assert flat not in neighbours  # a sticker is not its own neighbour
        others = {index.row_of[f"flat{s}"] for s, *_ in CONCEPTS if s != shape}
        assert not others & set(neighbours)
        assert all(sim >= SAME_WORDING for sim in neighbours.values())
    assert index.neighbours(index.row_of["blank"]) == []


def test_pack_style_rows_of_one_pack_are_identical_and_unit(
    built: tuple[CatalogIndex, BuildReport],
) -> None:
    index, _ = built
    for name, rows in index.set_rows.items():
        styles = index.pack_style_of(rows)
        np.testing.assert_allclose(styles, np.broadcast_to(styles[0], styles.shape), atol=1e-6)
        assert np.linalg.norm(styles[0]) == pytest.approx(1.0, abs=1e-5), name
    flat, soft = (
        index.pack_style_of(index.set_rows[FLAT][0]),
        index.pack_style_of(index.set_rows[SOFT][0]),
    )
    # centred on the mean pack: two packs of different styles point apart
    assert float(flat @ soft) < 0.0


def test_a_pack_number_names_the_rows_of_that_pack(
    built: tuple[CatalogIndex, BuildReport],
) -> None:
    index, _ = built
    for rows in index.set_rows.values():
        pack = int(index.pack_of_row[rows[0]])
        np.testing.assert_array_equal(index.rows_of_pack(pack), rows)
        assert set(index.pack_of_row[rows].tolist()) == {pack}


def test_packs_are_numbered_by_first_row_and_hold_their_rows_in_order() -> None:
    pack_of_row, set_rows = _packs(["b", "a", "b", "c", "a", "b"])
    assert pack_of_row.tolist() == [0, 1, 0, 2, 1, 0]
    assert {name: rows.tolist() for name, rows in set_rows.items()} == {
        "b": [0, 2, 5],
        "a": [1, 4],
        "c": [3],
    }
    assert list(set_rows) == ["b", "a", "c"]  # pack numbers follow this order
    empty_rows, no_packs = _packs([])
    assert len(empty_rows) == 0 and no_packs == {}


def test_pack_styles_of_a_single_pack_and_of_none() -> None:
    rng = np.random.default_rng(0)
    raw = rng.random(size=(5, STYLE_DIM)).astype(np.float32)
    scaler = StyleScaler().fit(raw)
    one = centred_pack_styles(pack_means(raw, scaler, np.zeros(5, np.int32), 1))
    mean = scaler.transform(raw).mean(axis=0)
    np.testing.assert_allclose(one, (mean / np.linalg.norm(mean))[None, :], atol=1e-6)
    assert centred_pack_styles(pack_means(raw[:0], scaler, np.zeros(0, np.int32), 0)).shape == (
        0,
        STYLE_DIM,
    )


def test_pack_styles_read_from_a_file_in_chunks_equal_those_of_the_whole_array(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(1)
    raw = rng.random(size=(11, STYLE_DIM)).astype(np.float32)
    scaler = StyleScaler().fit(raw)
    pack_of_row = np.array([0, 1, 2, 0, 1, 2, 2, 2, 0, 1, 0], np.int32)
    np.save(tmp_path / "style_raw.npy", raw)
    mapped = np.load(tmp_path / "style_raw.npy", mmap_mode="r")
    monkeypatch.setattr(index_module, "ROWS_PER_READ", 4)  # chunks split packs apart
    chunked = centred_pack_styles(pack_means(mapped, scaler, pack_of_row, 3))
    means = np.stack([scaler.transform(raw[pack_of_row == p]).mean(axis=0) for p in range(3)])
    means -= means.mean(axis=0)
    expected = means / np.linalg.norm(means, axis=1, keepdims=True)
    np.testing.assert_allclose(chunked, expected, atol=1e-6)


def test_save_and_load_round_trip(
    built: tuple[CatalogIndex, BuildReport],
    encoders: Encoders,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index, _ = built
    target = tmp_path / "index"
    monkeypatch.setattr(index_files, "IDS_PER_WRITE", 3)  # the manifest's ids in several writes
    save_index(index, target)
    save_index(index, target)  # saving over an existing index swaps it in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]  # no staging leftovers
    ids = list(index.rows.sticker_ids)
    random.Random(4).shuffle(ids)
    shuffled, _ = index.rows.ordered_as(ids)  # the store may list stickers in another order
    loaded = load_index(target, shuffled, encoders)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sticker_ids"] == list(index.rows.sticker_ids)
    assert manifest["count"] == len(index) > 3
    assert loaded.rows.sticker_ids == index.rows.sticker_ids
    assert all(loaded.row_of[s] == row for row, s in enumerate(index.rows.sticker_ids))
    assert loaded.rows.set_names == index.rows.set_names
    assert loaded.rows.file_ids == index.rows.file_ids
    np.testing.assert_array_equal(loaded.rows.nsfw, index.rows.nsfw)
    for name in (
        "text",
        "style_raw",
        "style",
        "trust",
        "emoji_only",
        "neighbour_rows",
        "neighbour_sims",
    ):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(index, name), err_msg=name)
    np.testing.assert_array_equal(loaded.pack_vectors, index.pack_vectors)  # read, not redone
    assert isinstance(loaded.text, np.memmap)  # served from disk, not copied into memory
    for row in range(len(index)):
        assert loaded.neighbours(row) == index.neighbours(row)
    probe = index.text[index.row_of["flat1"]]
    assert loaded.dense.search(probe, 5)[0].tolist() == index.dense.search(probe, 5)[0].tolist()
    np.testing.assert_array_equal(
        loaded.fields["meaning"].search("pizza", 5).rows,
        index.fields["meaning"].search("pizza", 5).rows,
    )


def test_index_saved_without_pack_styles_computes_them_on_load(
    built: tuple[CatalogIndex, BuildReport], encoders: Encoders, tmp_path: Path
) -> None:
    index, _ = built
    save_index(index, tmp_path / "index")
    (tmp_path / "index" / "pack_vectors.npy").unlink()  # as folders saved before it existed
    loaded = load_index(tmp_path / "index", index.rows, encoders)
    np.testing.assert_allclose(loaded.pack_vectors, index.pack_vectors, atol=1e-6)


def _graph_mean(index: CatalogIndex) -> np.ndarray:
    """The average of the dense graph's vectors: each meaning once, however many rows carry it."""
    return np.asarray(index.dense.vectors(np.arange(len(index.meanings))), np.float64).mean(axis=0)


def test_meaning_mean_is_the_graph_mean_and_is_kept(
    built: tuple[CatalogIndex, BuildReport], encoders: Encoders, tmp_path: Path
) -> None:
    index, _ = built
    np.testing.assert_allclose(index.meaning_mean, _graph_mean(index), atol=1e-6)
    save_index(index, tmp_path / "index")
    loaded = load_index(tmp_path / "index", index.rows, encoders)
    np.testing.assert_array_equal(loaded.meaning_mean, index.meaning_mean)
    np.testing.assert_array_equal(loaded.common_wording, index.common_wording)


def _edit_manifest(folder: Path, **changes: Any) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"version": INDEX_VERSION + 1}, f"version {INDEX_VERSION + 1}"),
        ({"version": OLDEST_READABLE - 1}, f"version {OLDEST_READABLE - 1}"),
        ({"text_model": "another-model"}, "another-model"),
    ],
)
def test_manifest_of_another_version_or_model_is_refused(
    built: tuple[CatalogIndex, BuildReport],
    encoders: Encoders,
    tmp_path: Path,
    changes: dict[str, Any],
    words: str,
) -> None:
    index, _ = built
    save_index(index, tmp_path / "index")
    _edit_manifest(tmp_path / "index", **changes)
    with pytest.raises(IndexMismatch) as raised:
        load_index(tmp_path / "index", index.rows, encoders)
    assert words in str(raised.value)
    assert "\n" not in str(raised.value)


def test_index_naming_stickers_the_store_lacks_is_refused(
    built: tuple[CatalogIndex, BuildReport], encoders: Encoders, tmp_path: Path
) -> None:
    index, _ = built
    save_index(index, tmp_path / "index")
    with pytest.raises(IndexMismatch, match="1 stickers"):
        load_index(
            tmp_path / "index", index.rows.ordered_as(index.rows.sticker_ids[1:])[0], encoders
        )
    (tmp_path / "index" / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexMismatch):
        load_index(tmp_path / "index", index.rows, encoders)


def test_extend_index_makes_new_stickers_searchable(
    folder: Path, encoders: Encoders, png: PngMaker, tmp_path: Path
) -> None:
    first = build_index(read_catalog(folder), encoders)
    base = first.index
    before = len(base)
    rocket = StickerRecord(
        "rocket",
        "space_pack",
        emoji="🚀",
        caption="a rocket launching into space",
        path=str(png("flat", 6, 2)),
    )
    moon = StickerRecord(
        "moon", "space_pack", caption="the full moon at night", path=str(png("flat", 7, 2))
    )
    broken = StickerRecord("broken", "space_pack", caption="lost", path=str(tmp_path / "no.png"))
    again = StickerRecord("flat1", FLAT, caption="a duplicate id", path=str(png("flat", 1, 0)))
    report = BuildReport()
    added = extend_index(base, first.records, [rocket, moon, broken, again], encoders, report)
    grown = added.index
    assert len(base) == before  # the old snapshot is untouched
    assert len(grown) == before + 2
    assert report.indexed == 2
    assert dict(report.skipped) == {"missing": 1}
    row = grown.row_of["rocket"]
    assert row == before
    assert [r.sticker_id for r in added.records] == ["rocket", "moon"]  # what the store gets
    assert grown.meaning_of_row[grown.row_of["flat1"]] == base.meaning_of_row[base.row_of["flat1"]]
    query = encoders.text.encode_text(["rocket launch"])[0]
    assert grown.dense.search(query, 1)[0].tolist() == [grown.meaning_of_row[row]]
    assert grown.fields["meaning"].search("rocket", 5).rows.tolist() == [row]
    assert row in grown.fields["emoji"].search("razzo", 5).rows  # Italian for 🚀
    assert "space_pack" in grown.set_rows
    assert grown.text.shape[0] == grown.style.shape[0] == grown.trust.shape[0] == len(grown)
    np.testing.assert_array_equal(grown.emoji_only, [*base.emoji_only, False, False])
    # the new sticker's emoji is ranked among every meaning of the grown catalog, old and new
    meanings = grown.text[[grown.meanings.rows_of(m)[0] for m in range(len(grown.meanings))]]
    new = meanings[len(base.meanings) :]
    np.testing.assert_array_equal(_grown_reference(base, new, len(meanings)), meanings)
    alone = emoji_trust([rocket], grown.text[[row]], encoders.emoji, encoders.text, meanings)
    assert grown.trust[row] == pytest.approx(alone[0])
    np.testing.assert_allclose(np.linalg.norm(grown.pack_vectors, axis=1), 1.0, atol=1e-5)
    # a saved grown index loads back with the new stickers
    text = np.array(grown.text)
    save_index(grown, tmp_path / "index")
    # and serves on with the arrays it grew in memory mapped from the files instead
    assert isinstance(grown.text, np.memmap) and isinstance(grown.style_raw, np.memmap)
    np.testing.assert_array_equal(grown.text, text)
    loaded = load_index(tmp_path / "index", grown.rows, encoders)
    assert loaded.dense.search(query, 1)[0].tolist() == [grown.meaning_of_row[row]]
    np.testing.assert_array_equal(loaded.meaning_of_row, grown.meaning_of_row)
    np.testing.assert_allclose(grown.meaning_mean, _graph_mean(grown), atol=1e-6)


def test_a_saved_index_grows_its_vectors_on_disk_and_links_them_into_the_next_save(
    folder: Path, encoders: Encoders, png: PngMaker, tmp_path: Path
) -> None:
    first = build_index(read_catalog(folder), encoders)
    save_index(first.index, tmp_path / "index")
    base = load_index(tmp_path / "index", first.index.rows, encoders)
    comet = StickerRecord("comet", "space", caption="a comet", path=str(png("flat", 6, 2)))
    rows_folder = tmp_path / "growing"
    rows_folder.mkdir()
    grown = extend_index(base, first.records, [comet], encoders, BuildReport(), rows_folder).index
    for name in ("text", "style_raw"):
        array = getattr(grown, name)
        assert isinstance(array, np.memmap) and Path(array.filename) == rows_folder / f"{name}.npy"
        np.testing.assert_array_equal(array[: len(base)], getattr(base, name))
    assert np.any(grown.text[grown.row_of["comet"]])
    # The neighbour tables too, padded on disk for the comet's new meaning, whose list (written
    # into the new file) starts with its own row; the served index's tables are read-only.
    assert not base.neighbour_rows.flags.writeable
    for name in ("neighbour_rows", "neighbour_sims"):
        table = getattr(grown, name)
        assert isinstance(table, np.memmap) and Path(table.filename) == rows_folder / f"{name}.npy"
        np.testing.assert_array_equal(table[: len(base.meanings)], getattr(base, name))
    comet_meaning = grown.meaning_of_row[grown.row_of["comet"]]
    assert grown.neighbour_rows[comet_meaning][0] == grown.row_of["comet"]
    neighbours = np.array(grown.neighbour_rows)
    text = np.array(grown.text)
    graph = (tmp_path / "index" / "text.hnsw").stat().st_ino
    save_index(grown, tmp_path / "index")
    for name in ("text", "neighbour_rows"):  # linked, not copied
        saved = tmp_path / "index" / f"{name}.npy"
        assert saved.stat().st_ino == (rows_folder / f"{name}.npy").stat().st_ino
    np.testing.assert_array_equal(np.load(tmp_path / "index" / "neighbour_rows.npy"), neighbours)
    saved = tmp_path / "index" / "text.npy"
    np.testing.assert_array_equal(np.load(saved), text)
    # the dense graph too: linked, with the comet's meaning saved beside it
    assert (tmp_path / "index" / "text.hnsw").stat().st_ino == graph
    loaded = load_index(tmp_path / "index", grown.rows, encoders)
    comet = grown.meaning_of_row[grown.row_of["comet"]]
    assert loaded.dense.search(grown.dense.vectors(np.array([comet]))[0], 1)[0].tolist() == [comet]


def test_growth_rebuilds_only_the_live_levels_its_rows_merge_with(
    folder: Path, encoders: Encoders, png: PngMaker, tmp_path: Path
) -> None:
    first = build_index(read_catalog(folder), encoders)
    base = first.index
    comet, moon, star, orbit = (
        StickerRecord(name, "space", caption=f"a {name}", path=str(png("flat", i, 2)))
        for i, name in enumerate(("comet", "moon", "star", "orbit"))
    )
    assert growth_reads_from(base, 1) == len(base)  # no stored record is read
    once = extend_index(base, [], [comet], encoders, BuildReport())
    assert growth_reads_from(once.index, 2) == len(base)  # 2 rows merge with the 1 before
    twice = extend_index(once.index, once.records, [moon, star], encoders, BuildReport())
    for name in ("meaning", "title"):
        field = twice.index.fields[name]
        assert field.built is base.fields[name].built  # kept as built, not rebuilt
        assert [len(s) for s in field.live] == [3]  # every live row, in one level
    assert twice.index.fields["meaning"].search("moon", 5).rows.tolist() == [len(base) + 1]
    save_index(twice.index, tmp_path / "index")
    loaded = load_index(tmp_path / "index", twice.index.rows, encoders)
    assert loaded.fields["meaning"].search("comet", 5).rows.tolist() == [len(base)]
    assert growth_reads_from(loaded, 1) == len(loaded)  # under half of 3: a level of its own
    third = extend_index(loaded, [], [orbit], encoders, BuildReport()).index
    assert [len(s) for s in third.fields["meaning"].live] == [3, 1]
    assert third.fields["meaning"].live[0] is loaded.fields["meaning"].live[0]  # not rebuilt
    assert third.fields["meaning"].search("orbit", 5).rows.tolist() == [len(base) + 3]
    assert growth_reads_from(third, 1) == len(base)  # 1 + 1, then 2 + 3: every live level


def test_an_index_without_its_meaning_book_rebuilds_every_field_whole(
    folder: Path, encoders: Encoders, png: PngMaker, tmp_path: Path
) -> None:
    first = build_index(read_catalog(folder), encoders)
    save_index(first.index, tmp_path / "index")
    (tmp_path / "index" / TEXTS_FILE).unlink()  # as folders saved before the book existed
    loaded = load_index(tmp_path / "index", first.index.rows, encoders)
    assert growth_reads_from(loaded, 1) == 0  # every stored record, to rebuild all
    comet = StickerRecord("comet", "space", caption="a comet", path=str(png("flat", 5, 2)))
    grown = extend_index(loaded, first.records, [comet], encoders, BuildReport()).index
    assert all(
        field.live == () and len(field) == len(first.index) + 1 for field in grown.fields.values()
    )


def test_growth_reads_no_stored_text_and_numbers_meanings_as_a_whole_rebuild_does(
    folder: Path, encoders: Encoders, png: PngMaker, tmp_path: Path
) -> None:
    first = build_index(read_catalog(folder), encoders)
    save_index(first.index, tmp_path / "index")
    saved = load_index(tmp_path / "index", first.index.rows, encoders)  # its book on disk
    source = first.records[saved.row_of["flat1"]]
    twin = StickerRecord("twin", "twin_pack", caption=source.caption, path=str(png("soft", 1, 3)))
    comet = StickerRecord("comet", "twin_pack", caption="a comet", path=str(png("soft", 2, 3)))
    from_book = extend_index(saved, [], [comet, twin], encoders, BuildReport()).index
    fresh = build_index(read_catalog(folder), encoders)
    from_records = extend_index(
        fresh.index, fresh.records, [comet, twin], encoders, BuildReport()
    ).index
    np.testing.assert_array_equal(from_book.meaning_of_row, from_records.meaning_of_row)
    np.testing.assert_allclose(from_book.text, from_records.text, atol=1e-6)
    newest = np.array([len(from_book.meanings) - 1])  # its words weighed by the same counts
    np.testing.assert_allclose(
        from_book.dense.vectors(newest), from_records.dense.vectors(newest), atol=1e-6
    )
    book = from_book.meaning_book()
    assert book is not None and book.texts()[-1] == "a comet" and book.added == ["a comet"]
    assert book.words.holding["comet"] == 1 and len(book) == len(from_book.meanings)
    save_index(from_book, tmp_path / "grown")
    saved_book = MeaningBook.open(tmp_path / "grown")
    assert saved_book is not None and saved_book.texts() == book.texts()
    # records read that are neither all the index's nor those of its live rows
    with pytest.raises(IndexMismatch, match="stickerbot build"):
        extend_index(saved, first.records[1:], [comet], encoders, BuildReport())


def test_growth_recomputes_the_style_of_the_packs_it_adds_to_alone(
    folder: Path, encoders: Encoders, png: PngMaker, tmp_path: Path
) -> None:
    first = build_index(read_catalog(folder), encoders)
    save_index(first.index, tmp_path / "index")
    base = load_index(tmp_path / "index", first.index.rows, encoders)  # means read, not redone
    np.testing.assert_array_equal(base.pack_means, first.index.pack_means)
    joining = StickerRecord("flat9", FLAT, caption="a bell", path=str(png("flat", 6, 2)))
    new_pack = StickerRecord("comet", "space", caption="a comet", path=str(png("soft", 7, 3)))
    grown = extend_index(base, first.records, [joining, new_pack], encoders, BuildReport()).index
    packs = len(grown.set_rows)
    assert packs == len(base.set_rows) + 1
    from_scratch = centred_pack_styles(
        pack_means(grown.style_raw, grown.scaler, grown.pack_of_row, packs)
    )
    np.testing.assert_allclose(grown.pack_vectors, from_scratch, atol=1e-5)
    flat = int(grown.pack_of_row[grown.row_of["flat9"]])
    changed = np.any(grown.pack_means[: len(base.set_rows)] != base.pack_means, axis=1)
    assert changed.nonzero()[0].tolist() == [flat]  # the other packs' means were kept


def test_a_new_sticker_with_a_known_caption_joins_its_meaning(
    folder: Path, encoders: Encoders, png: PngMaker
) -> None:
    first = build_index(read_catalog(folder), encoders)
    base = first.index
    source = base.row_of["flat1"]
    twin = StickerRecord(
        "twin", "twin_pack", caption=first.records[source].caption, path=str(png("soft", 1, 3))
    )
    comet = StickerRecord(
        "comet", "twin_pack", caption="a comet with a long tail", path=str(png("soft", 2, 3))
    )
    meanings = len(base.dense)  # the graph is shared: count before it grows
    # a new meaning first
    grown = extend_index(base, first.records, [comet, twin], encoders, BuildReport()).index
    row = grown.row_of["twin"]
    assert len(grown.dense) == meanings + 1  # only the comet's meaning is new
    assert grown.meaning_of_row[row] == base.meaning_of_row[source]
    np.testing.assert_array_equal(grown.text[row], base.text[source])
    comet_vector = encoders.text.encode_text([meaning_text(comet, encoders.emoji)])[0]
    np.testing.assert_allclose(grown.text[grown.row_of["comet"]], comet_vector, atol=1e-6)
    # the old sticker and the new one are each other's same-meaning neighbours
    assert source in [other for other, _ in grown.neighbours(row)]
    assert row in [other for other, _ in grown.neighbours(source)]


def test_growth_refuses_stored_records_other_than_the_index_rows(
    folder: Path, encoders: Encoders, png: PngMaker
) -> None:
    first = build_index(read_catalog(folder), encoders)
    comet = StickerRecord("comet", "space", caption="a comet", path=str(png("flat", 6, 2)))
    reordered = [*first.records[1:], first.records[0]]
    for indexed in (first.records[1:], reordered):
        with pytest.raises(IndexMismatch, match="stickerbot build"):
            extend_index(first.index, indexed, [comet], encoders, BuildReport())


class CountingKeywords(EmojiKeywords):
    """The bundled keywords, counting the lookups made."""

    def __init__(self, keywords: EmojiKeywords) -> None:
        self.__dict__.update(keywords.__dict__)
        self.asked: list[str] = []

    def keywords(self, emoji: str, languages: Any = None) -> list[str]:
        self.asked.append(emoji)
        return super().keywords(emoji, languages)


def test_the_emoji_field_looks_each_emoji_up_once(encoders: Encoders) -> None:
    counting = CountingKeywords(encoders.emoji)
    records = [StickerRecord(f"s{i}", "pk", emoji="🚀😀"[i % 2]) for i in range(6)]
    records.append(StickerRecord("none", "pk"))
    field = build_field("emoji", records, counting, np.ones(len(records), np.float32))
    assert sorted(counting.asked) == sorted("🚀😀")
    assert set(field.search("razzo", 10).rows.tolist()) == {0, 2, 4}  # Italian for 🚀


def test_empty_catalog_builds_an_empty_index(encoders: Encoders) -> None:
    index = build_index([], encoders).index
    assert len(index) == 0
    assert len(index.fields["meaning"].search("anything", 10)) == 0
    rows, _ = index.dense.search(np.ones(index.text.shape[1], np.float32), 10)
    assert len(rows) == 0


def test_a_meaning_added_live_enters_the_graph_as_a_build_would_put_it(
    folder: Path, encoders: Encoders, png: PngMaker
) -> None:
    records = read_catalog(folder)
    comet = StickerRecord(
        "comet", "space_pack", caption="a comet with a glowing tail", path=str(png("flat", 6, 2))
    )
    built = build_index([*records, comet], encoders).index
    first = build_index(records, encoders)
    grown = extend_index(first.index, first.records, [comet], encoders, BuildReport()).index

    def graph_vector(index: CatalogIndex) -> np.ndarray:
        return index.dense.vectors(index.meaning_of_row[[index.row_of["comet"]]])[0]

    sentence = encoders.text.encode_text([comet.caption])[0]
    assert float(graph_vector(grown) @ graph_vector(built)) > 0.99
    assert float(graph_vector(grown) @ sentence) < 0.95  # blended with its words, not the sentence
