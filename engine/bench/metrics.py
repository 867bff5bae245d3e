"""The benchmark metrics, exactly as the reference scorer `score.py` defines them (FORMAT.md)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

K = 10
STYLE_DEPTH = 5


def query_metrics(relevant: Mapping[str, int], ranking: Sequence[str]) -> dict[str, float | None]:
    ranking = list(ranking[:K])
    gains = [relevant.get(s, 0) for s in ranking]
    dcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted(relevant.values(), reverse=True)[:K]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    rr = next((1 / (i + 1) for i, g in enumerate(gains) if g > 0), 0.0)
    top = max(relevant.values())
    best = [s for s, g in relevant.items() if g == top]
    recall = sum(1 for s in ranking if relevant.get(s) == top) / min(K, len(best))
    depth = min(STYLE_DEPTH, len(best))
    style = sum(g == 2 for g in gains[:depth]) / depth if top == 2 else None
    return {
        "ndcg@10": dcg / idcg if idcg else 0.0,
        "mrr@10": rr,
        "recall@10": recall,
        "style@5": style,
    }


def score_run(
    queries: Iterable[Mapping], warm_users: set[str], run: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, float] | int]:
    """Metrics per segment (`all`, `warm`, `cold`, `lang:XX`), rounded like score.py."""
    segments: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    missing = 0
    for query in queries:
        if query["qid"] not in run:
            missing += 1
        values = query_metrics(query["relevant"], run.get(query["qid"], []))
        warmth = "warm" if query["user_id"] in warm_users else "cold"
        for name in ("all", warmth, "lang:" + query["lang"]):
            for key, value in values.items():
                if value is not None:
                    segments[name][key].append(value)
    out: dict[str, dict[str, float] | int] = {
        name: {k: round(sum(v) / len(v), 4) for k, v in metrics.items()}
        | {"n": len(metrics["ndcg@10"])}
        for name, metrics in sorted(segments.items())
    }
    out["missing_queries"] = missing
    return out


TYPED_BEFORE, NEW_WORDS = "typed before", "new words"


def words_key(text: str) -> str:
    """A query's words as history and queries are matched: case and spacing folded."""
    return " ".join(text.casefold().split())


def score_by_words(
    queries: Iterable[Mapping],
    warm_users: set[str],
    run: Mapping[str, Sequence[str]],
    picked_after: Mapping[str, set[str]],
) -> dict[str, dict[str, float] | int]:
    """All-query metrics of two groups: TYPED_BEFORE, the queries whose exact words someone
    typed before picking one of their right answers (`picked_after`: words_key -> stickers
    picked after those words in the history), and NEW_WORDS, the rest. The first measure
    what the query log remembers, the second what the text understanding finds alone."""
    groups: dict[str, list[Mapping]] = {TYPED_BEFORE: [], NEW_WORDS: []}
    for query in queries:
        seen = picked_after.get(words_key(query["text"]), set()) & query["relevant"].keys()
        groups[TYPED_BEFORE if seen else NEW_WORDS].append(query)
    return {
        name: score_run(group, warm_users, run)["all"] for name, group in groups.items() if group
    }
