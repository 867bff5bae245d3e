"""Recall and ranking on a real index: emoji keywords in other languages, same-meaning sharing,
the crowd's picks, and taste that orders equally relevant stickers."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

import engine.crowd as crowd_module
import engine.recall as recall_module
from engine.build import build_index
from engine.completion import COMPLETION_CREDIT
from engine.crowd import Crowd
from engine.encoders import TextEncoder
from engine.index import CatalogIndex, Encoders
from engine.pack_neighbours import PackNeighbours
from engine.profile import Profile, pack_affinity, sticker_affinity, style_affinity, update
from engine.rank import (
    CONFIDENCE_HALF,
    CROWD,
    PERSONAL,
    SIBLING_CONTRAST,
    W_PACK,
    W_REPEAT,
    W_STYLE,
    WALK_SHARE,
    Ranked,
    _contenders,
    _max_lift,
    rank,
)
from engine.recall import (
    CROWD_HIGH,
    CROWD_LOW,
    DENSE_HIGH,
    DENSE_LOW,
    EMOJI_ONLY_SHARE,
    EXACT_PICK_EVIDENCE,
    FRAGMENT_TRUST,
    PICK_EVIDENCE,
    W_CROWD,
    W_DENSE,
    Candidates,
    Evidence,
    Recall,
    ramp,
    recall_text,
)
from engine.style import STYLE_DIM
from engine.types import StickerRecord
from engine.word_focus import WEIGHED_PER_CALL

PngMaker = Callable[[str, int, int], Path]  # the `png` fixture of conftest.py
DEPTH = 200
PIZZA = "a slice of pizza with melted cheese"
SLEEP = "a sleepy cat with closed eyes"
# sticker id -> (pack, style, shape, caption, emoji)
CATALOG: dict[str, tuple[str, str, int, str, str | None]] = {
    "fa_sleep": ("flat_a", "flat", 0, SLEEP, "😴"),
    "fa_pizza": ("flat_a", "flat", 1, PIZZA, "🍕"),
    "fa_heart": ("flat_a", "flat", 2, "a red heart", "❤️"),
    "fa_rain": ("flat_a", "flat", 3, "rain falling from a grey cloud", "🌧"),
    "sa_sleep": ("soft_a", "soft", 0, SLEEP, None),
    "sa_pizza": ("soft_a", "soft", 1, PIZZA, "🍕"),
    "sa_heart": ("soft_a", "soft", 2, "a red heart", "❤️"),
    "sa_rain": ("soft_a", "soft", 3, "rain falling from a grey cloud", "🌧"),
    "fb_pizza": ("flat_b", "flat", 1, PIZZA, "🍕"),
    "fb_moon": ("flat_b", "flat", 4, "the moon and stars in the night sky", "🌙"),
    "fb_yawn": ("flat_b", "flat", 5, "a yawning face, time for bed", "🥱"),
    "fb_party": ("flat_b", "flat", 6, "confetti and a party popper", "🎉"),
    "sb_pizza": ("soft_b", "soft", 1, PIZZA, "🍕"),
    "sb_bed": ("soft_b", "soft", 7, "a bed with a soft pillow", "🛏"),
    "sb_coffee": ("soft_b", "soft", 8, "a cup of hot coffee", "☕"),
}
PIZZAS = ("fa_pizza", "sa_pizza", "fb_pizza", "sb_pizza")


@pytest.fixture(scope="module")
def index(png: PngMaker, encoders: Encoders) -> CatalogIndex:
    records = [
        StickerRecord(sid, pack, emoji=emoji, caption=caption, path=str(png(style, shape, 1)))
        for sid, (pack, style, shape, caption, emoji) in CATALOG.items()
    ]
    built = build_index(records, encoders).index
    assert len(built) == len(CATALOG)
    return built


def _evidence(
    index: CatalogIndex, crowd: Crowd, memo_encoder: TextEncoder, text: str
) -> dict[str, Evidence]:
    vector = memo_encoder.encode_text([text])[0]
    found = recall_text(index, crowd, text, vector, DEPTH)
    return {index.rows.sticker_ids[row]: ev for row, ev in found.as_evidence().items()}


def _ranked(
    index: CatalogIndex,
    crowd: Crowd,
    memo_encoder: TextEncoder,
    text: str,
    profile: Profile | None = None,
) -> list[Ranked]:
    vector = memo_encoder.encode_text([text])[0]
    evidence = recall_text(index, crowd, text, vector, DEPTH)
    return rank(index, evidence, profile or Profile(), crowd)


def _ids(index: CatalogIndex, ranked: list[Ranked]) -> list[str]:
    return [index.rows.sticker_ids[r.row] for r in ranked]


def test_emoji_keyword_in_italian_recalls_the_sticker(
    index: CatalogIndex, memo_encoder: TextEncoder
) -> None:
    crowd = Crowd(memo_encoder)
    # An Italian CLDR keyword of 😴 and of 🛏, in no caption.
    evidence = _evidence(index, crowd, memo_encoder, "dormire")
    assert "fa_sleep" in evidence
    assert evidence["fa_sleep"].reason == "its emoji means that"
    assert evidence["fa_sleep"].score > 0.3
    for pizza in PIZZAS:
        assert evidence.get(pizza, Evidence(0.0, "")).score < evidence["fa_sleep"].score / 2
    # The sleeping face, its copy without the emoji, and the bed, before anything else.
    top = _ids(index, _ranked(index, crowd, memo_encoder, "dormire"))[:3]
    assert set(top) == {"fa_sleep", "sa_sleep", "sb_bed"}


def test_vectors_still_being_encoded_are_waited_for_after_the_lexical_channels(
    index: CatalogIndex, memo_encoder: TextEncoder
) -> None:
    crowd, text = Crowd(memo_encoder), "dormire"
    vector = memo_encoder.encode_text([text])[0]
    steps: list[str] = []

    @contextlib.contextmanager
    def timer(name: str) -> Iterator[None]:
        steps.append(name)
        yield

    def pending() -> np.ndarray:
        steps.append("vector asked for")
        return vector

    waited = recall_text(index, crowd, text, pending, DEPTH, timer=timer)

    assert waited.as_evidence() == recall_text(index, crowd, text, vector, DEPTH).as_evidence()
    asked = steps.index("vector asked for")
    assert {"lexical_meaning", "lexical_emoji", "lexical_title"} <= set(steps[:asked])
    assert steps.count("vector asked for") == 1 and "dense" in steps[asked:]


def test_same_caption_sibling_without_the_emoji_shares_the_relevance(
    index: CatalogIndex, memo_encoder: TextEncoder
) -> None:
    sibling = index.row_of["sa_sleep"]
    # its own emoji field cannot match: it has no emoji
    assert sibling not in index.fields["emoji"].search("dormire", DEPTH).rows
    evidence = _evidence(index, Crowd(memo_encoder), memo_encoder, "dormire")
    assert "sa_sleep" in evidence
    assert evidence["sa_sleep"].score == pytest.approx(evidence["fa_sleep"].score, rel=1e-3)
    assert evidence["sa_sleep"].reason == "its emoji means that"  # what its sibling had
    # sharing passes relevance on scaled by similarity: never more than the source had
    assert evidence["sa_sleep"].score <= evidence["fa_sleep"].score
    for _, similarity in index.neighbours(index.row_of["fa_sleep"]):
        assert similarity <= 1.0


def test_stickers_known_only_by_their_emoji_share_part_of_their_evidence(
    png: PngMaker, encoders: Encoders
) -> None:
    """Two packs' 😴 stickers without caption or OCR have one meaning (the emoji's name), but
    pack authors' emoji are loose: a pick of one is only partly a pick of the other. Copies
    known by one caption still share in full."""
    records = [
        StickerRecord("flat_zzz", "flat_a", emoji="😴", path=str(png("flat", 0, 1))),
        StickerRecord("soft_zzz", "soft_a", emoji="😴", path=str(png("soft", 0, 1))),
        StickerRecord(
            "flat_pizza", "flat_a", emoji="🍕", caption=PIZZA, path=str(png("flat", 1, 1))
        ),
        StickerRecord("soft_pizza", "soft_a", caption=PIZZA, path=str(png("soft", 1, 1))),
    ]
    index = build_index(records, encoders).index
    assert index.emoji_only.tolist() == [True, True, False, False]
    row = index.row_of
    assert index.meaning_of_row[row["flat_zzz"]] == index.meaning_of_row[row["soft_zzz"]]
    recall = Recall(index)
    recall.add([row["flat_zzz"], row["flat_pizza"]], [0.8, 0.8], "people picked it for that")
    shared = recall.result().as_evidence()
    assert shared[row["soft_zzz"]].score == pytest.approx(0.8 * EMOJI_ONLY_SHARE)
    assert shared[row["soft_pizza"]].score == pytest.approx(0.8)
    assert shared[row["flat_zzz"]].score == shared[row["flat_pizza"]].score == pytest.approx(0.8)


def test_a_pick_after_a_query_ranks_that_sticker_first_for_others(
    index: CatalogIndex, memo_encoder: TextEncoder
) -> None:
    crowd = Crowd(memo_encoder)
    query = "good night"
    before = _ids(index, _ranked(index, crowd, memo_encoder, query))
    assert len(before) >= 2
    target = before[-1]  # the least relevant of the recalled stickers
    crowd.add("ann", "pick", target, query)
    for typed in (query, "Good  NIGHT"):
        after = _ranked(index, crowd, memo_encoder, typed)
        assert _ids(index, after)[0] == target, typed
        assert "people picked it for that" in after[0].reason
    # the others' order is otherwise kept
    rest = [s for s in _ids(index, _ranked(index, crowd, memo_encoder, query)) if s != target]
    assert rest == [s for s in before if s != target]


def test_one_pick_counts_as_one_pick(index: CatalogIndex, memo_encoder: TextEncoder) -> None:
    """A sticker that only the query log recalls gets the evidence of one pick, once:
    the same logged query must not count again as its own nearest neighbour."""
    crowd = Crowd(memo_encoder)
    query = "quarterly tax filing deadline"
    assert "sb_coffee" not in _evidence(index, crowd, memo_encoder, query)
    crowd.add("ann", "pick", "sb_coffee", query)
    evidence = _evidence(index, crowd, memo_encoder, query)
    assert evidence["sb_coffee"].reason == "people picked it for that"
    assert evidence["sb_coffee"].score == pytest.approx(W_CROWD * EXACT_PICK_EVIDENCE, abs=1e-3)


def test_past_queries_lend_their_picks_as_close_as_their_vector_or_their_words_say(
    index: CatalogIndex, memo_encoder: TextEncoder
) -> None:
    """Counted once, at the closer of the two: Vietnamese, which the bundled model did not
    learn, by its words; English by its vector, closer than its shared words."""
    for past, text in [("tôi muốn uống cà phê nóng", "cà phê"), ("a hot coffee please", "coffee")]:
        crowd = Crowd(memo_encoder)
        before = _evidence(index, crowd, memo_encoder, text).get("sb_coffee", Evidence(0.0, ""))
        crowd.add("ann", "pick", "sb_coffee", past)
        vector = memo_encoder.encode_text([text])[0]
        [(_, similarity, _)] = crowd.similar_queries(vector, 10)
        [(_, shared, _)] = crowd.sharing_words(text, 10)
        closeness = max(float(ramp(similarity, CROWD_LOW, CROWD_HIGH)), shared)
        lent = W_CROWD * closeness * PICK_EVIDENCE
        after = _evidence(index, crowd, memo_encoder, text)["sb_coffee"]
        assert after.score == pytest.approx(1 - (1 - before.score) * (1 - lent), abs=1e-3)
        assert lent > 0.1


def test_a_word_typed_before_picks_of_all_kinds_weighs_less_in_the_captions(
    index: CatalogIndex, memo_encoder: TextEncoder
) -> None:
    """Only the moon's caption holds "the" and only the coffee's "coffee": alike in the
    captions, until the query log shows "the" typed before picks of every kind."""
    crowd = Crowd(memo_encoder)
    before = _evidence(index, crowd, memo_encoder, "the coffee")
    for sticker_id, (_, _, _, caption, _) in CATALOG.items():
        if sticker_id not in ("fb_moon", "sb_coffee"):
            crowd.add("ann", "pick", sticker_id, f"the {caption.split()[-1]}")
    after = _evidence(index, crowd, memo_encoder, "the coffee")
    assert after["fb_moon"].score < before["fb_moon"].score / 2
    assert after["sb_coffee"].score > before["sb_coffee"].score
    assert after["sb_coffee"].score > 2 * after["fb_moon"].score


def _pick_each_with(crowd: Crowd, filler: str) -> None:
    """ann picks every sticker once, after its caption's last word and `filler`."""
    for sticker_id, (_, _, _, caption, _) in CATALOG.items():
        crowd.add("ann", "pick", sticker_id, f"{caption.split()[-1]} {filler}")


