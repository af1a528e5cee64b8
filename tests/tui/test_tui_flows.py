"""The flows that write or analyse: export, compare, sweep, decide, launch (Pilot tests)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tui.app import make_app
from tui.messages import ExportFinished, WorkFailed
from tui.screens.export import ExportScreen
from tui.screens.runs import RunsScreen

from .conftest import burst
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
        # whole ledger, replacing the file on purpose
        export.query_one("#scope").value = "all"  # type: ignore[attr-defined]
        export.query_one("#force").value = True  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len([m for m in seen if isinstance(m, ExportFinished)]) == 2)
        with target.open(newline="", encoding="utf-8") as fh:
            ids = [r["id"] for r in csv.DictReader(fh)]
        assert ids == ["1", "2", "3", "4", "5", "6"]
        await pilot.press("escape")
        assert app.screen is screen


async def test_export_never_replaces_a_file_by_default_and_names_the_full_path(tui_db: Path, tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Defect 5: the export form replaced files by default (the CLI needs --force) and reported
    `wrote ledger-report.html` without the full path."""
    existing = tmp_path / "ledger-report.html"
    existing.write_text("keep me", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    app = make_app(tui_db, poll_interval=0)  # the export folder defaults to the working folder
    seen: list[object] = []
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        screen = await open_runs(pilot, app)
        await pilot.press("e")
        export = app.screen
        assert isinstance(export, ExportScreen)
        assert export.query_one("#force").value is False  # type: ignore[attr-defined]
        offered = export.query_one("#path").value  # type: ignore[attr-defined]
        assert offered == str(tmp_path / "ledger-report-2.html")  # a free name, absolute
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: export.written is not None)
        assert export.written == offered
        assert "wrote " + offered in str(export.query_one("#export-status").render())
        assert existing.read_text(encoding="utf-8") == "keep me"
        # typing the existing file's name (relative) is refused, and the file is untouched
        export.query_one("#path").value = "ledger-report.html"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any(isinstance(m, WorkFailed) for m in seen))
        failure = next(m for m in seen if isinstance(m, WorkFailed))
        assert "already exists" in failure.error and "--force" in failure.error
        assert str(existing) in failure.error
        assert existing.read_text(encoding="utf-8") == "keep me"
        await pilot.press("escape")
        assert app.screen is screen


