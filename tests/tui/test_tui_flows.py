"""The flows that write or analyse: export, compare, sweep, decide, launch (Pilot tests)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ledger import RunInput
from tests.conftest import make_records
from tests.tui.conftest import ENV, stamp
from tui.app import make_app
from tui.messages import ExportFinished, WorkFailed
from tui.screens.export import ExportScreen
from tui.screens.runs import RunsScreen

from .test_tui_runs import wait_loaded

pytestmark = pytest.mark.anyio


async def wait_for(pilot, predicate, tries: int = 300) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.03)
    raise AssertionError("condition not reached")


async def test_export_marked_runs_then_whole_ledger(tui_db: Path, tmp_path: Path) -> None:
    app = make_app(tui_db, poll_interval=0, export_dir=tmp_path)
    seen: list[object] = []
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        screen.table.move_cursor(row=1)
        await pilot.press("space", "space")  # runs 2 and 3
        await pilot.press("e")
        export = app.screen
        assert isinstance(export, ExportScreen)
        assert export.selected == [2, 3]
        export.query_one("#format").value = "csv"  # type: ignore[attr-defined]
        await pilot.pause()
        target = tmp_path / "ledger-runs.csv"
        assert export.query_one("#path").value == str(target)  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: export.written is not None)
        with target.open(newline="", encoding="utf-8") as fh:
            ids = [r["id"] for r in csv.DictReader(fh)]
        assert ids == ["2", "3"]
        assert [m.path for m in seen if isinstance(m, ExportFinished)] == [str(target)]
        # the same file again without "replace" is refused, and the error is shown, not swallowed
        export.written = None
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any(isinstance(m, WorkFailed) for m in seen))
        failure = next(m for m in seen if isinstance(m, WorkFailed))
        assert "exists" in failure.error
        # whole ledger
        export.query_one("#scope").value = "all"  # type: ignore[attr-defined]
        export.query_one("#force").value = True  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: export.written is not None)
        with target.open(newline="", encoding="utf-8") as fh:
            ids = [r["id"] for r in csv.DictReader(fh)]
        assert ids == ["1", "2", "3", "4", "5", "6"]
        await pilot.press("escape")
        assert app.screen is screen


async def open_runs(pilot, app) -> RunsScreen:  # type: ignore[no-untyped-def]
    screen = app.screen
    assert isinstance(screen, RunsScreen)
    await wait_loaded(pilot, screen)
    return screen


async def test_compare_two_marked_runs_shows_flags_verdict_metrics_tests(tui_db: Path) -> None:
    from ledger import Ledger
    from ledger.compare import compare_runs
    from tui.messages import ComparisonLoaded
    from tui.screens.compare import CompareScreen

    app = make_app(tui_db, poll_interval=0)
    seen: list[object] = []
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        screen = await open_runs(pilot, app)
        screen.table.move_cursor(row=0)
        await pilot.press("space")  # run 1
        screen.table.move_cursor(row=3)
        await pilot.press("space", "c")  # run 4, then compare
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        assert (compare.a_ids, compare.b_ids) == ([1], [4])
        await wait_for(pilot, lambda: compare.view is not None)
        loaded = next(m for m in seen if isinstance(m, ComparisonLoaded))
        with Ledger(tui_db) as led:
            expected = compare_runs(led, [1], [4]).to_dict()
        assert loaded.view.verdict == expected["verdict"]["decision"]
        assert len(loaded.view.flags) == len(expected["flags"])
        names = [m[0] for m in loaded.view.metrics]
        assert names[:3] == list(expected["metrics"])[:3]
        f1 = dict((m[0], m[3]) for m in loaded.view.metrics)["f1"]
        delta = expected["metrics"]["f1"]["delta"]
        assert f1 == (f"{delta:+.3g}" if abs(delta) < 0.01 else f"{delta:+.3f}")
        assert {t[0] for t in loaded.view.tests} == {t["name"] for t in expected["tests"]}
        assert "welch" in {t[0] for t in loaded.view.tests}
        assert loaded.text.strip()
        # record it: an analysis row that marks run 4 in the table when it carries flags
        await pilot.press("r")
        await wait_for(pilot, lambda: compare.recorded_id is not None)
        with Ledger(tui_db) as led:
            row = led.get(compare.recorded_id)  # type: ignore[arg-type]
        assert row.kind == "analysis" and row.refs == [1, 4] and row.body["b"] == [4]
        await pilot.press("escape")
        assert app.screen is screen


async def test_compare_groups_and_cursor_against_parent(tui_db: Path) -> None:
    from tui.screens.compare import CompareScreen

    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_runs(pilot, app)
        await pilot.press("c")  # no marks: the cursor row (6) against its parent (4)
        assert isinstance(app.screen, CompareScreen)
        assert (app.screen.a_ids, app.screen.b_ids) == ([4], [6])
        await wait_for(pilot, lambda: app.screen.view is not None)  # type: ignore[attr-defined]
        await pilot.press("escape")
        screen.table.move_cursor(row=0)
        await pilot.press("space", "space", "b", "b")  # A = 1,2 ; B = 3,4
        await pilot.press("c")
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        assert (compare.a_ids, compare.b_ids) == ([1, 2], [3, 4])
        await wait_for(pilot, lambda: compare.view is not None)
        assert compare.view is not None and compare.view.verdict in {"PROMOTE", "ROLLBACK", "REVIEW", "NO_DECISION"}
        assert compare.data is not None and compare.data["grouped"] is True


async def test_sweep_moves_threshold_and_records(tui_db: Path) -> None:
    from ledger import Ledger
    from ledger.sweep import sweep_run
    from tui.screens.sweep import SweepScreen

    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_runs(pilot, app)
        screen.table.move_cursor(row=3)  # run 4
        await pilot.press("s")
        sweep = app.screen
        assert isinstance(sweep, SweepScreen)
        await wait_for(pilot, lambda: bool(sweep.points))
        with Ledger(tui_db) as led:
            expected = sweep_run(led, 4, "flag")
        assert sweep.score == "flag"
        listed = sorted({*expected.points, expected.recommended}, key=lambda p: p.threshold)  # type: ignore[arg-type]
        assert [p.threshold for p in sweep.points] == [p.threshold for p in listed]
        start = sweep.index
        assert sweep.points[start] == expected.recommended
        await pilot.press("left", "left")
        assert sweep.index == max(start - 2, 0)
        await pilot.press("home")
        assert sweep.index == 0
        first = sweep.points[0]
        text = str(sweep.query_one("#sweep-point").render())
        assert f"threshold {first.threshold:.3f}" in text and f"precision  {first.precision:.3f}" in text
        await pilot.press("end", "left")
        assert sweep.index == len(sweep.points) - 2
        await pilot.press("a")
        assert sweep.index == start
        # asymmetric costs change the expected cost (and maybe the recommendation)
        before = list(sweep.points)
        box = sweep.query_one("#fn-cost")
        box.value = "20"  # type: ignore[attr-defined]
        box.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: sweep.points != before)
        with Ledger(tui_db) as led:
            costly = sweep_run(led, 4, "flag", fn_cost=20.0)
        costly_listed = sorted({*costly.points, costly.recommended}, key=lambda p: p.threshold)  # type: ignore[arg-type]
        assert [p.expected_cost for p in sweep.points] == [p.expected_cost for p in costly_listed]
        assert sweep.points[sweep.recommended] == costly.recommended  # type: ignore[index]
        await pilot.press("r")
        await wait_for(pilot, lambda: sweep.recorded_id is not None)
        with Ledger(tui_db) as led:
            row = led.get(sweep.recorded_id)  # type: ignore[arg-type]
        assert row.kind == "analysis" and row.refs == [4]


async def test_sweep_of_a_run_without_scores_says_so(tui_db: Path) -> None:
    from tui.screens.sweep import SweepScreen

    app = make_app(tui_db, poll_interval=0)
    seen: list[object] = []
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        screen = await open_runs(pilot, app)
        screen.table.move_cursor(row=4)  # run 5 failed: no records
        await pilot.press("s")
        assert isinstance(app.screen, SweepScreen)
        await wait_for(pilot, lambda: any(isinstance(m, WorkFailed) for m in seen))
        failure = next(m for m in seen if isinstance(m, WorkFailed))
        assert "no per-record scores" in failure.error or "record" in failure.error


async def test_decide_records_a_trigger_and_shows_it_tripped(tui_db: Path) -> None:
    from ledger import Ledger
    from ledger.decisions import tripped_triggers
    from tui.screens.decide import DecideScreen

    app = make_app(tui_db, poll_interval=0)  # closing the decide screen polls the ledger
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_runs(pilot, app)
        screen.table.move_cursor(row=0)  # run 1 (baseline); runs 2 and 3 come later
        await pilot.press("d")
        decide = app.screen
        assert isinstance(decide, DecideScreen)
        await pilot.press("ctrl+s")  # no reason given: refused, nothing written
        assert "say why" in str(decide.query_one("#decide-status").render())
        await pilot.press(*"keep baseline", "tab", *"f1 < 0.45", "enter")
        await wait_for(pilot, lambda: decide.decision_id is not None)
        with Ledger(tui_db) as led:
            row = led.get(decide.decision_id)  # type: ignore[arg-type]
            # run 2 (F1 0.400, a repeat of run 1) came before the decision: it never trips it
            assert tripped_triggers(led) == []
            later = led.append(RunInput(experiment="baseline", hypothesis="a later repeat",
                                        params={"retrieve.top_k": 5}, records=make_records(300, 1),
                                        positive_label="wrong", created_at=stamp(9), environment=ENV))
            trips = tripped_triggers(led)
        assert row.kind == "decision" and row.refs == [1]
        assert row.body["revisit_when"] == "f1 < 0.45"
        assert [t.run_id for t in trips] == [later.id]
        await pilot.press("escape")
        assert app.screen is screen
        await wait_for(pilot, lambda: later.id in screen.alerts)
        assert str(screen.table.get_cell(str(later.id), "mark")) == "!"
        assert screen.head_id == later.id


async def test_a_bad_trigger_is_refused_with_the_reason(tui_db: Path) -> None:
    from ledger import Ledger
    from tui.screens.decide import DecideScreen

    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_runs(pilot, app)
        await pilot.press("d")
        decide = app.screen
        assert isinstance(decide, DecideScreen)
        await pilot.press(*"ship it", "tab", *"import os", "enter")
        await wait_for(pilot, lambda: "[red]" in str(decide.query_one("#decide-status").content)
                       or "recorded" in str(decide.query_one("#decide-status").content))
        assert decide.decision_id is None
        with Ledger(tui_db) as led:
            assert led.count(kind="decision") == 0


def write_config(folder: Path) -> Path:
    """The shipped hybrid config (offline provider), copied into a configs folder."""
    root = Path(__file__).resolve().parents[2]
    folder.mkdir(exist_ok=True)
    target = folder / "03_hybrid.toml"
    target.write_text((root / "configs" / "03_hybrid.toml").read_text(encoding="utf-8"), encoding="utf-8")
    return target


async def test_launch_runs_the_pipeline_and_the_row_appears(tui_db: Path, tmp_path: Path) -> None:
    from ledger import Ledger
    from tui.messages import LaunchFinished, LaunchProgress
    from tui.screens.launch import LaunchScreen

    config = write_config(tmp_path / "configs")
    app = make_app(tui_db, poll_interval=0, configs_dir=config.parent)  # closing launch polls
    seen: list[object] = []
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        screen = await open_runs(pilot, app)
        await pilot.press("l")
        launch = app.screen
        assert isinstance(launch, LaunchScreen)
        assert launch.query_one("#config").value == str(config)  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")  # no hypothesis: refused
        assert not launch.running
        assert "hypothesis" in str(launch.query_one("#launch-status").content)
        await pilot.press(*"hybrid on a small sample")
        launch.query_one("#sample").value = "30"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        # started: a 30-record run on an index another test already built can finish before
        # press() returns, so "running" alone would race
        assert launch.running or launch.status is not None
        await wait_for(pilot, lambda: launch.status is not None, tries=2000)
        finished = next(m for m in seen if isinstance(m, LaunchFinished))
        assert finished.status == "ok" and finished.run_ids == [7]
        progress = [m for m in seen if isinstance(m, LaunchProgress)]
        assert progress and progress[-1].done == progress[-1].total == 30
        with Ledger(tui_db) as led:
            run = led.get(7)
        assert run.hypothesis == "hybrid on a small sample" and run.sample_size == 30 and run.status == "ok"
        await pilot.press("escape")
        assert app.screen is screen
        await wait_for(pilot, lambda: 7 in [r.id for r in screen.rows])
        assert screen.table.cursor_id == 7


async def test_launch_cancel_is_recorded_as_cancelled(tui_db: Path, tmp_path: Path) -> None:
    from ledger import Ledger
    from tui.messages import LaunchFinished, LaunchProgress
    from tui.screens.launch import LaunchScreen

    config = write_config(tmp_path / "configs")
    app = make_app(tui_db, poll_interval=0, configs_dir=config.parent)
    seen: list[object] = []
    cancelled_at: list[int] = []

    def hook(message: object) -> None:
        seen.append(message)
        # cancel as soon as the first chunk is done, the way the Cancel button does (deterministic,
        # whatever the machine's speed)
        if isinstance(message, LaunchProgress) and message.done > 0 and not cancelled_at:
            screen = app.screen
            assert isinstance(screen, LaunchScreen) and screen.running
            cancelled_at.append(message.done)
            screen.action_close()  # esc while running = cancel

    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await open_runs(pilot, app)
        await pilot.press("l")
        launch = app.screen
        assert isinstance(launch, LaunchScreen)
        await pilot.press(*"cancel me")
        launch.query_one("#sample").value = "3000"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: launch.status is not None, tries=3000)
        finished = next(m for m in seen if isinstance(m, LaunchFinished))
        assert finished.status == "cancelled"
        assert "cancel" in str(launch.query_one("#launch-status").content)
        with Ledger(tui_db) as led:
            run = led.get(finished.run_ids[0])
        assert run.status == "cancelled" and 0 < run.record_count < 3000
        assert app.screen is launch  # escape while running only cancelled; now it closes
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