def test_a_word_typed_before_picks_of_every_meaning_weighs_less_than_a_subject(
    index: CatalogIndex, memo_encoder: TextEncoder
) -> None:
    crowd = Crowd(memo_encoder)
    _pick_each_with(crowd, "pls")  # 15 picks of 9 meanings
    for pizza in PIZZAS:
        crowd.add("bob", "pick", pizza, "pizza")
    weights = crowd.word_weights(["pls", "pizza", "cheese", "zebra"], index)
    assert weights["pls"] < 0.5
    assert weights["pizza"] == weights["cheese"] == 1.0  # picks of one meaning
    assert weights["zebra"] == 1.0  # never typed
    # ann leaves: her picks no longer weigh her words
    crowd.recount(crowd.used_by("ann"), [("bob", "pick", pizza, "pizza") for pizza in PIZZAS])
    assert crowd.word_weights(["pls"], index) == {"pls": 1.0}


def test_a_words_weight_is_weighed_again_once_its_count_grows_a_tenth(
    index: CatalogIndex, memo_encoder: TextEncoder
) -> None:
    crowd = Crowd(memo_encoder)
    _pick_each_with(crowd, "pls")  # 9 distinct logged queries hold "pls"
    first = crowd.word_weights(["pls"], index)["pls"]
    crowd.add("bob", "pick", "fb_party", "popper pls")  # a pick more, after a logged query
    assert crowd.word_weights(["pls"], index)["pls"] == first
    crowd.add("bob", "pick", "fb_party", "party time pls")  # 10 queries: more than a tenth
    assert crowd.word_weights(["pls"], index)["pls"] < first  # more picks, as spread


