"""The pure functions behind the widgets: rows, columns that fit a width, filters, sorting,
compare groups, funnel, windows, sweep cells, trends by variant, number formats."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from tui.views.detail import funnel, stage_counts
from tui.views.fmt import fmt_count, fmt_delta, fmt_quantity
from tui.views.runs import (
    SORT_KEYS,
    RunRow,
    columns_for,
    compare_groups,
    filter_rows,
    mark_cell,
    row_cells,
    rows_from_summaries,
    sort_rows,
    variant_compare,
)
from tui.views.sweep import SWEEP_COLUMNS, sweep_point_cells, window
from tui.views.trends import trend_groups


def row(i: int, exp: str = "e", f1: float | None = 0.5, status: str = "ok", hyp: str = "",
        variant: str = "", name: str = "", cost: float | None = 0.001) -> RunRow:
    return RunRow(i, f"2025-01-01T00:0{i % 10}:00Z", exp, hyp, 10, 0.5, 0.5, f1, cost, 0.01, status,
                  variant=variant, variant_name=name)


def test_rows_from_summaries_keeps_only_runs_and_blanks_metrics_of_failed_runs() -> None:
    base = {"created_at": "2025", "experiment": "e", "hypothesis": None, "sample_size": 3, "precision": 0.0,
            "recall": 0.0, "f1": 0.0, "cost_per_record_usd": None, "time_per_record_s": None,
            "status": "ok", "parent_id": None}
    rows = rows_from_summaries([{**base, "id": 1, "kind": "run"}, {**base, "id": 2, "kind": "decision"},
                                {**base, "id": 3, "kind": "run", "status": "failed"}], {1: ("v1", "base")})
    assert [r.id for r in rows] == [1, 3]
    assert rows[0].hypothesis == "" and rows[0].variant_label == "v1 base"
    assert rows[0].f1 == 0.0  # an ok run's zero is a zero
    assert (rows[1].precision, rows[1].recall, rows[1].f1) == (None, None, None)  # a failed run has none


def test_mark_and_alert_are_both_visible() -> None:
    # defect 6: an A/B mark used to overwrite the "!" while the footer still counted the alert
    assert mark_cell(3, {3: "B"}, {3: "why"}) == "B!"
    assert mark_cell(3, {}, {3: "why"}) == " !"
    assert mark_cell(3, {3: "A"}, {}) == "A "


def test_columns_at_80_give_the_hypothesis_room_and_drop_a_constant_experiment() -> None:
    # defect 8: at 80x24 the hypothesis was hidden while a constant experiment column took width
    rows = [row(i, hyp="a hypothesis to read", variant=f"v{i}") for i in range(1, 15)]
    cols = columns_for(80, rows)
    keys = [c.key for c in cols]
    assert "experiment" not in keys and "hypothesis" in keys
    hyp = next(c for c in cols if c.key == "hypothesis")
    assert hyp.width >= 20
    total = sum(c.width + 2 for c in cols)  # DataTable pads each cell by one on both sides
    assert total <= 80 - 2  # and the scrollbar fits
    cells = row_cells(rows[0], cols, {}, {})
    assert all(len(c) <= col.width for c, col in zip(cells, cols, strict=True))
    assert cells[keys.index("hypothesis")] == "a hypothesis to read"
    # several experiments: the column comes back; a wide terminal adds n, status and time
    wide = [c.key for c in columns_for(160, [*rows, row(20, exp="other")])]
    assert {"experiment", "n", "status", "time", "variant"} <= set(wide)
    assert next(c for c in columns_for(160, rows) if c.key == "hypothesis").width >= 50


def test_a_failed_run_says_so_in_the_hypothesis_when_there_is_no_status_column() -> None:
    cols = columns_for(80, [row(1, status="failed", hyp="timeout")])
    assert "status" not in [c.key for c in cols]
    cells = dict(zip([c.key for c in cols], row_cells(row(1, status="failed", hyp="timeout", f1=None), cols, {}, {}),
                     strict=True))
    assert cells["hypothesis"].startswith("failed: timeout")
    assert cells["f1"] == "-"


def test_filter_words_and_fields() -> None:
    rows = [row(1, "baseline", hyp="top k", variant="v1", name="01_naive"),
            row(2, "rerank", status="failed", variant="v2"), row(3, "rerank", hyp="Top K", variant="v12")]
    assert [r.id for r in filter_rows(rows, "top")] == [1, 3]
    assert [r.id for r in filter_rows(rows, "rerank top")] == [3]
    assert [r.id for r in filter_rows(rows, "status:failed")] == [2]
    assert [r.id for r in filter_rows(rows, "exp:base")] == [1]
    assert [r.id for r in filter_rows(rows, "id:>1")] == [2, 3]
    assert [r.id for r in filter_rows(rows, "id:<2")] == [1]
    assert [r.id for r in filter_rows(rows, "id:2")] == [2]
    assert [r.id for r in filter_rows(rows, "var:v1")] == [1]  # not v12
    assert [r.id for r in filter_rows(rows, "var:naive")] == [1]
    assert filter_rows(rows, "id:x") == []
    assert filter_rows(rows, "   ") == rows


def test_sort_puts_missing_values_last_both_ways() -> None:
    rows = [row(1, f1=0.2), row(2, f1=None), row(3, f1=0.9), row(4, f1=0.2)]
    assert [r.id for r in sort_rows(rows, "f1")] == [1, 4, 3, 2]
    assert [r.id for r in sort_rows(rows, "f1", reverse=True)] == [3, 4, 1, 2]
    with pytest.raises(ValueError):
        sort_rows(rows, "mark")


def test_every_sort_key_has_its_own_letter_and_quality_sorts_best_first() -> None:
    letters = [k.letter for k in SORT_KEYS]
    assert len(letters) == len(set(letters))
    f1 = next(k for k in SORT_KEYS if k.letter == "f")
    assert f1.key == "f1" and f1.descending
    assert not next(k for k in SORT_KEYS if k.key == "cost").descending  # cheapest first


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


def test_variant_compare() -> None:
    cursor = SimpleNamespace(key="v5", parent="v4")
    assert variant_compare({"v2": "A", "v5": "B"}, cursor) == ("v2", "v5")  # type: ignore[arg-type]
    assert variant_compare({"v10": "A", "v9": "A"}, cursor) == ("v9", "v10")  # type: ignore[arg-type]
    assert variant_compare({}, cursor) == ("v4", "v5")  # type: ignore[arg-type]
    assert variant_compare({}, SimpleNamespace(key="v1", parent="")) is None  # type: ignore[arg-type]


def test_stage_counts_and_funnel() -> None:
    nan = math.nan
    numeric = {"stages.rerank.latency_ms": [1.0, nan, nan, 2.0], "stages.filter.latency_ms": [1, 1, 1, 1],
               "stages.filter.cost_usd": [nan, nan, nan, nan], "cost_usd": [1, 1, 1, 1]}
    counts = stage_counts(numeric, ["filter", "rerank"])
    assert counts == [("filter", 4), ("rerank", 2)]
    assert stage_counts(numeric, None)[0] == ("rerank", 2)
    assert funnel(counts, 4) == [("input", 4, "100.0%"), ("filter", 4, "100.0%"), ("rerank", 2, "50.0%")]


def test_window_keeps_index_in_view() -> None:
    assert list(window(5, 2, 9)) == [0, 1, 2, 3, 4]
    assert list(window(100, 0, 9)) == list(range(9))
    assert list(window(100, 50, 9)) == list(range(46, 55))
    assert list(window(100, 99, 9)) == list(range(91, 100))


def test_sweep_cells_fit_their_columns_and_80_columns() -> None:
    # defect 2: the threshold table wrapped numbers mid-cell at 80x24 ("0.99 0.0 0.1" / "1 83 90")
    p = SimpleNamespace(threshold=0.5, precision=0.8, recall=0.6, f1=0.686, block_rate=0.05, tp=6, fp=2,
                        fn=4, tn=88, expected_cost=6.0)
    assert sweep_point_cells(p) == ("0.500", "0.800", "0.600", "0.686", "5.0%", "6", "2", "4", "88", "6")
    assert sweep_point_cells(SimpleNamespace(**{**p.__dict__, "tp": 12_345, "tn": 123_456}))[5:9] == (
        "12345", "2", "4", "123k")
    big = SimpleNamespace(threshold=1.0, precision=0.0, recall=0.0, f1=0.0, block_rate=1.0, tp=12_345,
                          fp=99_999, fn=1_234, tn=123_456, expected_cost=1_234_567.0)
    cells = sweep_point_cells(big)
    assert all(len(c) <= w for c, (_, w) in zip(cells, SWEEP_COLUMNS, strict=True)), cells
    assert len(SWEEP_COLUMNS[0][0]) <= SWEEP_COLUMNS[0][1]
    assert sum(w for _, w in SWEEP_COLUMNS) + 2 * (len(SWEEP_COLUMNS) - 1) + 4 <= 80


def test_trends_group_runs_by_variant_with_their_repeats() -> None:
    # defect 7: runs were plotted by id, one line through every config and seed
    rows = [row(1, f1=0.1, variant="v1", name="naive"), row(2, f1=0.2, variant="v1", name="naive"),
            row(3, f1=0.5, variant="v2", name="rerank"), row(4, f1=None, status="failed", variant="v2"),
            row(5, f1=0.7, variant="v2", name="rerank"), row(6, f1=0.4, variant="v10", name="late")]
    groups, axis = trend_groups(rows)
    assert axis == "variant"
    assert [g.key for g in groups] == ["v1", "v2", "v10"]  # in variant order, not as text
    assert groups[0].values["f1"] == (0.1, 0.2) and groups[0].label == "v1 naive"
    assert groups[1].run_ids == (3, 5)  # the failed run is left out
    assert groups[1].mean("f1") == pytest.approx(0.6) and groups[1].spread("f1") == (0.5, 0.7)
    # one variant shown: its runs, in order
    groups, axis = trend_groups(rows[2:5])
    assert axis == "run" and [g.key for g in groups] == ["run 3", "run 5"]


def test_number_formats_are_the_same_for_every_quantity() -> None:
    # defect 3: mixed decimals (0.94 next to 0.3636) and costs as +1.57e-05
    assert fmt_quantity(0.94, "ratio") == "0.940" and fmt_quantity(0.3636, "ratio") == "0.364"
    assert fmt_delta(1.57e-05, "usd") == "+$0.000016"
    assert fmt_delta(-0.0412, "ratio") == "-0.041"
    assert fmt_delta(0.0012, "seconds") == "+1.2ms"
    assert fmt_count(24640) == "24,640" and fmt_count(573.64) == "573.6"
    assert fmt_quantity(None, "usd") == "-"
