"""Snapshots of the runs, compare and sweep screens at 80x24 and 160x48, and of the detail screen
(update only after looking at the SVGs: ``pytest tests/tui/test_tui_snapshots.py --snapshot-update``).

They pin the layouts issue 12 fixed: at 80x24 the runs table shows the hypothesis and no constant
experiment column, the sweep's PR curve has room and its threshold table never wraps a number, the
compare screen leads with the verdict and flags, formatted for people."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tui.app import make_app
from tui.screens.runs import RunsScreen

from .test_tui_runs import wait_loaded

SIZES = [(80, 24), (160, 48)]


async def until(pilot: Any, predicate: Any) -> None:
    for _ in range(500):
        if predicate():
            break
        await pilot.pause(0.02)
    await pilot.pause()


async def loaded(pilot: Any) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, RunsScreen)
    await wait_loaded(pilot, screen)


@pytest.mark.parametrize("size", SIZES)
def test_runs_screen(snap_compare: Any, tui_db: Path, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await loaded(pilot)
        screen = pilot.app.screen
        screen.table.move_cursor(row=0)
        await pilot.press("space")  # a mark (A) next to nothing, on run 1

    assert snap_compare(make_app(tui_db, poll_interval=0), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_compare_screen(snap_compare: Any, tui_db: Path, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await loaded(pilot)
        screen = pilot.app.screen
        screen.table.move_cursor(row=0)
        await pilot.press("space")
        screen.table.move_cursor(row=3)
        await pilot.press("space", "c")
        await until(pilot, lambda: getattr(pilot.app.screen, "view", None) is not None)

    assert snap_compare(make_app(tui_db, poll_interval=0), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_sweep_screen(snap_compare: Any, tui_db: Path, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await loaded(pilot)
        pilot.app.screen.table.move_cursor(row=3)
        await pilot.press("s")
        await until(pilot, lambda: bool(getattr(pilot.app.screen, "points", None)))
        await pilot.press("left", "left", "left")

    assert snap_compare(make_app(tui_db, poll_interval=0), terminal_size=size, run_before=run_before)


def test_detail_screen(snap_compare: Any, tui_db: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await loaded(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: getattr(pilot.app.screen, "detail", None) is not None)

    assert snap_compare(make_app(tui_db, poll_interval=0), terminal_size=(160, 48), run_before=run_before)