def test_a_call_weighs_at_most_a_few_words_anew_and_the_next_calls_the_rest(
    index: CatalogIndex, memo_encoder: TextEncoder
) -> None:
    crowd = Crowd(memo_encoder)
    fillers = ["pls", "the", "one", "sticker", "send"]
    for filler in fillers:
        _pick_each_with(crowd, filler)
    first = crowd.word_weights(fillers, index)
    assert sorted(first.values()).count(1.0) == len(fillers) - WEIGHED_PER_CALL
    for _ in range(len(fillers)):
        crowd.word_weights(fillers, index)
    assert all(weight < 0.5 for weight in crowd.word_weights(fillers, index).values())


def test_a_past_query_shares_what_it_says_not_the_words_around_it(
    index: CatalogIndex, memo_encoder: TextEncoder
) -> None:
    """ "cheese pls" (picked after: the pizzas) holds all of "cheese" and half its own words;
    weighed, "pls" is worth less than "cheese" in that half."""
    crowd = Crowd(memo_encoder)
    _pick_each_with(crowd, "pls")
    plain = {query: close for query, close, _ in crowd.sharing_words("cheese", 10)}
    weighed = {query: close for query, close, _ in crowd.sharing_words("cheese", 10, index)}
    pls = crowd.word_weights(["pls"], index)["pls"]
    assert plain["cheese pls"] == pytest.approx(0.5)
    assert weighed["cheese pls"] == pytest.approx(1 / (1 + pls))
    assert weighed["cheese pls"] > 0.6


