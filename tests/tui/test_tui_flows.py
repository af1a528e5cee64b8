"""The flows that write or analyse: export, compare, sweep, decide, launch (Pilot tests)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

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
