"""What each timed query cost the process besides time, to tell its slowest queries apart.

A query far slower than its CPU time was either preempted by the system (involuntary context
switches), waiting on the disk (major page faults in the index's memory-mapped files, block
reads of others), or stood still with neither, which leaves the machine under the process (a
virtual machine's host).
The counters are the whole process's (getrusage), as the encoder's thread works for the query.
"""

from __future__ import annotations

import resource
import statistics
from dataclasses import asdict, dataclass, fields
from typing import Any

SLOWEST = 5  # queries a run lists one by one, slowest first


@dataclass(frozen=True)
class Counters:
    major_faults: int  # pages of a mapped file read from disk
    minor_faults: int
    disk_reads: int  # block reads of files (SQLite's pages not in the page cache)
    waits: int  # voluntary context switches: a thread blocked (handing work over, or I/O)
    preempted: int  # involuntary ones: a thread taken off its core

    @classmethod
    def now(cls) -> Counters:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return cls(
            usage.ru_majflt, usage.ru_minflt, usage.ru_inblock, usage.ru_nvcsw, usage.ru_nivcsw
        )

    def __sub__(self, before: Counters) -> Counters:
        return Counters(
            *(getattr(self, f.name) - getattr(before, f.name) for f in fields(Counters))
        )


@dataclass(frozen=True)
class QueryCost:
    kind: str
    wall_ms: float
    cpu_ms: float
    counters: Counters


def summarise_costs(costs: list[QueryCost], count: int = SLOWEST) -> dict[str, Any]:
    """The `count` slowest queries with their counters, and each counter's median over all."""
    if not costs:
        return {"slowest": [], "median": {}}
    slowest = sorted(costs, key=lambda cost: cost.wall_ms, reverse=True)[:count]
    medians = {
        f.name: statistics.median(getattr(cost.counters, f.name) for cost in costs)
        for f in fields(Counters)
    }
    return {
        "slowest": [
            {"kind": c.kind, "wall_ms": round(c.wall_ms, 3), "cpu_ms": round(c.cpu_ms, 3)}
            | asdict(c.counters)
            for c in slowest
        ],
        "median": medians,
    }


def format_costs(summary: dict[str, Any]) -> list[str]:
    """Table lines: the slowest queries, then the median query's counters (none untimed)."""
    if not summary["slowest"]:
        return []
    names = [f.name for f in fields(Counters)]
    counts = "".join(f"{name:>13}" for name in names)
    lines = [f"{'slowest queries':<24}{'wall ms':>9}{'CPU ms':>9}{counts}"]
    for query in summary["slowest"]:
        counts = "".join(f"{query[name]:>13}" for name in names)
        lines.append(
            f"  {query['kind']:<22}{query['wall_ms']:>9.3f}{query['cpu_ms']:>9.3f}{counts}"
        )
    medians = "".join(f"{summary['median'][name]:>13g}" for name in names)
    lines.append(f"  {'(the median query)':<40}{medians}")
    return lines