def test_a_query_still_being_typed_counts_the_picks_after_its_completion(
    index: CatalogIndex, memo_encoder: TextEncoder
) -> None:
    crowd = Crowd(memo_encoder)
    crowd.add("ann", "pick", "sb_coffee", "quarterly tax filing deadline")
    typing = _evidence(index, crowd, memo_encoder, "quarterly tax filing dead")["sb_coffee"]
    # the same words with a space after them are done: only their likeness to the logged
    # query counts (a trailing space does not change what the text model reads)
    done = _evidence(index, crowd, memo_encoder, "quarterly tax filing dead ")["sb_coffee"]
    completion = W_CROWD * COMPLETION_CREDIT * PICK_EVIDENCE
    # while the word is cut short, its likeness counts FRAGMENT_TRUST of what it does after
    likeness = FRAGMENT_TRUST * done.score
    assert typing.score == pytest.approx(1 - (1 - likeness) * (1 - completion), abs=1e-3)
    assert typing.reason == "people picked it for that"


def test_forgotten_pick_no_longer_steers(index: CatalogIndex, memo_encoder: TextEncoder) -> None:
    crowd = Crowd(memo_encoder)
    query = "good night"
    before = _ids(index, _ranked(index, crowd, memo_encoder, query))
    target = before[-1]
    crowd.add("ann", "pick", target, query)
    crowd.add("ann", "send", "fa_heart", None)
    assert crowd.utility(target) > 0
    crowd.recount(crowd.used_by("ann"), [])  # ann's events deleted: none left to count
    assert crowd.exact_query(query) == {}
    assert crowd.similar_queries(memo_encoder.encode_text([query])[0], 10) == []
    assert crowd.utility(target) == 0.0
    assert crowd.picks_of(target) == 0
    assert _ids(index, _ranked(index, crowd, memo_encoder, query)) == before


