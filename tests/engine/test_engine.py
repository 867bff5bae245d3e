"""The engine facade on real files: SQLite in a temporary folder, drawn stickers, the real model.

A catalog is built once per module into a template folder; each test copies it, so every test
starts from clean files and may reopen the engine from its own folder.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

import engine.engine as engine_module
from engine.bench.scale import Stopwatch
from engine.config import EngineConfig
from engine.encoders import TextEncoder
from engine.engine import DB_NAME, Engine
from engine.errors import BadQuery, IndexMismatch, UnknownSticker
from engine.growth import growth_reads_from
from engine.index_files import ABANDONED_SECONDS
from engine.pack_neighbours import PackNeighbours
from engine.protocol import MAX_PAGE, MAX_QUERY_CHARS
from engine.store import Store
from engine.timing import untimed
from engine.types import Event, Page, Prefs, StickerRecord
from tests.counting import CountingEncoder
from tests.engine.folders import build_folder

PngMaker = Callable[[str, int, int], Path]  # the `png` fixture of conftest.py
FLAT, SOFT = "flat_pack", "soft_pack"
# (name, shape, caption, emoji), drawn in both packs
CONCEPTS: list[tuple[str, int, str, str]] = [
    ("sleep", 0, "a sleepy cat with closed eyes", "😴"),
    ("pizza", 1, "a slice of pizza with melted cheese", "🍕"),
    ("heart", 2, "a red heart full of love", "❤️"),
    ("rain", 3, "rain falling from a grey cloud", "🌧"),
    ("party", 4, "confetti and a party popper", "🎉"),
    ("coffee", 5, "a cup of hot coffee", "☕"),
]
SLEEPS = {"flat_sleep", "soft_sleep"}
PIZZAS = {"flat_pizza", "soft_pizza", "risky_pizza", "mild_pizza"}
RISKY, MILD = 0.6, 0.59  # nsfw scores at and just under the default threshold (0.6)
TOTAL = 2 * len(CONCEPTS) + 2
NIGHT = "good night"


def _records(png: PngMaker) -> list[StickerRecord]:
    records = [
        StickerRecord(
            f"{style}_{name}",
            FLAT if style == "flat" else SOFT,
            emoji=emoji,
            caption=caption,
            file_id=f"file-{style}-{name}",
            path=str(png(style, shape, 0)),
        )
        for style in ("flat", "soft")
        for name, shape, caption, emoji in CONCEPTS
    ]
    spicy = [
        ("risky_pizza", 6, "a pizza covered in hot peppers", RISKY),
        ("mild_pizza", 7, "a pizza with a few peppers", MILD),
    ]
    records += [
        StickerRecord(
            sid, "spicy", emoji="🍕", caption=caption, path=str(png("flat", shape, 3)), nsfw=nsfw
        )
        for sid, shape, caption, nsfw in spicy
    ]
    return records


@pytest.fixture(scope="module")
def template(
    png: PngMaker, memo_encoder: TextEncoder, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    folder = tmp_path_factory.mktemp("template") / "data"
    assert build_folder(folder, _records(png), memo_encoder) == TOTAL
    return folder


@pytest.fixture
def data(template: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(template, folder)
    return folder


@pytest.fixture
async def engine(data: Path, memo_encoder: TextEncoder) -> AsyncIterator[Engine]:
    opened = await Engine.open(data, text_encoder=memo_encoder)
    yield opened
    await opened.close()


async def _reopen(engine: Engine, data: Path, memo_encoder: TextEncoder) -> Engine:
    await engine.close()
    return await Engine.open(data, text_encoder=memo_encoder)


def _ids(page: Page) -> list[str]:
    return [item.sticker_id for item in page.items]


def _scored(page: Page) -> list[tuple[str, float]]:
    return [(item.sticker_id, item.score) for item in page.items]


async def _send(engine: Engine, user: str, sticker: str, ts: float, times: int = 1) -> None:
    for i in range(times):
        await engine.observe(user, Event("send", sticker, ts + i))


async def test_an_opened_index_is_kept_out_of_the_cyclic_collector(
    data: Path, memo_encoder: TextEncoder
) -> None:
    gc.unfreeze()
    engine = await Engine.open(data, text_encoder=memo_encoder)
    try:
        assert gc.get_freeze_count() > 0
        # Full collections no longer walk the index's rows: the collector's generations hold
        # none of their lists. (Counting frozen objects before and after a collection is no
        # test: other threads free frozen objects at any time.)
        rows = engine._index.rows
        walked = {id(thing) for thing in gc.get_objects()}
        assert not {id(rows), id(rows.sticker_ids), id(rows.file_ids)} & walked
    finally:
        await engine.close()


async def test_warm_up_has_the_text_model_encode_before_any_query(
    tmp_path: Path, memo_encoder: TextEncoder
) -> None:
    counting = CountingEncoder(memo_encoder)
    engine = await Engine.open(tmp_path, text_encoder=counting)
    try:
        assert counting.asked == []  # opening an empty folder encodes nothing
        await engine.warm_up()
        assert counting.asked == [engine_module.WARM_UP_TEXT]
    finally:
        await engine.close()


async def test_an_opened_index_is_searched_as_broadly_as_configured(
    data: Path, memo_encoder: TextEncoder
) -> None:
    engine = await Engine.open(data, EngineConfig(hnsw_ef=300), text_encoder=memo_encoder)
    try:
        assert engine._index.dense._index.ef == 300  # hnswlib's own setting
    finally:
        await engine.close()


def test_serving_uses_one_blas_thread() -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    from engine.engine import limit_blas_threads

    np.ones((64, 64)) @ np.ones((64, 64))  # BLAS is loaded
    before = max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
    try:
        limit_blas_threads()
        blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
        assert blas and all(i["num_threads"] == 1 for i in blas)
    finally:  # give the rest of the test run its threads back
        threadpool_limits(limits=before, user_api="blas")


# -- suggestions --------------------------------------------------------------------------------


async def test_suggest_for_an_unknown_user(engine: Engine) -> None:
    page = await engine.suggest("stranger", "pizza")
    assert page.items
    assert _ids(page)[0] in PIZZAS
    assert set(_ids(page)[:4]) == PIZZAS
    scores = [item.score for item in page.items]
    assert scores == sorted(scores, reverse=True)
    assert all(item.reason for item in page.items)
    assert page.items[0].file_id is None or page.items[0].file_id.startswith("file-")
    assert await engine.rows_about("stranger") == 0  # asking stores nothing


async def test_italian_query_finds_the_emoji(engine: Engine) -> None:
    page = await engine.suggest("stranger", "pisolino")  # Italian keyword of 😴
    assert set(_ids(page)[:2]) == SLEEPS


async def test_a_word_still_being_typed_finds_the_words_it_starts(engine: Engine) -> None:
    page = await engine.suggest("stranger", "confe")  # on its way to "confetti"
    assert _ids(page)[0] in {"flat_party", "soft_party"}
    assert page.items[0].reason.startswith("words of its caption")
    # a space after it says the word is finished: "confe" is then no word of any caption
    finished = await engine.suggest("stranger", "confe ")
    assert not any(item.reason.startswith("words of its caption") for item in finished.items)


async def test_empty_query_uses_the_context(engine: Engine) -> None:
    context = ["what a long day", "I am exhausted, going to sleep now, good night"]
    page = await engine.suggest("stranger", "", context=context)
    assert _ids(page)[0] in SLEEPS
    coffee = await engine.suggest("stranger", "  ", context=["let's grab a hot coffee"])
    assert _ids(coffee)[0] in {"flat_coffee", "soft_coffee"}
    # typed words win over the context
    typed = await engine.suggest("stranger", "pizza", context=context)
    assert _ids(typed)[0] in PIZZAS


async def test_empty_query_without_context_returns_the_users_habits(engine: Engine) -> None:
    await _send(engine, "ann", "soft_coffee", 1.0, times=3)
    await _send(engine, "ann", "flat_heart", 10.0)
    page = await engine.suggest("ann", "")
    ids = _ids(page)
    assert ids[0] == "soft_coffee"
    assert "you use it" in page.items[0].reason
    # their stickers and the packs they come from; nothing from packs they never used
    assert set(ids) == {f"{style}_{name}" for style in ("flat", "soft") for name, *_ in CONCEPTS}
    assert ids.index("flat_heart") < ids.index("flat_rain")  # a favourite leads its pack
    # someone without habits gets what is popular: the stickers people use
    stranger = await engine.suggest("stranger", "")
    assert set(_ids(stranger)) == {"soft_coffee", "flat_heart"}
    assert all(item.reason == "popular" for item in stranger.items)


async def test_a_timed_query_ranks_as_an_untimed_one_and_names_its_steps(
    engine: Engine,
) -> None:
    """bench-scale splits a query's time by handing the engine's own ranking path a timer."""
    await _send(engine, "ann", "soft_coffee", 1.0, times=3)
    profile = await engine._profile("ann")

    def ranked(text: str, watch: Stopwatch | None = None) -> list[tuple[int, float]]:
        timer = watch.step if watch else untimed
        found = engine._ranked(engine._index, text, [], profile, True, MAX_PAGE, timer=timer)
        return [(r.row, r.score) for r in found]

    for text, steps in [
        ("a sleepy cat", {"encode_start", "lexical_meaning", "dense"}),
        ("", {"habits"}),
    ]:
        watch = Stopwatch()
        assert ranked(text, watch) == ranked(text)
        assert steps | {"safe_mask", "rank"} <= set(watch.samples)
        assert all(len(times) == 1 for times in watch.samples.values())


async def test_query_longer_than_telegram_allows_is_refused(engine: Engine) -> None:
    with pytest.raises(BadQuery) as raised:
        await engine.suggest("u", "a" * (MAX_QUERY_CHARS + 1))
    assert str(MAX_QUERY_CHARS) in str(raised.value)
    assert MAX_QUERY_CHARS == 256
    await engine.suggest("u", "a" * MAX_QUERY_CHARS)  # the longest allowed query works


async def test_paging_gives_disjoint_pages_and_ends(engine: Engine) -> None:
    full = _ids(await engine.suggest("stranger", ""))
    assert len(full) == TOTAL
    pages: list[list[str]] = []
    offset: int | None = 0
    while offset is not None:
        page = await engine.suggest("stranger", "", limit=5, offset=offset)
        pages.append(_ids(page))
        assert page.next_offset in (None, offset + 5)
        offset = page.next_offset
    assert [len(p) for p in pages] == [5, 5, 4]
    assert [s for p in pages for s in p] == full
    assert len({s for p in pages for s in p}) == TOTAL
    past_end = await engine.suggest("stranger", "", limit=5, offset=TOTAL)
    assert past_end.items == []
    assert past_end.next_offset is None
    exact = await engine.suggest("stranger", "", limit=TOTAL)
    assert exact.next_offset is None
    clamped = await engine.suggest("stranger", "", limit=MAX_PAGE * 10, offset=-3)
    assert _ids(clamped) == full


async def test_paging_ends_at_the_deepest_ranked_result(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = _ids(await engine.suggest("stranger", ""))
    monkeypatch.setattr(engine_module, "MAX_RANKED", 8)
    first = await engine.suggest("stranger", "", limit=5)
    last = await engine.suggest("stranger", "", limit=5, offset=5)
    assert first.next_offset == 5
    assert _ids(first) + _ids(last) == full[:8]
    assert last.next_offset is None


async def test_safe_mode_hides_stickers_at_or_above_the_threshold(engine: Engine) -> None:
    shown = _ids(await engine.suggest("u", "pizza peppers", safe=False))
    assert {"risky_pizza", "mild_pizza"} <= set(shown)
    safe = _ids(await engine.suggest("u", "pizza peppers", safe=True))
    assert "risky_pizza" not in safe
    assert "mild_pizza" in safe
    await engine.set_prefs("u", Prefs(safe_mode=True))
    assert "risky_pizza" not in _ids(await engine.suggest("u", "pizza peppers"))
    assert "risky_pizza" in _ids(await engine.suggest("u", "pizza peppers", safe=False))
    # an empty query (habits, popular) is filtered too
    assert "risky_pizza" not in _ids(await engine.suggest("u", ""))


# -- learning -----------------------------------------------------------------------------------


async def test_observe_unknown_sticker_raises_and_stores_nothing(engine: Engine) -> None:
    with pytest.raises(UnknownSticker):
        await engine.observe("ann", Event("pick", "no_such_sticker", 1.0, query="pizza"))
    assert await engine.rows_about("ann") == 0
    assert (await engine.stats())["events"] == 0
    assert (await engine.taste("ann")).events == 0


async def test_paused_learning_stores_nothing(engine: Engine) -> None:
    before = _ids(await engine.suggest("bob", NIGHT))
    await engine.set_prefs("ann", Prefs(learning_paused=True))
    await engine.observe("ann", Event("pick", before[-1], 1.0, query=NIGHT))
    await _send(engine, "ann", "flat_heart", 2.0, times=2)
    assert await engine.rows_about("ann") == 1  # the prefs row only
    assert (await engine.export_user("ann"))["events"] == []
    assert (await engine.taste("ann")).events == 0
    assert (await engine.stats())["events"] == 0
    assert _ids(await engine.suggest("bob", NIGHT)) == before  # the crowd learnt nothing


async def test_an_event_delivered_again_is_learnt_once(
    engine: Engine, data: Path, memo_encoder: TextEncoder
) -> None:
    pick = Event("pick", "flat_party", 5.0, query=NIGHT, source="chosen:41:flat_party")
    await engine.observe("ann", pick)
    taste = await engine.taste("ann")
    profile = (await engine.export_user("ann"))["profile"]
    await engine.observe("ann", replace(pick, ts=6.0))  # the same update, handled again
    assert await engine.taste("ann") == taste
    assert (await engine.export_user("ann"))["profile"] == profile
    assert (await engine.stats())["events"] == 1
    live = _scored(await engine.suggest("bob", NIGHT))
    engine = await _reopen(engine, data, memo_encoder)
    try:  # the live crowd counted one pick, as the store's recount does
        assert _scored(await engine.suggest("bob", NIGHT)) == live
    finally:
        await engine.close()


async def test_a_pick_steers_other_users_and_survives_reopening(
    engine: Engine, data: Path, memo_encoder: TextEncoder
) -> None:
    before = _ids(await engine.suggest("bob", NIGHT))
    assert before[0] in SLEEPS
    await engine.observe("ann", Event("pick", "flat_party", 5.0, query=NIGHT, context="bye all"))
    await _send(engine, "ann", "soft_rain", 6.0, times=3)
    prefs = Prefs(safe_mode=True, language="it")
    await engine.set_prefs("ann", prefs)
    assert _ids(await engine.suggest("bob", NIGHT))[0] == "flat_party"
    taste = await engine.taste("ann")
    profile = (await engine.export_user("ann"))["profile"]
    engine = await _reopen(engine, data, memo_encoder)
    try:
        assert _ids(await engine.suggest("bob", NIGHT))[0] == "flat_party"
        assert await engine.get_prefs("ann") == prefs
        assert await engine.taste("ann") == taste
        assert taste.events == 4
        assert taste.top_packs[0][0] == SOFT
        assert (await engine.export_user("ann"))["profile"] == profile
        assert (await engine.stats())["events"] == 4
    finally:
        await engine.close()


async def test_forget_user_removes_their_rows_and_their_crowd_text(
    engine: Engine, data: Path, memo_encoder: TextEncoder
) -> None:
    before = _ids(await engine.suggest("bob", NIGHT))
    await engine.observe("ann", Event("pick", "flat_party", 5.0, query=NIGHT))
    await _send(engine, "ann", "soft_rain", 6.0)
    await engine.set_prefs("ann", Prefs(language="fr"))
    await engine.observe("bob", Event("send", "flat_heart", 7.0))
    assert _ids(await engine.suggest("carol", NIGHT))[0] == "flat_party"
    walk_with_ann = _walk(engine)
    await engine.forget_user("ann")
    assert await engine.rows_about("ann") == 0
    # her sends linked the flat and soft packs in the walk over packs alike; no more
    index = engine._index
    without_ann = PackNeighbours(index.pack_vectors, index.pack_of_row, index.row_of)
    without_ann.follow(engine._crowd.usage)
    assert without_ann._walk is not None
    assert np.array_equal(_walk(engine).weights, without_ann._walk.weights)
    assert not np.array_equal(walk_with_ann.weights, without_ann._walk.weights)
    assert await engine.rows_about("bob") == 2  # bob's event and profile stay
    assert _ids(await engine.suggest("carol", NIGHT)) == before
    assert await engine.get_prefs("ann") == Prefs()
    assert (await engine.taste("ann")).events == 0
    engine = await _reopen(engine, data, memo_encoder)
    try:
        assert await engine.rows_about("ann") == 0
        assert _ids(await engine.suggest("carol", NIGHT)) == before
    finally:
        await engine.close()


def _walk(engine: Engine) -> Any:
    """The engine's walk over packs alike, once any count begun in the background is done."""
    neighbours = engine._neighbours
    neighbours._counting.wait(timeout=10)
    assert neighbours._walk is not None
    return neighbours._walk


