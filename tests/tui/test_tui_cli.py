"""`ledger tui` as a command: a missing ledger is one error line; textual loads only when it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.cli import app
from tui.app import make_app
from tui.screens.runs import RunsScreen
from tui.screens.trends import TrendsScreen
from tui.widgets.plots import TrendPlot

from .test_tui_runs import wait_loaded


def test_missing_ledger_is_one_error_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["tui", "--db", str(tmp_path / "nope.db")])
    assert result.exit_code == 2
    assert "no ledger at" in result.output and "ledger init" in result.output
    assert "Traceback" not in result.output


def test_cli_start_up_does_not_import_textual() -> None:
    code = "import sys, ledger.cli; print('textual' in sys.modules, 'tui' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_help_lists_the_tui_command() -> None:
    result = CliRunner().invoke(app, ["tui", "--help"])
    assert result.exit_code == 0
    assert "--db" in result.output and "--poll" in result.output


@pytest.mark.anyio
async def test_trends_plot_the_shown_runs_by_variant(tui_db: Path) -> None:
    """Defect 7: trends were plotted by run id across unrelated configs; now by variant."""
    from ledger import Ledger

    app_ = make_app(tui_db, poll_interval=0)
    async with app_.run_test(size=(80, 24)) as pilot:
        screen = app_.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        await pilot.press("slash", *"exp:rerank", "enter", "t")
        trends = app_.screen
        assert isinstance(trends, TrendsScreen)
        with Ledger(tui_db) as led:
            variant_of = {i: v.key for v in led.variants() for i in v.run_ids}
            f1 = {r.id: r.f1 for r in led.runs()}
        # runs 4 and 6 are two variants of "rerank"; run 5 failed and is left out
        assert trends.axis == "variant"
        assert [g.key for g in trends.groups] == [variant_of[4], variant_of[6]]
        assert [g.values["f1"] for g in trends.groups] == [(f1[4],), (f1[6],)]
        assert trends.count == 2
        # 80x24: one plot at a time, full height; 2 and 3 switch
        shown = [p.id for p in trends.query(TrendPlot) if p.display]
        assert shown == ["quality"]
        await pilot.press("2")
        assert [p.id for p in trends.query(TrendPlot) if p.display] == ["cost"]
        await pilot.press("escape")
        assert app_.screen is screen