def test_dense_evidence_is_the_cosine_beyond_the_average_past_query(
    index: CatalogIndex, memo_encoder: TextEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crowd_module, "MEAN_QUERY_PRIOR", 0)  # the plain mean of five queries
    crowd = Crowd(memo_encoder)
    for user, query in enumerate(["sleepy", "pizza time", "love you", "rainy day", "good night"]):
        crowd.add(f"u{user}", "pick", "fb_party", query)
    typical = crowd.mean_query()
    vector = memo_encoder.encode_text(["tired"])[0]
    channel = Recall(index)
    recall_module._dense(channel, index, crowd, vector, DEPTH)
    rows, scores = np.concatenate(channel._rows), np.concatenate(channel._scores)
    found = dict(zip(rows.tolist(), scores.tolist(), strict=True))
    # The graph's vector of each row's meaning: every row has one in this catalog.
    meanings = np.asarray(index.dense.vectors(index.meaning_of_row), np.float64)
    beyond = meanings @ vector - meanings @ typical + typical @ index.meaning_mean
    expected = W_DENSE * ramp(beyond, DENSE_LOW, DENSE_HIGH)
    assert sorted(found) == np.flatnonzero(expected > 0).tolist()  # no evidence, no row
    np.testing.assert_allclose([found[r] for r in sorted(found)], expected[expected > 0], atol=1e-5)
    plain = W_DENSE * ramp(meanings @ vector, DENSE_LOW, DENSE_HIGH)
    assert np.abs(plain - expected).max() > 0.01  # the correction is not a no-op here


