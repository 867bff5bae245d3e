"""Benchmark results for people: a compact text table and a bar chart.

Both read the results JSON that `engine.bench.runner.BenchReport.to_json` writes, so a chart
can combine runs made on different days or machines.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.bench.metrics import NEW_WORDS, TYPED_BEFORE
from engine.bench.protocol import TYPED_SHARE
from engine.errors import StickerbotError

METRICS = ("ndcg@10", "mrr@10", "recall@10", "style@5")
CHART_METRICS = ("ndcg@10", "mrr@10", "style@5")
FIXED_SEGMENTS = ("all", "warm", "cold")  # then each language, alphabetically
TIMINGS = ("build", "replay", "answer")
MISSING = "-"  # a metric a segment has no query for (style@5 without warm users)
CHART_DPI = 120
PANEL_SIZE = (5.0, 3.6)  # inches per dataset panel: room for three groups of bars
Y_TOP = 1.2  # metrics end at 1.0; the band above holds the legend clear of the bars
BAR_GROUP_WIDTH = 0.8  # share of a metric's slot filled by its bars


class ReportError(StickerbotError):
    """A results file cannot be read as benchmark results."""


def format_table(results: dict[str, Any]) -> str:
    """Metrics per segment and ranker, then costs per ranker, as aligned plain text."""
    rankers: dict[str, Any] = results["rankers"]
    lines = [f"dataset {results['dataset_name']}  ({results['dataset']})"]
    if "engine" in results:  # results written before the settings were recorded lack it
        engine = results["engine"]
        lines.append(f"stickerbot text model {engine['text_model']}, CLIP {engine['clip_model']}")
    lines.append("")
    header = f"{'segment':<10} {'ranker':<16}" + "".join(f"{m:>10}" for m in METRICS) + f"{'n':>7}"
    lines.append(header)
    for segment in segments(rankers):
        for position, (name, ranker) in enumerate(rankers.items()):
            values = ranker["metrics"].get(segment, {})
            cells = "".join(f"{_cell(values.get(m)):>10}" for m in METRICS)
            label = segment if position == 0 else ""
            lines.append(f"{label:<10} {name:<16}{cells}{values.get('n', 0):>7}")
    lines += [
        "",
        f"{'ranker':<16}"
        + "".join(f"{t + ' s':>10}" for t in TIMINGS)
        + f"{'p50 ms':>10}{'p99 ms':>10}{'events skipped':>16}",
    ]
    for name, ranker in rankers.items():
        seconds = "".join(f"{ranker['seconds'].get(t, 0.0):>10.2f}" for t in TIMINGS)
        latency = ranker["latency_ms"]
        lines.append(
            f"{name:<16}{seconds}{latency['p50']:>10.1f}{latency['p99']:>10.1f}"
            f"{ranker['skipped_events']:>16}"
        )
    lines += _skipped_stickers(rankers)
    lines += _typing_table(rankers)
    lines += _by_words_table(rankers)
    unavailable = results.get("unavailable", {})
    lines += [f"unavailable: {name} ({why})" for name, why in unavailable.items()]
    return "\n".join(lines)


def _skipped_stickers(rankers: dict[str, Any]) -> list[str]:
    """A line for each ranker that could not index some of the catalog's stickers."""
    lines = []
    for name, ranker in rankers.items():
        skipped = ranker.get("skipped_stickers") or {}  # absent from older results files
        if skipped:
            reasons = ", ".join(f"{n} {why}" for why, n in sorted(skipped.items()))
            lines.append(f"stickers {name} could not index: {sum(skipped.values())} ({reasons})")
    return lines


def _typing_table(rankers: dict[str, Any]) -> list[str]:
    """The queries answered half-typed, all segments together (results from before this
    measure have none)."""
    typed = {
        name: r["typing"]["all"]
        for name, r in rankers.items()
        if (r.get("typing") or {}).get("all")
    }
    if not typed:
        return []
    share = f"{TYPED_SHARE:.0%}"
    lines = [
        "",
        f"as you type: each query again, its last word cut to its first {share} of letters",
    ]
    lines.append(f"{'':<10} {'ranker':<16}" + "".join(f"{m:>10}" for m in METRICS) + f"{'n':>7}")
    for name, values in typed.items():
        cells = "".join(f"{_cell(values.get(m)):>10}" for m in METRICS)
        lines.append(f"{'':<10} {name:<16}{cells}{values.get('n', 0):>7}")
    return lines


def _by_words_table(rankers: dict[str, Any]) -> list[str]:
    """Words typed before a pick of a right answer, and new words (results from before this
    measure have none)."""
    split = {name: r["by_words"] for name, r in rankers.items() if r.get("by_words")}
    if not split:
        return []
    lines = [
        "",
        "by words: typed before a pick of a right answer, or new",
        f"{'words':<14} {'ranker':<16}" + "".join(f"{m:>10}" for m in METRICS) + f"{'n':>7}",
    ]
    for group in (TYPED_BEFORE, NEW_WORDS):
        for position, (name, groups) in enumerate(split.items()):
            values = groups.get(group, {})
            cells = "".join(f"{_cell(values.get(m)):>10}" for m in METRICS)
            label = group if position == 0 else ""
            lines.append(f"{label:<14} {name:<16}{cells}{values.get('n', 0):>7}")
    return lines


def segments(rankers: dict[str, Any]) -> list[str]:
    """`all`, `warm`, `cold`, then languages: the order a reader looks for them."""
    seen = {s for r in rankers.values() for s, v in r["metrics"].items() if isinstance(v, dict)}
    fixed = [s for s in FIXED_SEGMENTS if s in seen]
    return fixed + sorted(seen - set(FIXED_SEGMENTS))


def _cell(value: float | None) -> str:
    return MISSING if value is None else f"{value:.3f}"


def read_results(path: Path) -> dict[str, Any]:
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: no such results file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ReportError(f"{path}: not a results JSON file ({error})") from None
    if not isinstance(results, dict) or not isinstance(results.get("rankers"), dict):
        raise ReportError(f"{path}: not a results file of `stickerbot bench` (no 'rankers')")
    return results


def write_chart(results: Sequence[dict[str, Any]], out: Path) -> None:
    """One panel per dataset; in each, bars of nDCG@10, MRR@10 and style@5 per ranker."""
    from matplotlib.figure import Figure  # optional dependency, needed only for charts

    figure = Figure(
        figsize=(PANEL_SIZE[0] * len(results), PANEL_SIZE[1]), dpi=CHART_DPI, layout="constrained"
    )
    axes = figure.subplots(1, len(results), squeeze=False)[0]
    for ax, result in zip(axes, results, strict=True):
        _panel(ax, result)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)


def _panel(ax: Any, result: dict[str, Any]) -> None:
    rankers = result["rankers"]
    width = BAR_GROUP_WIDTH / max(1, len(rankers))
    for i, (name, ranker) in enumerate(rankers.items()):
        overall = ranker["metrics"].get("all", {})
        values = [overall.get(m) or 0.0 for m in CHART_METRICS]
        positions = [
            slot + (i - (len(rankers) - 1) / 2) * width for slot in range(len(CHART_METRICS))
        ]
        bars = ax.bar(positions, values, width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(range(len(CHART_METRICS)), CHART_METRICS)
    ax.set_ylim(0, Y_TOP)
    ax.set_title(result.get("dataset_name", "?"))
    ax.legend(fontsize=8, loc="upper center", ncol=max(1, len(rankers)), frameon=False)
