"""The engine facade: one object the bot, the CLI and the benchmark share.

engine = await Engine.open(data_dir)
page = await engine.suggest("42", "sleepy")
await engine.observe("42", Event("pick", page.items[0].sticker_id, time.time(), "sleepy"))
await engine.close()
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from engine.build import BuildHooks, BuildReport, build_index
from engine.config import EngineConfig
from engine.cores import off_encoder_core
from engine.crowd import Crowd
from engine.crowd_sync import CrowdSync
from engine.emoji import EmojiKeywords
from engine.encoders import (
    Pending,
    TextEncoder,
    UniversalSentenceEncoder,
    encode_soon,
    read_only,
)
from engine.errors import BadQuery, IndexMismatch, StickerbotError, UnknownSticker
from engine.growth import extend_index, growth_reads_from
from engine.growth_batch import GrowthBatches
from engine.heap import release_freed_memory
from engine.index import CatalogIndex, Encoders
from engine.index_files import growth_folder, load_index, remove_abandoned_work
from engine.index_files import save_index as write_index
from engine.languages import LanguageWords, UserLanguages, learnt_languages
from engine.pack_neighbours import PackNeighbours
from engine.profile import Profile, update
from engine.protocol import MAX_PAGE, MAX_QUERY_CHARS
from engine.rank import Ranked, rank
from engine.recall import Candidates, recall_text
from engine.recent import Recent
from engine.safe_text import checked_user_id, storable, storable_or_none
from engine.storage import StateStore, UserChange
from engine.store import Store
from engine.timing import StepTimer, untimed
from engine.types import Event, Page, Prefs, StickerRecord, Suggestion, Taste

log = logging.getLogger(__name__)

DB_NAME = "stickerbot.db"
INDEX_DIR = "index"
MANIFEST = "manifest.json"  # replaced last by every save: its stat says the index changed
RELOAD_CHECK_SECONDS = 1.0  # how stale a running engine's index may be after another writes
MAX_RANKED = 500  # deepest result a user can page to (10 pages of 50)
HABIT_CANDIDATES = 200  # stickers considered for an empty query without context
HABIT_RELEVANCE = 0.5  # the relevance an empty query grants every habit candidate
CONTEXT_MESSAGES = 3  # recent messages of the conversation that an empty query reads
TOP_PACKS = 5
# Recently active users whose profile (a few KB) and preferences are kept in memory; the rest
# wait in the store. A query then reads no row: the store is written through on every change.
USERS_CACHED = 20_000
QUERY_VECTORS_CACHED = 4096  # recent query texts whose vectors are kept (2 KB each)
WARM_UP_TEXT = "hello"  # encoded once at start, so no user waits for the model to load


IndexStamp = tuple[int, int]  # (mtime ns, inode) of the manifest: changes with every save


class Engine:
    def __init__(
        self, store: StateStore, encoders: Encoders, config: EngineConfig, index_dir: Path
    ) -> None:
        self._store = store
        self._encoders = encoders
        self._config = config
        self._index_dir = index_dir
        self._index = _empty_index(encoders)
        self._neighbours = PackNeighbours(
            self._index.pack_vectors, self._index.pack_of_row, self._index.row_of
        )
        self._crowd = Crowd(encoders.text)
        self._languages = LanguageWords(encoders.emoji)
        self._crowd_sync = CrowdSync(store, self._crowd)
        self._profiles: Recent[str, Profile] = Recent(USERS_CACHED)
        self._prefs: Recent[str, Prefs] = Recent(USERS_CACHED)
        self._prefs_writes = 0  # a read that overlapped a write is not cached: it may be stale
        # Each page of an inline query repeats its words, and popular words recur: encoding
        # costs more than anything else a query does (2.5 ms of 8.5 at 543k stickers).
        # lru_cache, not Recent: queries run in worker threads, and it is thread-safe.
        self._embed_query = lru_cache(maxsize=QUERY_VECTORS_CACHED)(self._embed_query_now)
        self._write_lock = asyncio.Lock()  # catalog growth is serialised; reads never wait
        self._growth = GrowthBatches(self._write_lock, self._grow)
        self._index_stamp: IndexStamp | None = None  # the files self._index was read or written as
        self._checked_at = -RELOAD_CHECK_SECONDS  # monotonic time of the last look at the disk
        self._reloading: asyncio.Task[None] | None = None
        store.on_user_changed(self._heard)

    # -- lifecycle ------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        data_dir: Path,
        config: EngineConfig | None = None,
        *,
        text_encoder: TextEncoder | None = None,
        database_url: str | None = None,
        rebuilding: bool = False,
    ) -> Engine:
        """Open (or create) the engine's state in `data_dir`; an empty folder is fine.

        The index always lives in `data_dir`. Users' data and the catalog live in SQLite there
        too, or in the PostgreSQL database at `database_url` (shared by webhook replicas).
        `rebuilding`: the caller is about to build a new index, so a saved one this code cannot
        read (an older format, another text model) is left unread instead of refused."""
        config = config or EngineConfig()
        await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
        encoders = Encoders(
            text=text_encoder or _text_encoder(config),
            emoji=EmojiKeywords.load(),
            clip=_clip_encoder(config),
        )
        abandoned = await asyncio.to_thread(remove_abandoned_work, data_dir / INDEX_DIR)
        if abandoned:
            log.warning("removed work a stopped process left: %s", ", ".join(abandoned))
        store = await _open_store(data_dir, database_url)
        try:
            engine = cls(store, encoders, config, data_dir / INDEX_DIR)
            await engine._load(rebuilding)
        except BaseException:
            await store.close()
            raise
        return engine

    async def warm_up(self) -> None:
        """Load what the first query would otherwise wait for: the bundled text model reads its
        vocabulary and weights on first use, which made the first query after a start take
        1.2 s instead of 5 ms. Then the memory that opening the index and loading the model
        freed goes back to the system (engine.heap): 20-35 MB at 543,098 stickers."""
        await asyncio.to_thread(self._encoders.text.encode_text, [WARM_UP_TEXT])
        await asyncio.to_thread(release_freed_memory)

    async def close(self) -> None:
        if self._reloading is not None:
            self._reloading.cancel()
            await asyncio.gather(self._reloading, return_exceptions=True)
        await self._crowd_sync.close()
        await self._store.close()

    @property
    def generation(self) -> str:
        """Which saved index this engine answers from ('' before the first build)."""
        return self._index.generation

    async def _install(self, index: CatalogIndex) -> None:
        """Answer from `index` from now on, searched as configured."""
        for dense in (index.dense, index.image_dense):
            if dense is not None:
                dense.set_ef(self._config.hnsw_ef)
        self._crowd.usage.bind_rows(index.row_of, len(index))
        neighbours = PackNeighbours(index.pack_vectors, index.pack_of_row, index.row_of)
        await asyncio.to_thread(neighbours.follow, self._crowd.usage)  # not by the first query
        await asyncio.to_thread(self._crowd.word_weights, (), index)  # the catalog's mean, too
        self._neighbours = neighbours
        self._index = index
        exempt_from_gc()

    async def _load(self, rebuilding: bool = False) -> None:
        stored = await self._store.sticker_rows()
        has_index = (self._index_dir / MANIFEST).exists()
        if len(stored) and not has_index and not rebuilding:
            raise IndexMismatch(
                f"no index at {self._index_dir} for {len(stored)} stickers; "
                "run `stickerbot build` again"
            )
        await self._crowd_sync.load()  # first: the index's packs alike count the crowd's uses
        if has_index:
            stamp = _stamp(self._index_dir)
            try:
                index = await asyncio.to_thread(load_index, self._index_dir, stored, self._encoders)
            except IndexMismatch as error:
                if not rebuilding:
                    raise
                log.warning(
                    "replacing the saved index, which this Stickerbot cannot read: %s", error
                )
            else:
                await self._install(index)
                self._index_stamp = stamp
        await asyncio.to_thread(self._crowd.popular, 0)  # sorted now, not by the first query

    # -- catalog --------------------------------------------------------------------------------

    async def build(
        self,
        records: Sequence[StickerRecord],
        report: BuildReport | None = None,
        on_progress: Any = None,
        hooks: BuildHooks | None = None,
    ) -> BuildReport:
        """Replace the catalog with `records` and write a fresh index beside the old one.

        `hooks` adds an embedding cache and per-sticker steps (OCR, NSFW) to the build. When
        not one of `records` can be read (their files moved, say) the index in use is kept.
        """
        report = report or BuildReport()
        async with self._write_lock:
            built = await asyncio.to_thread(
                build_index,
                records,
                self._encoders,
                report=report,
                on_progress=on_progress,
                hooks=hooks,
            )
            index = built.index
            if records and not len(index) and len(self._index):
                reasons = ", ".join(f"{n} {why}" for why, n in report.skipped.most_common())
                raise StickerbotError(
                    f"none of the {len(records)} stickers could be read ({reasons}); the index "
                    "in use was kept: check that their files are where the catalog says"
                )
            await self._store.upsert_stickers(built.records)
            await self._write(index)
        return report

    async def _write(self, index: CatalogIndex) -> None:
        await asyncio.to_thread(write_index, index, self._index_dir)
        await self._install(index)
        self._index_stamp = _stamp(self._index_dir)  # our own save is no news to reload

    async def add_stickers(self, records: Sequence[StickerRecord]) -> int:
        """Index `records` live; how many were new. Calls made while a growth runs are grown
        together by the next one (engine.growth_batch)."""
        return await self._growth.add(records)

    async def _grow(self, records: list[StickerRecord]) -> list[StickerRecord]:
        """One live growth, under the write lock: the records it added."""
        added = await self._grown_and_written(records)
        # The replaced index is garbage now that no frame holds it (engine.heap).
        await asyncio.to_thread(release_freed_memory)
        return added

    async def _grown_and_written(self, records: list[StickerRecord]) -> list[StickerRecord]:
        """`records` grown into the live index, saved and installed: the records added."""
        index = self._index
        indexed = await self._indexed_records(index, growth_reads_from(index, len(records)))
        with growth_folder(self._index_dir) as rows:
            grown = await asyncio.to_thread(
                extend_index, index, indexed, records, self._encoders, BuildReport(), Path(rows)
            )
            if grown.records:
                await self._store.upsert_stickers(grown.records)
                await self._write(grown.index)
        return grown.records

    async def _indexed_records(self, index: CatalogIndex, start: int) -> list[StickerRecord]:
        """The stored records of `index`'s rows from `start` on, in row order: live growth
        reads the texts of the rows it indexes again, which the index does not keep. A row the
        store lacks is left out, and extend_index refuses the list."""
        ids = index.rows.sticker_ids[start:]
        stored = await self._store.stickers(with_paths=False, ids=None if start == 0 else ids)
        by_id = {r.sticker_id: r for r in stored}
        return [by_id[s] for s in ids if s in by_id]

    # -- hot reload -----------------------------------------------------------------------------

    def _watch_disk(self) -> None:
        """Start reading an index another process saved (`export index`, `build`), at most one
        look per RELOAD_CHECK_SECONDS; the caller goes on with the index it already has."""
        now = time.monotonic()
        if self._reloading is not None or now - self._checked_at < RELOAD_CHECK_SECONDS:
            return
        self._checked_at = now
        stamp = _stamp(self._index_dir)
        if stamp is not None and stamp != self._index_stamp:
            self._reloading = asyncio.create_task(self._reload(stamp))

    async def _reload(self, stamp: IndexStamp) -> None:
        try:
            async with self._write_lock:
                # The other process upserted its stickers before saving the index: read them anew.
                stored = await self._store.sticker_rows()
                index = await asyncio.to_thread(load_index, self._index_dir, stored, self._encoders)
                if _stamp(self._index_dir) != stamp:
                    return  # swapped again while we read: files may mix, the next look retries
                await self._install(index)
                self._index_stamp = stamp
                log.info("loaded index %s (%d stickers)", index.generation, len(index))
        except (StickerbotError, OSError, ValueError) as error:
            # Half-swapped or from a newer build: keep answering from the old one, retry later.
            log.warning("index at %s changed but cannot be loaded yet: %s", self._index_dir, error)
        finally:
            self._reloading = None

    async def stored_stickers(self) -> list[StickerRecord]:
        """Every sticker the store holds, with the file it was indexed from: what a rebuild
        after an upgrade or a change of text model indexes again."""
        return await self._store.stickers()

    async def has_set(self, set_name: str) -> bool:
        return set_name in self._index.set_rows

    # -- suggestions ----------------------------------------------------------------------------

    async def suggest(
        self,
        user_id: str,
        text: str,
        *,
        context: Sequence[str] | None = None,
        limit: int = MAX_PAGE,
        offset: int = 0,
        safe: bool | None = None,
        language: str | None = None,
    ) -> Page:
        """A page of stickers for `text` (or, without words, for the conversation `context`).
        `language` is the user's app language (Telegram's language code): a hint, used when
        the user chose none in /prefs and their picks have not shown theirs yet."""
        if len(text) > MAX_QUERY_CHARS:
            raise BadQuery(f"queries are at most {MAX_QUERY_CHARS} characters; type a shorter one")
        text, context = storable(text), [storable(message) for message in context or []]
        limit = max(1, min(limit, MAX_PAGE))
        offset = max(0, offset)
        self._watch_disk()
        prefs = await self.get_prefs(user_id)
        profile = await self._profile(user_id)
        safe_now = prefs.safe_mode if safe is None else safe
        languages = self._languages.of_user(prefs.language, profile.languages, language)
        # Ranked as deep as this page and one more (to know whether another page follows),
        # never past the last page a user can reach.
        depth = min(offset + limit + 1, MAX_RANKED)
        index = self._index  # rows are this index's: another may be swapped in meanwhile
        ranked = await asyncio.to_thread(
            self._ranked,
            index,
            _as_typed(text),
            context,
            profile,
            safe_now,
            depth,
            languages,
        )
        window = ranked[offset : offset + limit]
        shown = [r.row for r in window]
        sticker_ids, file_ids = index.rows.sticker_ids.take(shown), index.rows.file_ids.take(shown)
        items = [
            Suggestion(sticker_id, round(r.score, 4), r.reason, file_id)
            for r, sticker_id, file_id in zip(window, sticker_ids, file_ids, strict=True)
        ]
        more = offset + limit < len(ranked)
        return Page(items=items, next_offset=offset + limit if more else None)

    def _ranked(
        self,
        index: CatalogIndex,
        text: str,
        context: list[str],
        profile: Profile,
        safe: bool,
        depth: int,
        languages: UserLanguages | None = None,
        timer: StepTimer = untimed,
    ) -> list[Ranked]:
        """The best `depth` stickers for the words (or the conversation), best first. `timer`
        splits the steps for bench-scale, which times this very path."""
        if len(index) == 0:
            return []
        with off_encoder_core():  # the query is encoded beside it (engine.cores)
            candidates = self._candidates(index, text, context, profile, languages, timer)
            with timer("safe_mask"):
                allowed = self._safe_mask(index) if safe else None
            with timer("rank"):
                neighbours = self._neighbours
                neighbours.follow(self._crowd.usage)
                return rank(
                    index,
                    candidates,
                    profile,
                    self._crowd,
                    neighbours=neighbours,
                    allowed=allowed,
                    limit=depth,
                )

    def _candidates(
        self,
        index: CatalogIndex,
        text: str,
        context: list[str],
        profile: Profile,
        languages: UserLanguages | None = None,
        timer: StepTimer = untimed,
    ) -> Candidates:
        """What ranking chooses from: recall for the words (or the conversation), else the
        user's usual stickers."""
        query = text or " ".join(context[-CONTEXT_MESSAGES:]).strip()
        candidates = self._recall(index, query, languages, timer) if query else None
        if not candidates:  # no words, or nothing matched them
            with timer("habits"):
                candidates = self._habits(index, profile)
        return candidates

    def _recall(
        self,
        index: CatalogIndex,
        text: str,
        languages: UserLanguages | None = None,
        timer: StepTimer = untimed,
    ) -> Candidates:
        with timer("encode_start"):  # started, and read by recall once its lexical steps are done
            vector, clip_vector = self._embed_query(text)
        depth = self._config.recall_depth
        return recall_text(
            index, self._crowd, text, vector, depth, clip_vector, timer=timer, languages=languages
        )

    def _embed_query_now(self, text: str) -> tuple[Pending[np.ndarray], np.ndarray | None]:
        """The query's text vector, still being computed while recall reads the lexical
        fields, and its CLIP text vector when configured, read-only: the same arrays are handed
        to every later query with these words."""
        vector = encode_soon(self._encoders.text, text)
        clip = self._encoders.clip
        if clip is None:
            return vector, None
        return vector, read_only(clip.encode_text([text])[0])  # type: ignore[attr-defined]

    def _habits(self, index: CatalogIndex, profile: Profile) -> Candidates:
        """Without words: the user's favourites and their favourite packs, else what's popular."""
        favourites = sorted(profile.stickers, key=profile.stickers.__getitem__, reverse=True)
        rows = [row for row in index.row_of.rows_of(favourites).tolist() if row >= 0]
        for pack in sorted(profile.packs, key=profile.packs.__getitem__, reverse=True)[:TOP_PACKS]:
            rows.extend(int(r) for r in index.set_rows.get(pack, ()))
        if not rows:
            popular = self._crowd.popular(HABIT_CANDIDATES)
            rows = [row for row in index.row_of.rows_of(popular).tolist() if row >= 0]
            rows = rows or list(range(len(index)))
        reason = "you use it" if profile.stickers else "popular"
        chosen = list(dict.fromkeys(rows[:HABIT_CANDIDATES]))
        return Candidates.uniform(chosen, HABIT_RELEVANCE, reason)

    def _safe_mask(self, index: CatalogIndex) -> np.ndarray:
        return index.safe_mask(self._config.nsfw_threshold)

    # -- learning -------------------------------------------------------------------------------

    async def observe(self, user_id: str, event: Event) -> None:
        """Learn from what the user did, unless they paused learning. An event from a source
        the user has an event from already (delivered again) changes nothing."""
        index = self._index
        row = index.row_of.get(event.sticker_id)
        if row is None:
            shown = storable(event.sticker_id)
            raise UnknownSticker(f"sticker {shown} is not in the catalog yet; add its pack first")
        event = _storable_event(event)
        if (await self.get_prefs(user_id)).learning_paused:
            return
        profile = await self._profile(user_id)
        update(
            profile,
            kind=event.kind,
            sticker_id=event.sticker_id,
            set_name=index.rows.set_names[row],
            style=index.pack_style_of(row),
            ts=event.ts,
            typed_in=self._typed_in(index, row, event),
        )
        try:
            recorded = await self._crowd_sync.record(user_id, event, profile.to_dict())
        except BaseException:
            self._profiles.pop(user_id)  # the stored profile is the truth: reload it
            raise
        if not recorded:  # delivered again: the stored profile counted it once already
            self._profiles.pop(user_id)
            return
        if event.file_id and event.file_id != index.rows.file_ids[row]:
            index.rows.file_ids[row] = event.file_id
            await self._store.update_file_id(event.sticker_id, event.file_id)

    def _typed_in(self, index: CatalogIndex, row: int, event: Event) -> list[str]:
        """The languages of the words typed before a pick, read off the picked sticker's emoji."""
        if event.kind != "pick":
            return []
        return self._languages.typed_in(index.rows.emojis[row], event.query)

    async def _profile(self, user_id: str) -> Profile:
        profile = self._profiles.get(checked_user_id(user_id))
        if profile is None:
            profile = Profile.from_dict(await self._store.profile(user_id))
            self._profiles.put(user_id, profile)
        return profile

    # -- the user's data ------------------------------------------------------------------------

    async def get_prefs(self, user_id: str) -> Prefs:
        prefs = self._prefs.get(checked_user_id(user_id))
        if prefs is None:
            writes = self._prefs_writes
            prefs = await self._store.prefs(user_id)
            if writes == self._prefs_writes:
                self._prefs.put(user_id, prefs)
        return prefs

    async def set_prefs(self, user_id: str, prefs: Prefs) -> None:
        self._forget_cached_prefs(checked_user_id(user_id))  # a failed write must not look stored
        await self._store.put_prefs(user_id, prefs)
        self._prefs.put(user_id, prefs)

    def _heard(self, change: UserChange) -> None:
        """Another replica changed a user: count what they did, and read them anew."""
        self._crowd_sync.hear(change)
        self._forget_cached_user(change.user_id)

    def _forget_cached_user(self, user_id: str | None) -> None:
        """Read this user (None: anyone) from the store again."""
        if user_id is None:
            self._profiles.clear()
            self._prefs_writes += 1
            self._prefs.clear()
            return
        self._profiles.pop(user_id)
        self._forget_cached_prefs(user_id)

    def _forget_cached_prefs(self, user_id: str) -> None:
        self._prefs_writes += 1
        self._prefs.pop(user_id)

    async def reset_taste(self, user_id: str) -> None:
        await self._delete_history(user_id, partial(self._store.reset_taste, user_id))

    async def forget_user(self, user_id: str) -> None:
        await self._delete_history(user_id, partial(self._store.forget_user, user_id))
        self._forget_cached_prefs(user_id)

    async def _delete_history(self, user_id: str, deletion: Callable[[], Awaitable[None]]) -> None:
        """Run `deletion` (the store's, of the user's events and profile at least); their share
        of the crowd figures, their cached profile and their co-usage of packs go with it."""
        await self._crowd_sync.delete(checked_user_id(user_id), deletion)
        self._profiles.pop(user_id)
        self._neighbours.follow(self._crowd.usage)  # counted anew now, in the background

    async def export_user(self, user_id: str) -> dict[str, Any]:
        events = [
            {
                "kind": s.event.kind,
                "sticker_id": s.event.sticker_id,
                "ts": s.event.ts,
                "query": s.event.query,
                "context": s.event.context,
                "source": s.event.source,
            }
            async for s in self._store.events(checked_user_id(user_id))
        ]
        return {
            "user_id": user_id,
            "exported_at": int(time.time()),
            "prefs": (await self.get_prefs(user_id)).model_dump(),
            "profile": await self._store.profile(user_id),
            "events": events,
        }

    async def taste(self, user_id: str) -> Taste:
        profile = await self._profile(user_id)
        packs = sorted(profile.packs.items(), key=lambda kv: kv[1], reverse=True)[:TOP_PACKS]
        total = sum(profile.packs.values()) or 1.0
        return Taste(
            top_packs=[(name, weight / total) for name, weight in packs],
            styles=self._style_examples(profile),
            events=profile.events,
            languages=learnt_languages(profile.languages),
        )

    def _style_examples(self, profile: Profile) -> list[tuple[float, str]]:
        index = self._index
        if not profile.centroids or len(index) == 0:
            return []
        total = sum(profile.weights) or 1.0
        out = []
        for centroid, weight in sorted(
            zip(profile.centroids, profile.weights, strict=True), key=lambda cw: cw[1], reverse=True
        ):
            pack = int(np.argmax(index.pack_vectors @ np.asarray(centroid, dtype=np.float32)))
            first_row = int(index.rows_of_pack(pack)[0])
            out.append((weight / total, index.rows.sticker_ids[first_row]))
        return out

    async def stats(self) -> dict[str, int]:
        return await self._store.counts()

    async def rows_about(self, user_id: str) -> int:
        return await self._store.rows_about(checked_user_id(user_id))


