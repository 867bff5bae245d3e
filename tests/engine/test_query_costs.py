"""The counters that tell a run's slowest queries apart: faults, waits and preemptions."""

from __future__ import annotations

from engine.bench.query_costs import Counters, QueryCost, format_costs, summarise_costs


def test_counters_count_what_happened_between_two_readings() -> None:
    before = Counters.now()
    pages = bytearray(8 * 1024 * 1024)  # fresh memory: the kernel maps it in on first touch
    for at in range(0, len(pages), 4096):
        pages[at] = 1
    spent = Counters.now() - before
    assert spent.minor_faults > 0
    assert min(spent.major_faults, spent.disk_reads, spent.waits, spent.preempted) >= 0


def _cost(kind: str, wall: float, preempted: int) -> QueryCost:
    return QueryCost(kind, wall, wall / 2, Counters(0, 10, 0, 3, preempted))


def test_the_slowest_queries_come_first_with_their_counters() -> None:
    costs = [_cost("words", 5.0, 0), _cost("empty", 9.5, 4), _cost("cjk", 6.0, 1)]
    summary = summarise_costs(costs, count=2)
    assert [(q["kind"], q["preempted"]) for q in summary["slowest"]] == [("empty", 4), ("cjk", 1)]
    medians = {"major_faults": 0, "minor_faults": 10, "disk_reads": 0, "waits": 3, "preempted": 1}
    assert summary["median"] == medians
    lines = format_costs(summary)
    assert lines[0].split()[:3] == ["slowest", "queries", "wall"]
    assert lines[1].split()[:3] == ["empty", "9.500", "4.750"] and lines[1].split()[-1] == "4"
    assert lines[-1].split()[:3] == ["(the", "median", "query)"]


def test_a_run_with_no_timed_query_has_no_slowest() -> None:
    summary = summarise_costs([])
    assert summary == {"slowest": [], "median": {}}
    assert format_costs(summary) == []
