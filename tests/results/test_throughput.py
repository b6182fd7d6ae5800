import pytest

from nsr_bench.results.throughput import busy_seconds, peak_overlap, table, throughput


def test_busy_time_is_the_union_of_run_intervals():
    assert busy_seconds([(0, 10), (5, 15), (20, 30), (21, 22)]) == 25
    assert busy_seconds([]) == 0


def test_peak_overlap_counts_parallel_runs_and_not_back_to_back_ones():
    assert peak_overlap([(0, 10), (5, 15), (6, 7)]) == 3
    assert peak_overlap([(0, 10), (10, 20)]) == 1


def run(h, worker, a, b, status="done"):
    return {"hash": h, "worker": worker, "started_at": a, "finished_at": b, "status": status}


def test_two_parallel_workers_double_cells_per_hour_and_failures_and_gaps_do_not_count():
    scen = {"a": "s", "b": "s", "c": "s", "d": "s", "e": "s"}
    runs = [run("a", "m:1", 0, 1800), run("b", "m:2", 0, 1800),  # two workers side by side
            run("c", "m:1", 1800, 3600), run("d", "m:2", 1800, 3600),
            run("e", "m:1", 7200, 7300, "failed"),  # not a finished cell, and the gap is not busy time
            run("x", "m:1", 0, 99)]  # a cell no longer stored
    (row,) = throughput(runs, scen)
    assert row["machine"] == "m" and row["cells"] == 4 and row["parallel"] == 2
    assert row["busy_h"] == pytest.approx(1.0) and row["cells_per_h"] == pytest.approx(4.0)
    assert row["cell_s"] == pytest.approx(1800)
    head, lines = table([row])
    assert head[4] == "cells/h" and lines[0][4] == "4"