@pytest.mark.parametrize("target", ["/proc/ledger-x.csv", "/sys/ledger-x.csv"])
async def test_an_export_to_an_unwritable_path_is_a_message_not_a_crash(tui_db: Path, target: str) -> None:
    """Defect 9: an OSError in a worker raised WorkerFailed and the TUI exited."""
    app = make_app(tui_db, poll_interval=0)
    seen: list[object] = []
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        await open_runs(pilot, app)
        await pilot.press("e")
        export = app.screen
        assert isinstance(export, ExportScreen)
        export.query_one("#format").value = "csv"  # type: ignore[attr-defined]
        await pilot.pause()
        export.query_one("#path").value = target  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any(isinstance(m, WorkFailed) for m in seen))
        failure = next(m for m in seen if isinstance(m, WorkFailed))
        assert failure.error.startswith(f"cannot write {target}")
        assert app.is_running and app.screen is export
        assert target in str(export.query_one("#export-status").render())
        assert not export.query_one("#go").disabled  # type: ignore[attr-defined]
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_any_worker_error_is_shown_and_the_app_keeps_running(tui_db: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Defect 9, for errors the ledger does not expect (a bug): one handler shows them all."""
    import ledger.store

    def broken(self: object, *args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    app = make_app(tui_db, poll_interval=0)
    seen: list[object] = []
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        screen = await open_runs(pilot, app)
        monkeypatch.setattr(ledger.store.Ledger, "get", broken)
        await pilot.press("enter")  # the detail screen's worker reads the run
        await wait_for(pilot, lambda: any(isinstance(m, WorkFailed) for m in seen))
        failure = next(m for m in seen if isinstance(m, WorkFailed))
        assert failure.what == "reading the run" and "RuntimeError: disk on fire" in failure.error
        assert app.is_running
        assert "disk on fire" in str(app.screen.query_one("#detail-title").render())
        await pilot.press("escape")
        assert app.screen is screen


async def open_runs(pilot, app) -> RunsScreen:  # type: ignore[no-untyped-def]
    screen = app.screen
    assert isinstance(screen, RunsScreen)
    await wait_loaded(pilot, screen)
    return screen


async def test_compare_shows_what_the_cli_shows_formatted_for_people(tui_db: Path) -> None:
    """Defect 3: the compare screen lacked what changed, per-class and per-stratum tables, the
    funnel and a chart, mixed decimals, printed costs as +1.57e-05 and flags with internal ids."""
    from ledger import Ledger
    from ledger.compare import compare_runs
    from tui.messages import ComparisonLoaded
    from tui.screens.compare import CompareScreen

    app = make_app(tui_db, poll_interval=0)
    seen: list[object] = []
    async with app.run_test(size=(160, 48), message_hook=seen.append) as pilot:
        screen = await open_runs(pilot, app)
        await pilot.press("c")  # no marks: the cursor row (6) against its parent (4)
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        await wait_for(pilot, lambda: compare.view is not None)
        assert (compare.a_ids, compare.b_ids) == ([4], [6])
        view = next(m for m in seen if isinstance(m, ComparisonLoaded)).view
        with Ledger(tui_db) as led:
            expected = compare_runs(led, [4], [6]).to_dict()
        assert view.verdict == expected["verdict"]["decision"]
        # what changed: the parameter and the prompt that differ
        assert ("rerank.prompt", "none", "v2") in view.changed
        assert any(what == "prompt rerank" for what, _, _ in view.changed)
        # metrics: every ratio with three decimals, cost in dollars, time with its unit
        metrics = {m[0]: m for m in view.metrics}
        f1 = expected["metrics"]["f1"]
        assert metrics["F1 (wrong)"][1:4] == (f"{f1['a']:.3f}", f"{f1['b']:.3f}", f"{f1['delta']:+.3f}")
        for name, a, b, delta, ci in view.metrics:
            if name.startswith(("precision", "recall", "F1", "accuracy")):
                assert len(a.split(".")[1]) == 3 and len(b.split(".")[1]) == 3, (name, a, b)
            assert "e-" not in delta and "e-" not in ci, (name, delta, ci)
        cost = metrics["cost / record"]
        assert cost[1].startswith("$") and cost[3][1:2] == "$"
        # per class and per stratum, with the chart data; flags without internal kinds
        assert {r[0] for r in view.classes} == {c["class"] for c in expected["per_class"]}
        assert {r[0] for r in view.strata} == {s["stratum"] for s in expected["per_stratum"]}
        assert [d.name for d in view.class_deltas] == [r[0] for r in view.classes]
        wrong = next(d for d in view.class_deltas if d.name == "wrong")
        oracle = next(c for c in expected["per_class"] if c["class"] == "wrong")
        assert wrong.recall == pytest.approx(oracle["b"]["recall"] - oracle["a"]["recall"])
        assert len(view.flags) == len(expected["flags"])
        kinds = {f["kind"] for f in expected["flags"]}
        for flag in view.flags:
            assert not any(kind in flag.text for kind in kinds), flag.text
        assert view.funnel and view.funnel[0][0] == "filter"  # run 6 has stage columns, run 4 none
        assert compare.query_one("#class-chart").display
        assert compare.text.strip()
        # record it: an analysis row about both runs
        await pilot.press("r")
        await wait_for(pilot, lambda: compare.recorded_id is not None)
        with Ledger(tui_db) as led:
            row = led.get(compare.recorded_id)  # type: ignore[arg-type]
        assert row.kind == "analysis" and row.refs == [4, 6] and row.body["b"] == [6]
        await pilot.press("escape")
        assert app.screen is screen


async def test_compare_projects_flags_to_a_volume(tui_db: Path) -> None:
    from ledger import Ledger
    from ledger.compare import CompareOptions, compare_runs
    from tui.screens.compare import CompareScreen

    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_runs(pilot, app)
        screen.table.move_cursor(row=0)
        await pilot.press("space")  # run 1
        screen.table.move_cursor(row=1)
        await pilot.press("space", "c")  # run 2, then compare 1 vs 2
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        await wait_for(pilot, lambda: compare.view is not None)
        await pilot.press("v", *"1000000", "enter")
        await wait_for(pilot, lambda: compare.view is not None and compare.view.volume == 1_000_000)
        with Ledger(tui_db) as led:
            expected = compare_runs(led, [1], [2], CompareOptions(volume=1_000_000)).to_dict()["flags"]
        projected = [f["message"] for f in expected if f.get("projected")]
        assert projected, "the oracle comparison should project at least one flag"
        assert all(any(m in f.text for f in compare.view.flags) for m in projected)
        assert "1,000,000" in str(compare.query_one("#compare-title").render())


async def test_enter_on_a_flag_opens_the_cases_behind_it(tui_db: Path) -> None:
    from ledger import Ledger
    from ledger.cases import find_cases
    from tui.screens.cases import CasesScreen
    from tui.screens.compare import CompareScreen

    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_runs(pilot, app)
        screen.table.move_cursor(row=0)
        await pilot.press("space")
        screen.table.move_cursor(row=1)
        await pilot.press("space", "c")  # 1 vs 2: same records, different predictions
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        await wait_for(pilot, lambda: compare.view is not None)
        assert compare.view is not None and compare.view.flags
        flag = compare.view.flags[0]
        await pilot.press("enter")
        cases = app.screen
        assert isinstance(cases, CasesScreen)
        await wait_for(pilot, lambda: cases.loaded)
        f = flag.cases
        with Ledger(tui_db) as led:
            oracle = find_cases(led, [1], [2], which=f.which, label_class=f.label_class, stratum=f.stratum,
                                predicted=f.predicted)
        assert [r[0] for r in cases.rows] == [c.id for c in oracle.cases]
        assert cases.rows, "the flag should rest on some records"
        first = oracle.cases[0]
        assert cases.details[0].startswith(f"record {first.id} · label {first.label}")
        await pilot.press("escape")
        assert app.screen is compare


async def test_compare_groups_and_cursor_against_parent(tui_db: Path) -> None:
    from tui.screens.compare import CompareScreen

    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_runs(pilot, app)
        screen.table.move_cursor(row=0)
        await pilot.press("space", "space", "b", "b")  # A = 1,2 ; B = 3,4
        await pilot.press("c")
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        await wait_for(pilot, lambda: compare.view is not None)
        assert (compare.a_ids, compare.b_ids) == ([1, 2], [3, 4])
        assert compare.view is not None and compare.view.verdict in {"PROMOTE", "ROLLBACK", "REVIEW", "NO_DECISION"}
        assert compare.comparison.to_dict()["grouped"] is True


async def test_sweep_opens_on_the_decided_score_and_applies_costs_as_typed(tui_db: Path) -> None:
    """Defect 2: the sweep opened on the first score alphabetically with 1/1 costs, needed a
    hidden Enter to apply a cost, and kept the old best threshold after a change."""
    from ledger import Ledger, RunInput
    from ledger.sweep import record_sweep, sweep_run
    from tests.conftest import make_records
    from tui.screens.sweep import SweepScreen

    records = make_records(300, 11)
    rows = records.rows()
    for r in rows:  # "aaa" sorts first and predicts nothing; "flag" is what the run decided on
        r["scores"] = {"aaa": 0.5, "flag": 0.9 if r["prediction"] == "wrong" else 0.1}
    from ledger import Records

    with Ledger(tui_db) as led:
        run = led.append(RunInput(experiment="rerank", hypothesis="two scores", records=Records.from_rows(rows),
                                  positive_label="wrong"))
    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_runs(pilot, app)
        assert screen.table.cursor_id == run.id
        await pilot.press("s")
        sweep = app.screen
        assert isinstance(sweep, SweepScreen)
        await wait_for(pilot, lambda: bool(sweep.points))
        assert sweep.score == "flag"  # reproduces every prediction; "aaa" does not
        assert sweep.operating is not None and sweep.points[sweep.operating].threshold == 0.9
        assert (sweep.fp_cost, sweep.fn_cost) == (1.0, 1.0)
        # a cost typed without Enter re-sweeps and moves the cursor to the new best threshold
        before = list(sweep.points)
        sweep.query_one("#fn-cost").focus()
        await pilot.press("backspace", *"20")
        await wait_for(pilot, lambda: sweep.fn_cost == 20.0)
        with Ledger(tui_db) as led:
            oracle = sweep_run(led, run.id, "flag", fn_cost=20.0)
        assert [p.expected_cost for p in sweep.points] != [p.expected_cost for p in before]
        assert sweep.points[sweep.index] == oracle.recommended
        assert sweep.recommended == sweep.index
        # a recorded sweep's score and costs are where the next one starts
        with Ledger(tui_db) as led:
            record_sweep(led, sweep_run(led, run.id, "aaa", fp_cost=3.0, fn_cost=7.0))
        await pilot.press("escape", "s")
        again = app.screen
        assert isinstance(again, SweepScreen) and again is not sweep
        await wait_for(pilot, lambda: bool(again.points))
        assert (again.score, again.fp_cost, again.fn_cost) == ("aaa", 3.0, 7.0)


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
        await pilot.press("r")
        await wait_for(pilot, lambda: sweep.recorded_id is not None)
        with Ledger(tui_db) as led:
            row = led.get(sweep.recorded_id)  # type: ignore[arg-type]
        assert row.kind == "analysis" and row.refs == [4] and row.body["score"] == "flag"


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
        assert "no per-record scores" in failure.error
        assert app.is_running


async def test_decide_about_a_variant_and_see_a_later_run_trip_it(tui_db: Path) -> None:
    """Defect 6: a tripped trigger is explained where you look: the row's status line, the
    run's detail (which later run tripped which decision, by how much) and the decide screen."""
    from ledger import Ledger, RunInput
    from ledger.decisions import tripped_triggers
    from tests.conftest import make_records
    from tui.screens.decide import DecideScreen
    from tui.screens.detail import DetailScreen

    app = make_app(tui_db, poll_interval=0)  # closing the decide screen polls the ledger
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_runs(pilot, app)
        screen.table.move_cursor(row=0)  # run 1, variant of runs 1 and 2
        await pilot.press("d")
        decide = app.screen
        assert isinstance(decide, DecideScreen) and decide.target == "1"
        await pilot.press("ctrl+s")  # no reason given: refused, nothing written
        assert "say why" in str(decide.query_one("#decide-status").render())
        # Enter moves to the next field as it is read: a burst after it lands there (defect 4)
        burst(app, [*"keep baseline", "enter", *"f1 < 0.45", "enter"])
        await wait_for(pilot, lambda: decide.decision_id is not None)
        assert decide.query_one("#why").value == "keep baseline"  # type: ignore[attr-defined]
        with Ledger(tui_db) as led:
            row = led.get(decide.decision_id)  # type: ignore[arg-type]
            assert row.kind == "decision" and row.body["revisit_when"] == "f1 < 0.45"
            # a later run of the same variant (same params) with a low F1, from elsewhere
            later = led.append(RunInput(experiment="baseline", hypothesis="same config, later",
                                        params={"retrieve.top_k": 5}, records=make_records(300, 1),
                                        positive_label="wrong"))
        assert later.f1 is not None and later.f1 < 0.45
        decide.load_trips()
        await wait_for(pilot, lambda: bool(decide.trips))
        with Ledger(tui_db) as led:
            (trip,) = tripped_triggers(led)
        assert decide.trips[0].startswith(f"run {later.id} trips decision {decide.decision_id} (f1 < 0.45): "
                                          f"{trip.by_how_much}; appended {later.created_at[:16].replace('T', ' ')}")
        await pilot.press("escape")
        assert app.screen is screen
        await wait_for(pilot, lambda: later.id in screen.alerts)
        assert str(screen.table.get_cell(str(later.id), "mark")) == " !"
        screen.table.move_cursor(row=screen.table.shown.index(later.id))
        await pilot.pause()
        status = str(screen.query_one("#status").render())
        assert f"! run {later.id}: run {later.id} trips decision" in status
        await pilot.press("space")  # a mark does not hide the alert
        assert str(screen.table.get_cell(str(later.id), "mark")) == "A!"
        screen.table.move_cursor(row=screen.table.shown.index(later.id))
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        await wait_for(pilot, lambda: detail.detail is not None)
        assert detail.detail is not None
        assert any(line.startswith(f"this run trips decision {decide.decision_id}: f1 < 0.45")
                   for line in detail.detail.related)
        assert any(f"TRIPPED by run {later.id}" in line for line in detail.detail.related)


async def test_a_bad_trigger_is_refused_with_the_reason(tui_db: Path) -> None:
    from ledger import Ledger
    from tui.screens.decide import DecideScreen

    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_runs(pilot, app)
        await pilot.press("d")
        decide = app.screen
        assert isinstance(decide, DecideScreen)
        await pilot.press(*"ship it", "enter", *"import os", "enter")
        await wait_for(pilot, lambda: "recorded" in str(decide.query_one("#decide-status").content)
                       or bool(str(decide.query_one("#decide-status").content)))
        assert decide.decision_id is None
        with Ledger(tui_db) as led:
            assert led.count(kind="decision") == 0


def write_config(folder: Path, name: str = "03_hybrid.toml") -> Path:
    """A shipped config (offline provider), copied into a configs folder."""
    root = Path(__file__).resolve().parents[2]
    folder.mkdir(exist_ok=True)
    target = folder / name
    target.write_text((root / "configs" / name).read_text(encoding="utf-8"), encoding="utf-8")
    return target


async def test_launch_form_tab_enter_and_config_do_what_they_say(tui_db: Path, tmp_path: Path) -> None:
    """Defect 4: the first Tab went to an invisible stop (typed digits vanished), Enter in the
    hypothesis submitted, the config reset to the first (most expensive) one on every open, and a
    finished run said only `ok · runs appended`."""
    from ledger import Ledger, RunInput
    from tests.conftest import make_records
    from tui.screens.compare import CompareScreen
    from tui.screens.launch import LaunchScreen

    with Ledger(tui_db) as led:  # an earlier run of the pipeline's experiment: the new run's parent
        led.append(RunInput(experiment="hs-audit", hypothesis="earlier", records=make_records(50, 2),
                            positive_label="wrong"))
    write_config(tmp_path / "configs", "02_embeddings.toml")
    hybrid = write_config(tmp_path / "configs", "03_hybrid.toml")
    app = make_app(tui_db, poll_interval=0, configs_dir=tmp_path / "configs")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_runs(pilot, app)
        await pilot.press("l")
        launch = app.screen
        assert isinstance(launch, LaunchScreen)
        await pilot.press(*"hybrid, small", "enter")  # enter moves on, it does not start
        assert not launch.running and launch.status is None
        assert launch.focused is launch.query_one("#sample")
        await pilot.press("shift+tab", "tab")  # back to the hypothesis, and Tab again
        assert launch.focused is launch.query_one("#sample")  # no invisible stop in between
        await pilot.press("backspace", "backspace", "backspace", *"25")
        assert launch.query_one("#sample").value == "25"  # type: ignore[attr-defined]
        launch.query_one("#config").value = str(hybrid)  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: launch.status is not None, tries=2000)
        assert launch.status == "ok" and launch.run_ids == [8]
        with Ledger(tui_db) as led:
            run = led.get(8)
        status = str(launch.query_one("#launch-status").render())
        assert f"run 8 ok · P {run.precision:.3f}  R {run.recall:.3f}  F1 {run.f1:.3f}" in status
        assert run.sample_size == 25 and run.hypothesis == "hybrid, small"
        assert launch.parent_id == run.parent_id == 7
        assert f"compares with its parent, run {run.parent_id}" in status
        await pilot.press("c")
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        assert (compare.a_spec, compare.b_spec) == ("7", "8")
        await pilot.press("escape", "escape")
        assert app.screen is screen
        await wait_for(pilot, lambda: 8 in [r.id for r in screen.rows])
        # the next launch offers the cursor run's config (run 8 is a 03_hybrid run), not the first
        await wait_for(pilot, lambda: screen.table.cursor_id == 8)
        await pilot.press("l")
        again = app.screen
        assert isinstance(again, LaunchScreen)
        assert again.query_one("#config").value == str(hybrid)  # type: ignore[attr-defined]
        await pilot.press("escape")
        # a run without a config name: the config launched last
        screen.table.move_cursor(row=0)
        await pilot.press("l")
        assert app.screen.query_one("#config").value == str(hybrid)  # type: ignore[attr-defined]


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
