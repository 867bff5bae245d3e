"""A user's taste, event by event: style clusters, drift, caps, decays and persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.encoders import l2_normalise
from engine.profile import (
    AFFINITY_DECAY,
    EVENTS_PER_CLUSTER,
    MAX_CLUSTERS,
    MAX_RECENT_PACKS,
    MAX_STICKERS,
    PICK_WEIGHT,
    STYLE_DECAY,
    Profile,
    pack_affinity,
    sticker_affinity,
    style_affinity,
    update,
)
from engine.style import STYLE_DIM

RNG_SEED = 11


def _styles(count: int, seed: int = RNG_SEED) -> np.ndarray:
    """`count` unrelated unit style vectors (nearly orthogonal in STYLE_DIM dimensions)."""
    return l2_normalise(np.random.default_rng(seed).normal(size=(count, STYLE_DIM)))


def _near(style: np.ndarray, rng: np.random.Generator, noise: float = 0.3) -> np.ndarray:
    """A member of the style: the pack style plus a little noise."""
    return l2_normalise(style + noise * rng.normal(size=style.shape) / np.sqrt(STYLE_DIM))


def _send(profile: Profile, style: np.ndarray, sticker: str, pack: str, ts: float = 0.0) -> None:
    update(profile, kind="send", sticker_id=sticker, set_name=pack, style=style, ts=ts)


def test_new_profile_has_no_taste() -> None:
    profile = Profile()
    assert profile.mass == 0.0
    np.testing.assert_array_equal(style_affinity(profile, _styles(3)), np.zeros(3))
    assert pack_affinity(profile, "p") == 0.0
    assert sticker_affinity(profile, "s") == 0.0


def test_switching_style_is_followed_within_a_handful_of_events() -> None:
    a, b = _styles(2)
    rng = np.random.default_rng(1)
    profile = Profile()
    for i in range(20):
        _send(profile, _near(a, rng), f"a{i % 4}", "pack_a", ts=i)
    before = style_affinity(profile, np.stack([a, b]))
    assert before[0] > 0.9 > 0.2 > before[1]
    switched_after = None
    for i in range(10):
        _send(profile, _near(b, rng), f"b{i % 4}", "pack_b", ts=20 + i)
        affinity_a, affinity_b = style_affinity(profile, np.stack([a, b]))
        if i == 0:
            assert affinity_a > affinity_b  # one event is not a switch
        if affinity_b > affinity_a and switched_after is None:
            switched_after = i + 1
    assert switched_after is not None
    assert switched_after <= 6
    final = style_affinity(profile, np.stack([a, b]))
    assert final[1] == pytest.approx(1.0, abs=0.05)
    assert final[1] > final[0]
    assert len(profile.centroids) == 2
    assert profile.last_ts == 29


def test_a_new_cluster_needs_enough_history() -> None:
    a, b = _styles(2)
    profile = Profile()
    for i in range(EVENTS_PER_CLUSTER - 1):
        _send(profile, a if i % 2 == 0 else b, f"s{i}", "p")
    assert len(profile.centroids) == 1  # too little history to afford a second style
    for i in range(EVENTS_PER_CLUSTER):
        _send(profile, a if i % 2 == 0 else b, f"t{i}", "p")
    assert len(profile.centroids) == 2


def test_clusters_are_capped() -> None:
    styles = _styles(3 * MAX_CLUSTERS)
    profile = Profile()
    for i in range(40 * MAX_CLUSTERS):
        _send(profile, styles[i % len(styles)], f"s{i}", f"p{i % len(styles)}")
    assert len(profile.centroids) == MAX_CLUSTERS
    assert len(profile.weights) == MAX_CLUSTERS
    affinity = style_affinity(profile, styles)
    assert ((affinity >= 0.0) & (affinity <= 1.0)).all()


def test_zero_style_leaves_clusters_alone() -> None:
    profile = Profile()
    _send(profile, np.zeros(STYLE_DIM), "s", "p")
    assert profile.centroids == []
    assert profile.events == 1
    assert profile.stickers == {"s": 1.0}


def test_affinities_decay_per_event_and_picks_weigh_more() -> None:
    a = _styles(1)[0]
    profile = Profile()
    update(profile, kind="pick", sticker_id="first", set_name="old", style=a, ts=1.0)
    assert profile.stickers["first"] == PICK_WEIGHT
    assert profile.weights == [PICK_WEIGHT]
    for i in range(5):
        _send(profile, a, f"other{i}", "new", ts=2.0 + i)
    assert profile.stickers["first"] == pytest.approx(PICK_WEIGHT * AFFINITY_DECAY**5)
    assert profile.packs["old"] == pytest.approx(PICK_WEIGHT * AFFINITY_DECAY**5)
    expected_weight = PICK_WEIGHT * STYLE_DECAY**5 + sum(STYLE_DECAY**k for k in range(5))
    assert profile.weights[0] == pytest.approx(expected_weight)
    assert sticker_affinity(profile, "first") == pytest.approx(
        profile.stickers["first"] / max(profile.stickers.values())
    )
    assert pack_affinity(profile, "new") == 1.0
    assert 0.0 < pack_affinity(profile, "old") < 1.0
    assert profile.events == 6
    # recent packs follow the newest events as closely as the style clusters do
    assert profile.recent_packs["old"] == pytest.approx(PICK_WEIGHT * STYLE_DECAY**5)
    assert profile.recent_packs["new"] == pytest.approx(sum(STYLE_DECAY**k for k in range(5)))


def test_recent_packs_keep_the_newest() -> None:
    a = _styles(1)[0]
    profile = Profile()
    for i in range(MAX_RECENT_PACKS + 5):
        _send(profile, a, "s", f"p{i}")
    assert len(profile.recent_packs) == MAX_RECENT_PACKS
    assert "p0" not in profile.recent_packs
    newest = max(profile.recent_packs, key=profile.recent_packs.__getitem__)
    assert newest == f"p{MAX_RECENT_PACKS + 4}"


def test_repeat_affinities_are_trimmed_to_the_heaviest() -> None:
    a = _styles(1)[0]
    profile = Profile()
    for i in range(MAX_STICKERS + 10):
        _send(profile, a, f"s{i}", "p")
    assert len(profile.stickers) == MAX_STICKERS
    assert "s0" not in profile.stickers  # the oldest, most decayed entries go first
    assert f"s{MAX_STICKERS + 9}" in profile.stickers


def test_to_dict_from_dict_round_trip() -> None:
    a, b = _styles(2)
    rng = np.random.default_rng(2)
    profile = Profile()
    for i in range(15):
        style = _near(a if i < 8 else b, rng)
        update(
            profile,
            kind="pick" if i % 3 else "send",
            sticker_id=f"s{i % 5}",
            set_name=f"p{i % 2}",
            style=style,
            ts=100.0 + i,
        )
    doc = json.loads(json.dumps(profile.to_dict()))
    again = Profile.from_dict(doc)
    assert again == profile
    assert again.recent_packs == profile.recent_packs != {}
    probes = np.stack([a, b, _near(a, rng)])
    np.testing.assert_array_equal(style_affinity(again, probes), style_affinity(profile, probes))
    assert Profile.from_dict(None) == Profile()
    assert Profile.from_dict({}) == Profile()


def test_profile_stored_with_cluster_spreads_still_loads_and_updates() -> None:
    """Older profiles kept a per-cluster spread; it is ignored, nothing else is lost."""
    a = _styles(1)[0]
    old = {
        "events": 3,
        "centroids": [a.tolist()],
        "weights": [2.0],
        "spreads": [0.4],
        "packs": {"p": 1.0},
    }
    profile = Profile.from_dict(old)
    assert profile.packs == {"p": 1.0}
    assert style_affinity(profile, a[None, :])[0] == pytest.approx(1.0, abs=1e-5)
    _send(profile, a, "s", "p")
    assert profile.events == 4
    assert "spreads" not in profile.to_dict()