async def test_reset_taste_keeps_prefs(engine: Engine) -> None:
    before = _ids(await engine.suggest("bob", NIGHT))
    await engine.set_prefs("ann", Prefs(safe_mode=True))
    await engine.observe("ann", Event("pick", "flat_party", 5.0, query=NIGHT))
    await engine.reset_taste("ann")
    assert await engine.get_prefs("ann") == Prefs(safe_mode=True)
    assert await engine.rows_about("ann") == 1
    assert (await engine.taste("ann")).events == 0
    assert _ids(await engine.suggest("bob", NIGHT)) == before


async def test_warm_user_gets_their_pack_first(engine: Engine) -> None:
    for i, (name, *_) in enumerate(CONCEPTS[2:]):
        await _send(engine, "ann", f"soft_{name}", float(i), times=2)
        await _send(engine, "bob", f"flat_{name}", float(i), times=2)
    ann = _ids(await engine.suggest("ann", "a sleepy cat"))
    bob = _ids(await engine.suggest("bob", "a sleepy cat"))
    assert ann[:2] == ["soft_sleep", "flat_sleep"]
    assert bob[:2] == ["flat_sleep", "soft_sleep"]
    taste = await engine.taste("ann")
    assert taste.top_packs[0] == (SOFT, pytest.approx(1.0))
    assert taste.styles and taste.styles[0][1].startswith("soft_")


