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
async def test_trends_plot_quality_cost_time_of_the_shown_runs(tui_db: Path) -> None:
    app_ = make_app(tui_db, poll_interval=0)
    async with app_.run_test(size=(80, 24)) as pilot:
        screen = app_.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        await pilot.press("slash", *"exp:rerank", "enter", "t")
        trends = app_.screen
        assert isinstance(trends, TrendsScreen)
        assert trends.count == 3
        assert trends.series["F1"][0] == [4.0, 6.0]  # run 5 failed: no F1 to plot
        assert trends.series["t/rec (s)"][0] == [4.0, 6.0]
        await pilot.press("escape")
        assert app_.screen is screen
