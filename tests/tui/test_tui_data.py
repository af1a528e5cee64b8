"""The pure functions behind the widgets: rows, filters, sorting, compare groups, funnel, windows."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from tui.data import (
    COLUMNS,
    RunRow,
    compare_groups,
    comparison_view,
    filter_rows,
    funnel,
    row_cells,
    rows_from_summaries,
    sort_rows,
    stage_counts,
    sweep_point_cells,
    trend_series,
    window,
)


def row(i: int, exp: str = "e", f1: float | None = 0.5, status: str = "ok", hyp: str = "") -> RunRow:
    return RunRow(i, f"2025-01-01T00:0{i % 10}:00Z", exp, hyp, 10, 0.5, 0.5, f1, 0.001, 0.01, status)


def test_rows_from_summaries_keeps_only_runs() -> None:
    base = {"created_at": "2025", "experiment": "e", "hypothesis": None, "sample_size": 3, "precision": None,
            "recall": None, "f1": None, "cost_per_record_usd": None, "time_per_record_s": None,
            "status": "ok", "parent_id": None}
    rows = rows_from_summaries([{**base, "id": 1, "kind": "run"}, {**base, "id": 2, "kind": "decision"}])
    assert [r.id for r in rows] == [1]
    assert rows[0].hypothesis == ""


def test_cells_match_columns_and_mark_shows_group_then_alert() -> None:
    r = row(3, status="cancelled")
    cells = row_cells(r, {}, {})
    assert len(cells) == len(COLUMNS)
    assert cells[0] == "" and cells[1] == "3" and cells[9] == "cancel"
    assert row_cells(r, {3: "B"}, {3: "x"})[0] == "B"
    assert row_cells(r, {}, {3: "x"})[0] == "!"
    assert all(len(c) <= col.width for c, col in zip(cells, COLUMNS, strict=True))


def test_filter_words_and_fields() -> None:
    rows = [row(1, "baseline", hyp="top k"), row(2, "rerank", status="failed"), row(3, "rerank", hyp="Top K")]
    assert [r.id for r in filter_rows(rows, "top")] == [1, 3]
    assert [r.id for r in filter_rows(rows, "rerank top")] == [3]
    assert [r.id for r in filter_rows(rows, "status:failed")] == [2]
    assert [r.id for r in filter_rows(rows, "exp:base")] == [1]
    assert [r.id for r in filter_rows(rows, "id:>1")] == [2, 3]
    assert [r.id for r in filter_rows(rows, "id:<2")] == [1]
    assert [r.id for r in filter_rows(rows, "id:2")] == [2]
    assert filter_rows(rows, "id:x") == []
    assert filter_rows(rows, "   ") == rows


def test_sort_puts_missing_values_last_both_ways() -> None:
    rows = [row(1, f1=0.2), row(2, f1=None), row(3, f1=0.9), row(4, f1=0.2)]
    assert [r.id for r in sort_rows(rows, "f1")] == [1, 4, 3, 2]
    assert [r.id for r in sort_rows(rows, "f1", reverse=True)] == [3, 4, 1, 2]
    with pytest.raises(ValueError):
        sort_rows(rows, "mark")


def test_compare_groups() -> None:
    parents = {1: None, 2: 1, 3: 2, 4: 3}
    assert compare_groups({1: "A", 2: "A", 3: "B", 4: "B"}, 4, parents) == ([1, 2], [3, 4])
    assert compare_groups({3: "A", 1: "A"}, 4, parents) == ([1], [3])
    assert compare_groups({1: "A", 2: "A", 3: "A"}, None, parents) == ([1, 2], [3])
    assert compare_groups({4: "A"}, 2, parents) == ([2], [4])
    assert compare_groups({4: "A"}, 4, parents) == ([3], [4])
    assert compare_groups({}, 3, parents) == ([2], [3])
    assert compare_groups({}, 1, parents) is None
    assert compare_groups({}, None, parents) is None


def test_stage_counts_and_funnel() -> None:
    nan = math.nan
    numeric = {"stages.rerank.latency_ms": [1.0, nan, nan, 2.0], "stages.filter.latency_ms": [1, 1, 1, 1],
               "stages.filter.cost_usd": [nan, nan, nan, nan], "cost_usd": [1, 1, 1, 1]}
    counts = stage_counts(numeric, ["filter", "rerank"])
    assert counts == [("filter", 4), ("rerank", 2)]
    assert stage_counts(numeric, None)[0] == ("rerank", 2)
    assert funnel(counts, 4) == [("input", 4, "100.0%"), ("filter", 4, "100.0%"), ("rerank", 2, "50.0%")]


def test_comparison_view_reads_flags_verdict_metrics_tests() -> None:
    view = comparison_view({
        "runs": {"a": [1], "b": [2, 3]},
        "metrics": [{"name": "f1", "a": 0.5, "b": 0.55, "delta": 0.05, "ci": [0.01, 0.09]}],
        "tests": [{"name": "welch", "metric": "cost_usd", "statistic": 2.5, "df": 40.2, "p_value": 0.016}],
        "flags": [{"kind": "minority_regression", "class": "wrong", "message": "recall fell 0.9 -> 0.7"}],
        "verdict": {"decision": "REVIEW", "rule": "quality up, a class got worse"},
    })
    assert view.title == "A 1  vs  B 2,3"
    assert view.flags == ["[minority_regression] wrong: recall fell 0.9 -> 0.7"]
    assert view.verdict == "REVIEW"
    assert view.metrics == [("f1", "0.5", "0.55", "+0.050", "[+0.010, +0.090]")]
    tiny = comparison_view({"metrics": {"cost": {"a": 1e-4, "b": 7e-5, "delta": -3e-5, "ci": [-4e-5, -2e-5]}}})
    assert tiny.metrics == [("cost", "0.0001", "7e-05", "-3e-05", "[-4e-05, -2e-05]")]
    assert view.tests == [("welch", "cost_usd", "2.5", "40.2", "0.0160")]


def test_window_keeps_index_in_view() -> None:
    assert list(window(5, 2, 9)) == [0, 1, 2, 3, 4]
    assert list(window(100, 0, 9)) == list(range(9))
    assert list(window(100, 50, 9)) == list(range(46, 55))
    assert list(window(100, 99, 9)) == list(range(91, 100))


def test_sweep_cells_and_trends() -> None:
    p = SimpleNamespace(threshold=0.5, precision=0.8, recall=0.6, f1=0.686, block_rate=0.05, tp=6, fp=2,
                        fn=4, tn=88, expected_cost=6.0)
    assert sweep_point_cells(p) == ("0.500", "0.800", "0.600", "0.686", "5.0%", "6", "2", "4", "88", "6")
    series = trend_series([row(2, f1=0.7), row(1, f1=None)])
    assert series["F1"] == ([2.0], [0.7])
    assert series["$/rec"] == ([1.0, 2.0], [0.001, 0.001])
