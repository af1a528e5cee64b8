"""The report's comparisons, decisions and frontier agree with ledger.compare, ledger.decisions and
ledger.pareto (the modules `ledger compare`, `ledger decide` and the TUI use)."""

from __future__ import annotations

import dataclasses
import html as html_mod
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.export import export
from ledger.export import report as report_mod
from tests.ledger.export_example import build_example_ledger


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    path = tmp_path_factory.mktemp("ex") / "example.db"
    with build_example_ledger(path, n=200) as led:
        yield led


def test_html_verdicts_and_flags_are_compare_runs(example: Ledger, tmp_path: Path) -> None:
    from ledger.compare import compare_runs

    page = export(example, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="comparisons"' in page
    runs = [r for r in example.runs() if r.status == "ok"]
    pairs = report_mod.consecutive_pairs(runs)
    assert pairs == [(1, 2), (2, 3), (3, 4), (4, 6), (6, 8), (8, 10)]  # run 7 failed: 6 -> 8
    section = page[page.index('id="comparisons"'):page.index('id="decisions"')]
    rows = section.split("<tr>")[2:]
    assert len(rows) == len(pairs)
    for (a, b), row in zip(pairs, rows, strict=True):
        c = compare_runs(example, [a], [b]).to_dict()
        assert f'href="#run-{a}">#{a}</a> → <a href="#run-{b}">#{b}</a>' in row
        assert f">{c['verdict']['decision']}</span>" in row
        assert html_mod.escape(c["verdict"]["rule"]) in row
        for flag in c["flags"]:
            assert html_mod.escape(flag["message"]) in row
        regressions = [f for f in c["flags"] if f["severity"] == "regression"]
        assert row.count("class='sev regression'") == len(regressions)


def test_markdown_lists_the_same_verdicts(example: Ledger, tmp_path: Path) -> None:
    from ledger.compare import compare_runs

    text = export(example, "md", tmp_path / "r.md").read_text(encoding="utf-8")
    verdict = compare_runs(example, [3], [4]).to_dict()["verdict"]["decision"]
    assert f"- **3 → 4**: {verdict.replace('_', chr(92) + '_')}" in text


def test_decisions_show_the_triggers_later_runs_tripped(example: Ledger, tmp_path: Path) -> None:
    from ledger.decisions import tripped_triggers

    trips = tripped_triggers(example)
    assert trips  # the example's first decision (revisit if recall < 0.80) is tripped by a later run
    page = export(example, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    section = page[page.index('id="decisions"'):page.index('id="runs"')]
    rows = section.split("<tr>")[2:]
    decisions = example.runs(kind="decision")
    assert len(rows) == len(decisions) == 2
    for decision, row in zip(decisions, rows, strict=True):
        mine = [t for t in trips if t.decision_id == decision.id]
        assert html_mod.escape(decision.body["revisit_when"]) in row
        if mine:
            assert "badge tripped" in row
            for trip in mine:
                assert f"run {trip.run_id}: {html_mod.escape(trip.condition)}" in row
        else:
            assert "badge holding" in row and "tripped" not in row


def test_report_frontier_equals_ledger_pareto(example: Ledger) -> None:
    from ledger.pareto import pareto_front

    ok = [r for r in example.runs() if r.status == "ok"]
    assert [r.id for r in report_mod._pareto(ok)[0]] == [r.id for r in pareto_front(ok)]
    rng = random.Random(11)
    base = ok[0]
    for trial in range(100):
        fake = [
            dataclasses.replace(
                base, id=i,
                f1=rng.choice([0.5, 0.6, 0.7, 0.8]),
                cost_per_record_usd=rng.choice([None, 0.001, 0.002, 0.003]),
                time_per_record_s=rng.choice([None, 0.1, 0.2]),
            )
            for i in range(1, rng.randint(2, 30))
        ]
        mine = [r.id for r in report_mod._pareto(fake)[0]]
        theirs = [r.id for r in pareto_front(fake)]
        assert sorted(mine) == sorted(theirs), trial


def test_without_the_compare_module_the_report_has_no_comparisons(
    example: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = report_mod.optional_module
    monkeypatch.setattr(report_mod, "optional_module", lambda name: None if name in ("compare", "decisions") else real(name))
    page = export(example, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="comparisons"' not in page
    assert 'id="decisions"' in page and "badge tripped" not in page  # decisions are rows: still listed
    md = export(example, "md", tmp_path / "r.md").read_text(encoding="utf-8")
    assert "## Flags" not in md and "## Decisions" in md


def test_optional_module_raises_a_real_import_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ledger

    assert report_mod.optional_module("no_such_module_here") is None
    (tmp_path / "_export_test_broken.py").write_text("import a_module_that_does_not_exist_anywhere\n")
    monkeypatch.setattr(ledger, "__path__", [*ledger.__path__, str(tmp_path)])
    with pytest.raises(ModuleNotFoundError):
        report_mod.optional_module("_export_test_broken")