def test_a_cut_word_the_index_completes_trusts_the_text_model_less(
    index: CatalogIndex, memo_encoder: TextEncoder
) -> None:
    crowd = Crowd(memo_encoder)
    crowd.add("ann", "pick", "sb_coffee", "a slice of pizza please")  # a similar past query
    # One vector for both texts, far from what "slee" completes to ("sleepy"), so the pizzas'
    # only evidence is the text model's.
    vector = memo_encoder.encode_text(["a slice of pizza"])[0]
    typing = recall_text(index, crowd, "slee", vector, DEPTH).as_evidence()
    done = recall_text(index, crowd, "slee ", vector, DEPTH).as_evidence()  # finished: no word
    assert typing[index.row_of["fa_sleep"]].reason == "words of its caption"
    assert index.row_of["fa_sleep"] not in done
    for pizza in PIZZAS:
        row = index.row_of[pizza]
        assert done[row].reason == typing[row].reason == "its caption means that"
        assert typing[row].score == pytest.approx(FRAGMENT_TRUST * done[row].score, abs=1e-6)
    coffee = index.row_of["sb_coffee"]
    assert done[coffee].reason == typing[coffee].reason == "people picked it for that"
    assert typing[coffee].score == pytest.approx(FRAGMENT_TRUST * done[coffee].score, abs=1e-6)


def test_crowd_utility_grows_with_distinct_users(memo_encoder: TextEncoder) -> None:
    crowd = Crowd(memo_encoder)
    for user in ("a", "b", "c"):
        crowd.add(user, "send", "popular", None)
    crowd.add("a", "send", "niche", None)
    crowd.add("a", "send", "niche", None)
    assert crowd.utility("popular") > crowd.utility("niche") > crowd.utility("unknown") == 0.0
    assert 0.0 < crowd.utility("popular") <= 1.0


def test_cold_user_ordering_does_not_depend_on_style(
    index: CatalogIndex, memo_encoder: TextEncoder
) -> None:
    crowd = Crowd(memo_encoder)
    ranked = _ranked(index, crowd, memo_encoder, "pizza")
    by_id = {index.rows.sticker_ids[r.row]: r for r in ranked}
    scores = [by_id[p].score for p in PIZZAS]
    assert scores == pytest.approx([scores[0]] * len(PIZZAS))
    assert set(_ids(index, ranked)[:4]) == set(PIZZAS)
    # the same catalog with every sticker's style vector shuffled ranks identically
    shuffled = np.random.default_rng(5).permutation(len(index))
    restyled = dataclasses.replace(  # no pack styles given: computed from the new statistics
        index, style_raw=index.style_raw[shuffled].copy(), pack_vectors=np.zeros((0, STYLE_DIM))
    )
    assert not np.allclose(restyled.pack_vectors, index.pack_vectors)
    vector = memo_encoder.encode_text(["pizza"])[0]
    again = rank(restyled, recall_text(restyled, crowd, "pizza", vector, DEPTH), Profile(), crowd)
    assert [(r.row, r.score) for r in again] == [(r.row, r.score) for r in ranked]
    assert all("style" not in r.reason and "pack" not in r.reason for r in ranked)