async def test_newest_file_id_is_kept(
    engine: Engine, data: Path, memo_encoder: TextEncoder
) -> None:
    await engine.observe("ann", Event("send", "flat_pizza", 1.0, file_id="fresh-id"))
    page = await engine.suggest("stranger", "pizza")
    assert {i.sticker_id: i.file_id for i in page.items}["flat_pizza"] == "fresh-id"
    engine = await _reopen(engine, data, memo_encoder)
    try:
        page = await engine.suggest("stranger", "pizza")
        assert {i.sticker_id: i.file_id for i in page.items}["flat_pizza"] == "fresh-id"
    finally:
        await engine.close()


# -- catalog growth and the user's data ---------------------------------------------------------


async def test_add_stickers_makes_them_suggestible_at_once(
    engine: Engine, data: Path, memo_encoder: TextEncoder, png: PngMaker
) -> None:
    rocket = StickerRecord(
        "rocket",
        "space",
        emoji="🚀",
        caption="a rocket launching into space",
        path=str(png("soft", 6, 4)),
    )
    missing = StickerRecord("ghost", "space", caption="a ghost", path=str(data / "nope.png"))
    assert not await engine.has_set("space")
    assert await engine.add_stickers([rocket, missing]) == 1
    assert await engine.has_set("space")
    # The grown vectors were written beside the index, then linked into it: nothing is left.
    index = engine._index
    for array in (index.text, index.neighbour_rows, index.neighbour_sims):
        assert isinstance(array, np.memmap) and Path(array.filename).parent == engine._index_dir
        assert not array.flags.writeable  # the served index's files are read-only
    assert not [path.name for path in engine._index_dir.parent.iterdir() if "growing" in path.name]
    assert _ids(await engine.suggest("stranger", "rocket launch"))[0] == "rocket"
    assert _ids(await engine.suggest("stranger", "razzo"))[0] == "rocket"  # Italian, via 🚀
    assert await engine.add_stickers([rocket]) == 0  # already there
    await engine.observe("ann", Event("pick", "rocket", 1.0, query="to the moon"))
    assert (await engine.stats())["stickers"] == TOTAL + 1
    engine = await _reopen(engine, data, memo_encoder)
    try:
        assert _ids(await engine.suggest("stranger", "rocket launch"))[0] == "rocket"
        assert _ids(await engine.suggest("bob", "to the moon"))[0] == "rocket"
    finally:
        await engine.close()


