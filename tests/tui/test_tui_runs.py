"""The runs table: loading, newest row in view, filtering by typing, sorting, marks, polling,
detail, help and quitting. Pilot tests asserting on state and on the messages the workers post."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ledger import Ledger, RunInput
from tests.conftest import make_records
from tui.app import make_app
from tui.messages import RunsAppended, RunsLoaded
from tui.screens.detail import DetailScreen
from tui.screens.help import HelpScreen
from tui.screens.runs import RunsScreen

pytestmark = pytest.mark.anyio


async def wait_loaded(pilot, screen: RunsScreen) -> None:  # type: ignore[no-untyped-def]
    for _ in range(100):
        if screen.loaded and not screen.workers:
            break
        await pilot.pause(0.02)
    await pilot.pause()


def table_ids(screen: RunsScreen) -> list[int]:
    return [int(key.value) for key in screen.table.rows]  # type: ignore[arg-type]


async def test_opens_with_every_run_and_the_newest_under_the_cursor(tui_db: Path) -> None:
    app = make_app(tui_db, poll_interval=0)
    seen: list[object] = []
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        assert table_ids(screen) == [1, 2, 3, 4, 5, 6]
        assert screen.table.cursor_id == 6
        loaded = [m for m in seen if isinstance(m, RunsLoaded)]
        assert len(loaded) == 1 and loaded[0].head_id == 6
        row = screen.table.get_row("5")
        assert "failed" in str(row[9])
        assert app.sub_title == "tui.db"


async def test_slash_filters_escape_leaves_then_clears(tui_db: Path) -> None:
    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        await pilot.press("slash", "r", "e", "r")
        assert screen.filter_text == "rer"
        assert table_ids(screen) == [4, 5, 6]
        await pilot.press("escape")  # leaves the box, keeps the filter
        assert screen.focused is screen.table and screen.filter_text == "rer"
        await pilot.press("escape")  # on the table: clears it
        assert screen.filter_text == ""
        assert table_ids(screen) == [1, 2, 3, 4, 5, 6]
        await pilot.press("slash", *"status:failed", "enter")
        assert table_ids(screen) == [5]
        assert screen.focused is screen.table


async def test_typed_filter_characters_never_run_commands(tui_db: Path) -> None:
    """Defect 1: typing "sed" used to open the sweep (s), and e/d ran export and decide."""
    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        await pilot.press("slash", *"seed lcdetovbx", "space", "q")
        assert app.screen is screen  # no sweep, export, decide, launch, trends, variants, quit
        assert screen.filter_text == "seed lcdetovbx q"
        assert screen.marks == {}
        # on the table, a letter that is no command does nothing but say how to filter
        await pilot.press("escape", "escape", "z")
        assert app.screen is screen and screen.filter_text == ""


async def test_a_fast_burst_after_slash_lands_whole_in_the_filter(tui_db: Path) -> None:
    """Defect 1: a burst (keys arriving before the first is handled) lost characters:
    `id:>10` arrived as `i:>10` and `d` opened the decide screen. Here every key is queued at once,
    as a terminal delivers a fast typist or a paste without bracketed paste."""
    from textual import events

    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        driver = app._driver
        assert driver is not None
        for key, char in [("slash", "/"), ("i", "i"), ("d", "d"), ("colon", ":"), ("greater_than_sign", ">"),
                          ("4", "4")]:
            event = events.Key(key, char)
            event.set_sender(app)
            driver.send_message(event)  # no wait between keys
        await pilot.pause(0.3)
        assert app.screen is screen
        assert screen.filter_text == "id:>4"
        assert table_ids(screen) == [5, 6]


async def test_pasted_text_goes_into_the_filter(tui_db: Path) -> None:
    """Defect 1: a paste on the table landed nowhere (or in the wrong screen)."""
    from textual import events

    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        assert screen.focused is screen.table
        app.post_message(events.Paste("exp:rerank\nid:>4"))
        await pilot.pause(0.2)
        assert app.screen is screen
        assert screen.filter_text == "exp:rerank id:>4"
        assert table_ids(screen) == [5, 6]


async def test_sort_best_f1_first_takes_two_keys(tui_db: Path) -> None:
    """Defect 8: sorting best-F1-first took seven key presses."""
    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        await pilot.press("o", "f")
        assert (screen.sort_key, screen.sort_reverse) == ("f1", True)
        with Ledger(tui_db) as led:  # the oracle: the stored F1s, best first, the failed run last
            runs = led.runs()
        expected = [r.id for r in sorted((r for r in runs if r.f1 is not None), key=lambda r: (-r.f1, -r.id))]
        assert table_ids(screen) == [*expected, 5]
        assert screen.table.cursor_id == expected[0]  # the best run under the cursor
        await pilot.press("O")
        assert not screen.sort_reverse and table_ids(screen)[-1] == 5
        await pilot.press("o", "c")  # cost: cheapest first
        assert screen.sort_key == "cost" and not screen.sort_reverse
        await pilot.press("o", "escape")
        assert screen.sort_key == "cost"


async def test_runs_table_at_80_columns_shows_the_hypothesis(tui_db: Path) -> None:
    """Defect 8: at 80x24 the hypothesis was hidden behind a constant experiment column."""
    with Ledger(tui_db) as led:
        led.append(RunInput(experiment="baseline", hypothesis="x", records=make_records(20, 1),
                            positive_label="wrong"))
    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        keys = [str(k.value) for k in screen.table.columns]
        assert "hypothesis" in keys and "experiment" in keys  # two experiments here
        row = dict(zip(keys, (str(c) for c in screen.table.get_row("3")), strict=True))
        assert row["hypothesis"].startswith("top_k 10 li")  # 13 columns left with two experiments
        assert screen.table.virtual_size.width <= 80
    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        keys = [str(k.value) for k in screen.table.columns]
        assert {"n", "status", "time", "variant"} <= set(keys)


async def test_marks_toggle_and_move_down(tui_db: Path) -> None:
    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        screen.table.move_cursor(row=0)
        await pilot.press("space", "space", "b")
        assert screen.marks == {1: "A", 2: "A", 3: "B"}
        assert str(screen.table.get_cell("1", "mark")) == "A "
        assert str(screen.table.get_cell("3", "mark")) == "B "
        screen.table.move_cursor(row=0)
        await pilot.press("space")
        assert screen.marks == {2: "A", 3: "B"}
        await pilot.press("x")
        assert screen.marks == {}
        assert str(screen.table.get_cell("2", "mark")) == "  "


async def test_variants_view_groups_runs_and_compares_with_the_parent_variant(tui_db: Path) -> None:
    from tui.screens.compare import CompareScreen

    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        await pilot.press("v")
        for _ in range(100):
            if screen.variant_rows:
                break
            await pilot.pause(0.02)
        with Ledger(tui_db) as led:
            variants = led.variants()
        assert [r.key for r in screen.variant_rows] == [v.key for v in variants]
        assert [r.runs_ok for r in screen.variant_rows] == [
            tuple(i for i in v.run_ids if i != 5) for v in variants]  # run 5 failed
        last = screen.variants_table.cursor_variant
        assert last is not None and last.key == variants[-1].key
        await pilot.press("c")
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        assert (compare.a_spec, compare.b_spec) == (last.parent, last.key)
        await pilot.press("escape")
        await pilot.press("enter")  # a variant's runs
        assert not screen.showing_variants and screen.filter_text == f"var:{last.key}"
        assert table_ids(screen) == list(last.runs_ok)


async def test_poll_adds_runs_appended_by_another_process(tui_db: Path) -> None:
    app = make_app(tui_db, poll_interval=0.05)
    seen: list[object] = []
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        code = (
            "import sys; sys.path.insert(0, sys.argv[2])\n"
            "from ledger import Ledger, RunInput\n"
            "from tests.conftest import make_records\n"
            "with Ledger(sys.argv[1]) as led:\n"
            "    led.append(RunInput(experiment='other', hypothesis='from another process',\n"
            "               records=make_records(50, 9), positive_label='wrong'))\n"
        )
        root = str(Path(__file__).resolve().parents[2])
        subprocess.run([sys.executable, "-c", code, str(tui_db), root], check=True, timeout=60)
        for _ in range(200):
            if 7 in table_ids(screen):
                break
            await pilot.pause(0.05)
        assert table_ids(screen)[-1] == 7
        assert screen.table.cursor_id == 7  # the cursor was on the newest row: it follows
        appended = [m for m in seen if isinstance(m, RunsAppended) and m.rows]
        assert [r.id for r in appended[0].rows] == [7]
        assert appended[0].rows[0].hypothesis == "from another process"


async def test_poll_skips_decision_rows_and_keeps_filter(tui_db: Path) -> None:
    app = make_app(tui_db, poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        await pilot.press("slash", *"base", "enter")
        with Ledger(tui_db) as led:
            led.append(RunInput(kind="decision", experiment="baseline", refs=[3], body={"why": "ok"}))
            led.append(RunInput(experiment="baseline", hypothesis="late baseline",
                                records=make_records(40, 3), positive_label="wrong"))
        for _ in range(200):
            if screen.head_id == 8:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.1)
        assert screen.head_id == 8
        assert [r.id for r in screen.rows] == [1, 2, 3, 4, 5, 6, 8]
        assert table_ids(screen) == [1, 2, 3, 8]


async def test_enter_opens_detail_with_diff_metrics_stages_and_funnel(tui_db: Path) -> None:
    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        for _ in range(100):
            if detail.detail is not None:
                break
            await pilot.pause(0.02)
        d = detail.detail
        assert d is not None and d.run_id == 6
        assert ("hypothesis", "stage columns for the funnel") in d.facts
        diff = {(what, key): (a, b) for what, key, a, b in d.diff}
        assert diff[("param", "rerank.prompt")] == ("none", "v2")
        assert diff[("prompt", "rerank")][1] == "Choose the best code for: {text}"
        assert ("param", "retrieve.top_k") not in diff  # same as the parent, run 4
        assert dict(d.metrics)["F1 (class 'wrong')"] == "0.449"
        assert [c[0] for c in d.classes] == ["ok", "wrong"]
        assert [s[0] for s in d.stages] == ["filter", "rerank"]
        assert d.funnel == [("input", 300, "100.0%"), ("filter", 300, "100.0%"), ("rerank", 180, "60.0%")]
        await pilot.press("escape")
        assert app.screen is screen


async def test_help_screen_and_q_quits(tui_db: Path) -> None:
    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert not app.is_running


async def test_q_types_into_the_filter_instead_of_quitting(tui_db: Path) -> None:
    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        await pilot.press("slash", "q")
        assert screen.filter_text == "q"
        assert app.is_running


async def test_window_slides_when_the_cursor_reaches_its_ends(tui_db: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tui.widgets.runs_table import RunsTable

    monkeypatch.setattr(RunsTable, "PAGE", 4)
    app = make_app(tui_db, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_loaded(pilot, screen)
        table = screen.table
        assert [r.id for r in table.view] == [1, 2, 3, 4, 5, 6]
        assert table_ids(screen) == [3, 4, 5, 6]  # the newest runs, cursor on the last
        assert table.cursor_id == 6
        await pilot.press("up", "up", "up")  # reach the window's first row: it slides up
        await pilot.pause()
        assert table.cursor_id == 3
        assert table_ids(screen) == [1, 2, 3, 4]
        await pilot.press("g")
        assert table.cursor_id == 1
        await pilot.press("G")
        assert table.cursor_id == 6 and table_ids(screen) == [3, 4, 5, 6]