def test_warm_users_style_comes_first_among_equally_relevant(
    index: CatalogIndex, memo_encoder: TextEncoder
) -> None:
    crowd = Crowd(memo_encoder)
    flat_fan, soft_fan = Profile(), Profile()
    for i in range(8):
        for profile, pack in ((flat_fan, "fa"), (soft_fan, "sa")):
            _send(index, profile, f"{pack}_{('sleep', 'heart', 'rain')[i % 3]}", i)
    flat_ranked = _ranked(index, crowd, memo_encoder, "pizza", flat_fan)
    soft_ranked = _ranked(index, crowd, memo_encoder, "pizza", soft_fan)
    # the pack they send from first, then the pack of their style they never opened
    assert _ids(index, flat_ranked)[:4] == ["fa_pizza", "fb_pizza", "sa_pizza", "sb_pizza"]
    assert _ids(index, soft_ranked)[:4] == ["sa_pizza", "sb_pizza", "fa_pizza", "fb_pizza"]
    assert "in your style" in flat_ranked[1].reason
    assert "from a pack you use" in flat_ranked[0].reason
    # taste only reorders what is relevant: nothing they love outranks what they typed
    assert set(_ids(index, flat_ranked)[:4]) == set(PIZZAS)


def test_safe_mask_removes_rows(index: CatalogIndex, memo_encoder: TextEncoder) -> None:
    crowd = Crowd(memo_encoder)
    vector = memo_encoder.encode_text(["pizza"])[0]
    evidence = recall_text(index, crowd, "pizza", vector, DEPTH)
    allowed = np.ones(len(index), dtype=bool)
    allowed[index.row_of["fa_pizza"]] = False
    ranked = rank(index, evidence, Profile(), crowd, allowed=allowed)
    assert "fa_pizza" not in _ids(index, ranked)
    assert len(ranked) == len(evidence) - 1
    assert rank(index, Candidates.uniform([], 1.0, "words"), Profile(), crowd) == []


def _warm(index: CatalogIndex, memo_encoder: TextEncoder) -> tuple[Profile, Crowd]:
    """A user of the flat packs, plus a few other people's sends."""
    profile, crowd = Profile(), Crowd(memo_encoder)
    for i, sticker in enumerate(["fa_sleep", "fa_heart", "fb_moon", "fa_sleep", "sb_bed"]):
        _send(index, profile, sticker, i)
    profile.packs["a pack not in the catalog"] = 0.1
    profile.stickers["a sticker not in the catalog"] = 9.0  # the heaviest: it sets the scale
    for user, sticker in [("bo", "sa_pizza"), ("cy", "sa_pizza"), ("cy", "fb_party")]:
        crowd.add(user, "send", sticker, None)
    return profile, crowd


def _send(index: CatalogIndex, profile: Profile, sticker: str, ts: int) -> None:
    """The user sent `sticker`: the profile learns from it as the engine's observe does."""
    row = index.row_of[sticker]
    update(
        profile,
        kind="send",
        sticker_id=sticker,
        set_name=index.rows.set_names[row],
        style=index.pack_style_of(row),
        ts=ts,
    )


def _random_candidates(index: CatalogIndex, seed: int) -> Candidates:
    rng = np.random.default_rng(seed)
    relevance = 10.0 ** rng.uniform(-3, 0, len(index))  # spread wide: weak rows can be dropped
    rows = rng.permutation(len(index))  # candidates come in any order
    return Candidates(rows, relevance[rows], np.zeros(len(rows), np.int64), ("words",))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("by_row", [False, True], ids=["utility-by-id", "utility-by-row"])