async def test_emoji_keywords_in_the_users_languages_come_first(
    engine: Engine, data: Path, memo_encoder: TextEncoder, png: PngMaker
) -> None:
    """ "pain" is bread in French (🍞) and pain in English (🥲): which comes first follows the
    language chosen in /prefs, else the one the user's picks were typed in, else the app's."""
    await engine.add_stickers(
        [
            StickerRecord("bread", "bakery", emoji="🍞", path=str(png("flat", 6, 5))),
            StickerRecord("tear", "bakery", emoji="🥲", path=str(png("flat", 7, 5))),
        ]
    )

    async def first(user: str, language: str | None = None) -> str:
        page = await engine.suggest(user, "pain", language=language)
        assert {"bread", "tear"} <= set(_ids(page))
        assert page.items[0].score > page.items[1].score  # not a tie broken by catalog order
        return page.items[0].sticker_id

    await engine.set_prefs("amelie", Prefs(language="fr"))
    await engine.set_prefs("john", Prefs(language="en"))
    assert await first("amelie", language="en") == "bread"  # her choice beats her app's
    assert await first("john") == "tear"
    # "fatigué" is a French keyword of 😴 only: Léa writes French
    await engine.observe("lea", Event("pick", "flat_sleep", 1.0, query="fatigué"))
    assert await first("lea", language="en") == "bread"
    assert (await engine.taste("lea")).languages == ["fr"]
    engine = await _reopen(engine, data, memo_encoder)  # what she taught is stored
    try:
        assert await first("lea", language="en") == "bread"
        assert await first("visitor", language="en") == "tear"
        assert await first("visitor", language="fr") == "bread"
    finally:
        await engine.close()