def _stamp(index_dir: Path) -> IndexStamp | None:
    """None while no index is there (or between the two renames of a swap)."""
    try:
        info = os.stat(index_dir / MANIFEST)
    except FileNotFoundError:
        return None
    return info.st_mtime_ns, info.st_ino


async def _open_store(data_dir: Path, database_url: str | None) -> StateStore:
    if not database_url:
        return await Store.open(data_dir / DB_NAME)
    from engine.pg_store import PgStore  # imported only when used: psycopg is an extra

    return await PgStore.open(database_url)


def _text_encoder(config: EngineConfig) -> TextEncoder:
    if config.text_model == UniversalSentenceEncoder.name:
        return UniversalSentenceEncoder()
    from engine.clip import load_model_folder

    return load_model_folder(Path(config.text_model))


def _clip_encoder(config: EngineConfig) -> Any:
    if not config.clip_model:
        return None
    from engine.clip import load_model_folder

    return load_model_folder(Path(config.clip_model))


def _empty_index(encoders: Encoders) -> CatalogIndex:
    return build_index([], encoders).index


def exempt_from_gc() -> None:
    """Move every object alive now (the index's hundreds of thousands of records) out of the
    cyclic collector's reach. Otherwise each full collection walks them all: 140-480 ms pauses
    at 543k stickers, in the middle of someone's query. Objects frozen here are still freed by
    reference counting when a newer index replaces them."""
    gc.freeze()


def _storable_event(event: Event) -> Event:
    """`event` with its texts storable (engine.safe_text)."""
    return replace(
        event,
        query=storable_or_none(event.query),
        context=storable_or_none(event.context),
        file_id=storable_or_none(event.file_id),
        source=storable_or_none(event.source),
    )


def _as_typed(text: str) -> str:
    """The words of a query, and one space after them if any was typed: it says the last word
    is finished, not a start to complete (engine.completion)."""
    words = text.strip()
    return words + " " if words and text[-1].isspace() else words


def limit_blas_threads() -> threadpool_limits:
    """One BLAS thread per query, for a serving process. A query's matrix products are small:
    extra BLAS threads spin up for each and double its CPU time without saving wall time
    (50k-sticker bench: CPU p99 30 -> 17 ms, wall p99 18 -> 17 ms), CPU that a two-core server
    needs for the next query. Offline builds keep every thread for their large batches.

    Applies at once; used as a context manager, it restores the previous limits on exit."""
    return threadpool_limits(limits=1, user_api="blas")