@pytest.mark.parametrize("walk", [False, True], ids=["clusters", "clusters-and-walk"])
def test_rank_scores_follow_the_per_row_formula(
    index: CatalogIndex, memo_encoder: TextEncoder, seed: int, by_row: bool, walk: bool
) -> None:
    profile, crowd = _warm(index, memo_encoder)
    if by_row or walk:  # as the engine serves: the crowd numbers this catalog's rows
        crowd.usage.bind_rows(index.row_of, len(index))
        crowd.add("dee", "pick", "fa_heart", "yay")  # first used after the binding
    candidates = _random_candidates(index, seed)
    evidence = candidates.as_evidence()
    confidence = profile.mass / (profile.mass + CONFIDENCE_HALF)
    styles = style_affinity(profile, index.pack_style_of(candidates.rows))
    neighbours = None
    if walk:
        neighbours = PackNeighbours(index.pack_vectors, index.pack_of_row, index.row_of)
        neighbours.follow(crowd.usage)
        recent = {
            int(index.pack_of_row[index.set_rows[name][0]]): weight
            for name, weight in profile.recent_packs.items()
        }
        closeness = neighbours.closeness(recent)
        assert closeness is not None
        walked = closeness[index.pack_of_row[candidates.rows]]
        styles = WALK_SHARE * walked + (1 - WALK_SHARE) * styles
    style_of = dict(zip(candidates.rows.tolist(), styles.tolist(), strict=True))
    lead_of: dict[int, float] = {}  # meaning -> the closest style among its candidates
    for row, style in style_of.items():
        meaning = int(index.meaning_of_row[row])
        lead_of[meaning] = max(lead_of.get(meaning, 0.0), style)
    for ranked in rank(index, candidates, profile, crowd, neighbours=neighbours):
        sticker_id, set_name = (
            index.rows.sticker_ids[ranked.row],
            index.rows.set_names[ranked.row],
        )
        style = style_of[ranked.row]
        lead = lead_of[int(index.meaning_of_row[ranked.row])]
        share = (style / lead) ** SIBLING_CONTRAST if lead > 0 else 1.0
        taste = (
            W_STYLE * style * share
            + W_PACK * pack_affinity(profile, set_name)
            + W_REPEAT * sticker_affinity(profile, sticker_id)
        )
        lift = (1 + PERSONAL * confidence * taste) * (1 + CROWD * crowd.utility(sticker_id))
        assert ranked.score == pytest.approx(evidence[ranked.row].score * lift, rel=1e-5)


@pytest.mark.parametrize("seed", range(5))
def test_a_limit_gives_the_head_of_the_full_ranking(
    index: CatalogIndex, memo_encoder: TextEncoder, seed: int
) -> None:
    profile, crowd = _warm(index, memo_encoder)
    candidates = _random_candidates(index, seed)
    full = rank(index, candidates, profile, crowd)
    for limit in (1, 3, 5):
        assert rank(index, candidates, profile, crowd, limit=limit) == full[:limit]


def test_rows_no_lift_can_raise_are_not_ranked() -> None:
    rows = np.arange(6, dtype=np.int64)
    relevance = np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.1], np.float32)
    kept = rows[_contenders(relevance, 2, _max_lift(0.5))]  # lift 2 x 1.15 = 2.3
    # 0.4 x 2.3 reaches the second best (0.8), 0.3 x 2.3 does not
    assert kept.tolist() == [0, 1, 2, 3]
    assert _contenders(relevance, 6, _max_lift(0.5)).all()


def test_a_meanings_copy_in_another_style_follows_the_next_meaning(
    index: CatalogIndex, memo_encoder: TextEncoder
) -> None:
    """Pizza matches the words best, sleep a little less. A user who alternates between soft
    and flat, soft leading, sees the soft pizza, then the (flat) sleep, and only then the flat
    pizza: a meaning already shown in their style does not come again before the next one,
    though its copy is in a style they use too."""
    mixed = Profile()
    for i, sticker in enumerate(["sa_heart", "fa_heart"] * 3 + ["fa_rain"]):
        _send(index, mixed, sticker, i)
    names = ["fa_pizza", "sa_pizza", "fa_sleep"]
    candidates = Candidates(
        np.array([index.row_of[name] for name in names]),
        np.array([1.0, 1.0, 0.9]),
        np.zeros(len(names), np.int64),
        ("words",),
    )
    ranked = rank(index, candidates, mixed, Crowd(memo_encoder))
    assert _ids(index, ranked) == ["sa_pizza", "fa_sleep", "fa_pizza"]