def _leave_work(data: Path, names: list[str], fresh: str) -> None:
    """Work folders as a killed process leaves them: all but `fresh` a day or more old."""
    old = time.time() - 2 * ABANDONED_SECONDS
    for name in names:
        (data / name).mkdir()
        (data / name / "text.npy").write_bytes(b"half written")
        if name != fresh:
            os.utime(data / name, (old, old))


async def test_opening_removes_the_work_a_killed_process_left_beside_the_index(
    engine: Engine, data: Path, memo_encoder: TextEncoder
) -> None:
    # ".growing-now": a growth of another process, still running; ".other": not ours
    names = [".growing-x1", ".index-x2", ".index-old", ".growing-now", ".other"]
    _leave_work(data, names, fresh=".growing-now")
    engine = await _reopen(engine, data, memo_encoder)
    try:
        left = sorted(name for name in os.listdir(data) if name.startswith("."))
        assert left == [".growing-now", ".other"]
        assert _ids(await engine.suggest("stranger", "pizza"))  # the index itself is intact
    finally:
        await engine.close()


async def test_growth_refuses_an_index_whose_stickers_the_store_lost(
    engine: Engine, data: Path, png: PngMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    comet = StickerRecord("comet", "space", caption="a comet", path=str(png("soft", 6, 4)))
    planet = StickerRecord("planet", "space", caption="a planet", path=str(png("soft", 7, 4)))
    assert await engine.add_stickers([comet]) == 1
    with sqlite3.connect(data / DB_NAME) as db:  # another program deleted one row
        db.execute("DELETE FROM stickers WHERE sticker_id = 'comet'")
    # The next growth reads the texts of the rows added live, comet's among them.
    assert growth_reads_from(engine._index, 1) == len(engine._index) - 1
    with pytest.raises(IndexMismatch, match="stickerbot build"):
        await engine.add_stickers([planet])
    assert "comet" in engine._index.row_of and "planet" not in engine._index.row_of


async def test_packs_added_at_once_are_grown_together(
    engine: Engine, png: PngMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    grown: list[list[str]] = []
    extend = engine_module.extend_index

    def counted(index: Any, indexed: Any, records: Any, *rest: Any) -> Any:
        grown.append([r.sticker_id for r in records])
        return extend(index, indexed, records, *rest)

    monkeypatch.setattr(engine_module, "extend_index", counted)
    packs = [
        [
            StickerRecord(f"{name}{i}", name, caption=f"{name} {i}", path=str(png("soft", i, 4)))
            for i in range(2)
        ]
        for name in ("comet", "planet", "nebula")
    ]
    assert await asyncio.gather(*(engine.add_stickers(pack) for pack in packs)) == [2, 2, 2]
    # The first pack grows alone; the two that arrived meanwhile grow together.
    assert grown == [["comet0", "comet1"], ["planet0", "planet1", "nebula0", "nebula1"]]
    assert (await engine.stats())["stickers"] == TOTAL + 6
    assert _ids(await engine.suggest("stranger", "nebula 1"))[0] == "nebula1"


async def test_serving_keeps_ids_and_packs_and_the_store_keeps_whole_records(
    engine: Engine,
) -> None:
    stored = await engine.stored_stickers()
    assert len(stored) == TOTAL and all(record.path and record.caption for record in stored)
    # Only a build reads files and texts: a rebuild reads the store afresh, and a live addition
    # reads the stored texts (test_add_stickers_makes_them_suggestible_at_once).
    rows = engine._index.rows
    by_id = {record.sticker_id: record for record in stored}
    assert sorted(rows.sticker_ids) == sorted(by_id)
    for sticker_id, set_name, file_id in zip(
        rows.sticker_ids, rows.set_names, rows.file_ids, strict=True
    ):
        assert (set_name, file_id) == (by_id[sticker_id].set_name, by_id[sticker_id].file_id)


async def test_export_user_contains_events_and_prefs(engine: Engine) -> None:
    await engine.set_prefs("ann", Prefs(learning_paused=False, language="it"))
    sent = Event("send", "flat_heart", 1.0, context="love you", source="message:5:9")
    await engine.observe("ann", sent)
    await engine.observe("ann", Event("pick", "soft_pizza", 2.0, query="pizza time"))
    await engine.observe("bob", Event("send", "flat_rain", 3.0))
    document = await engine.export_user("ann")
    json.dumps(document)  # JSON-ready
    assert document["user_id"] == "ann"
    assert document["prefs"] == {"learning_paused": False, "safe_mode": False, "language": "it"}
    assert document["events"] == [
        {
            "kind": "send",
            "sticker_id": "flat_heart",
            "ts": 1.0,
            "query": None,
            "context": "love you",
            "source": "message:5:9",
        },
        {
            "kind": "pick",
            "sticker_id": "soft_pizza",
            "ts": 2.0,
            "query": "pizza time",
            "context": None,
            "source": None,
        },
    ]
    assert document["profile"]["events"] == 2
    assert set(document["profile"]["stickers"]) == {"flat_heart", "soft_pizza"}
    empty = await engine.export_user("nobody")
    assert (empty["events"], empty["profile"], empty["prefs"]) == ([], None, Prefs().model_dump())


async def test_stats_count_the_catalog(engine: Engine) -> None:
    await _send(engine, "ann", "flat_heart", 1.0)
    await _send(engine, "bob", "flat_heart", 1.0)
    assert await engine.stats() == {"stickers": TOTAL, "packs": 3, "users": 2, "events": 2}


async def test_new_folder_opens_empty(tmp_path: Path, memo_encoder: TextEncoder) -> None:
    engine = await Engine.open(tmp_path / "fresh" / "data", text_encoder=memo_encoder)
    try:
        page = await engine.suggest("u", "pizza")
        assert page.items == []
        assert page.next_offset is None
        with pytest.raises(UnknownSticker):
            await engine.observe("u", Event("send", "x", 1.0))
    finally:
        await engine.close()


async def test_stickers_without_an_index_are_refused(data: Path, memo_encoder: TextEncoder) -> None:
    shutil.rmtree(data / "index")
    with pytest.raises(IndexMismatch):
        await Engine.open(data, text_encoder=memo_encoder)
    # the store was closed on the way out: the file opens again
    store = await Store.open(data / DB_NAME)
    try:
        assert len(await store.stickers()) == TOTAL
    finally:
        await store.close()


async def test_a_prefs_read_that_overlaps_a_write_is_not_kept(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Preferences are kept in memory; a read that began before a write must not put the old
    value back in memory after the write."""
    release = asyncio.Event()
    read = engine._store.prefs

    async def held_read(user_id: str) -> Prefs:
        found = await read(user_id)
        await release.wait()
        return found

    monkeypatch.setattr(engine._store, "prefs", held_read)
    reading = asyncio.create_task(engine.get_prefs("ann"))
    await asyncio.sleep(0)  # the read is queued before the write
    await engine.set_prefs("ann", Prefs(safe_mode=True))
    release.set()
    assert await reading == Prefs()
    assert await engine.get_prefs("ann") == Prefs(safe_mode=True)
    monkeypatch.undo()
    assert await engine.get_prefs("ann") == Prefs(safe_mode=True)


async def test_prefs_handed_out_cannot_be_changed_in_place(engine: Engine) -> None:
    prefs = await engine.get_prefs("ann")
    with pytest.raises(ValidationError):
        prefs.safe_mode = True
    assert await engine.get_prefs("ann") == Prefs()


async def test_a_query_is_encoded_once_for_all_its_pages(
    data: Path, memo_encoder: TextEncoder
) -> None:
    counting = CountingEncoder(memo_encoder)
    engine = await Engine.open(data, text_encoder=counting)
    try:
        first = await engine.suggest("ann", NIGHT, limit=2)
        second = await engine.suggest("bob", NIGHT, limit=2, offset=2)
        again = await engine.suggest("ann", NIGHT, limit=2)
        assert counting.asked.count(NIGHT) == 1
        assert again == first
        assert not {i.sticker_id for i in first.items} & {i.sticker_id for i in second.items}
        await engine.suggest("ann", "pizza")
        assert counting.asked.count("pizza") == 1  # other words are encoded as before
    finally:
        await engine.close()
