"""The stakeholder report agrees with the modules it summarises (ledger.compare, ledger.decisions,
ledger.pareto, ledger.cases) and with itself (issue 12, items 10-12): decisions first, headline
cards, Pareto and "each against the one before it" over variants, a tripped trigger named with the
run that tripped it, labelled variant charts, per-class and per-stratum charts and sample cases."""

from __future__ import annotations

import dataclasses
import html as html_mod
import random
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import Ledger, RunInput
from ledger.export import export
from ledger.export import report as report_mod
from ledger.export.safe import Redactor
from tests.ledger.export_example import audit_records, build_example_ledger

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    path = tmp_path_factory.mktemp("ex") / "example.db"
    with build_example_ledger(path, n=200) as led:
        yield led


def section(page: str, name: str) -> str:
    start = page.index(f'<section id="{name}">')
    return page[start:page.index("</section>", start)]


def test_decisions_come_first(example: Ledger, tmp_path: Path) -> None:
    """Item 10: what was decided was near the bottom."""
    page = export(example, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    order = [page.index(f'<section id="{name}">') for name in ("decisions", "standing", "charts", "comparisons",
                                                                   "runs", "integrity")]
    assert order == sorted(order)
    md = export(example, "md", tmp_path / "r.md").read_text(encoding="utf-8")
    assert md.index("## What was decided") < md.index("## Where the project stands") < md.index("## Runs")


def test_each_variant_is_compared_with_the_variant_it_came_from(example: Ledger, tmp_path: Path) -> None:
    from ledger.compare import compare_runs
    from ledger.specs import resolve_pair

    page = export(example, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    rows = html_mod.unescape(section(page, "comparisons")).split("<tr>")[2:]
    variants = example.variants()
    pairs = [(variants[v.parent - 1], v) for v in variants if v.parent is not None]
    assert len(rows) >= len(pairs) and pairs
    for (a, b), row in zip(pairs, rows, strict=False):
        assert f"{a.label} →<br>{b.label}" in row
        sa, sb = resolve_pair(example, a.key, b.key)
        try:
            c = compare_runs(example, list(sa.run_ids), list(sb.run_ids)).to_dict()
        except Exception:  # a variant whose only run failed: the report says it was not compared
            assert "not compared" in row
            continue
        assert f">{c['verdict']['decision']}</span>" in row
        assert c["verdict"]["rule"] in row
        for flag in c["flags"]:
            assert flag["message"] in row
        assert row.count('class="sev regression"') == sum(f["severity"] == "regression" for f in c["flags"])
    md = export(example, "md", tmp_path / "r.md").read_text(encoding="utf-8")
    a, b = pairs[0]
    sa, sb = resolve_pair(example, a.key, b.key)
    verdict = compare_runs(example, list(sa.run_ids), list(sb.run_ids)).to_dict()["verdict"]["decision"]
    assert f"→ {b.label.replace('_', chr(92) + '_')}**: {verdict.replace('_', chr(92) + '_')}" in md


def test_a_tripped_decision_names_the_later_run_when_and_by_how_much(tmp_path: Path) -> None:
    """Item 11: a trip shows which later run tripped it."""
    from ledger.decisions import decide, tripped_triggers

    with build_example_ledger(tmp_path / "t.db", n=200) as led:
        last = led.runs()[-1]
        decide(led, last.id, "ship the tuned threshold", "recall < 0.9")
        later = led.append(RunInput(experiment=last.experiment, hypothesis="a later repeat", params=last.params,
                                    prompts={"rerank": "Choose the HS subheading... (prompt v2)"},
                                    records=audit_records(200, 999, 0.5, 0.02, 0.0005, 600.0),
                                    positive_label="wrong", created_at="2025-03-30T09:30:00.000000Z"))
        trip = next(t for t in tripped_triggers(led) if t.run_id == later.id)
        page = export(led, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    decisions = section(page, "decisions")
    assert "Revisit: the decision to go with" in decisions
    row = next(r for r in decisions.split("<tr>") if f"#{trip.decision_id}<" in r)
    assert "badge tripped" in row
    assert f"by run {later.id} (2025-03-30 09:30 UTC): {html_mod.escape(trip.by_how_much)}" in row


def test_a_decision_never_tripped_by_its_own_repeats_is_holding(example: Ledger, tmp_path: Path) -> None:
    from ledger.decisions import tripped_triggers

    trips = {t.decision_id for t in tripped_triggers(example)}
    page = export(example, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    rows = section(page, "decisions").split("<tr>")[2:]
    decisions = example.runs(kind="decision")
    assert len(rows) == len(decisions)
    for decision, row in zip(decisions, rows, strict=True):
        assert html_mod.escape(decision.body["revisit_when"]) in row
        assert ("badge tripped" in row) == (decision.id in trips)


def test_headline_cards_and_frontier_are_over_variants(example: Ledger) -> None:
    from ledger.pareto import pareto_front

    report = report_mod.build_report(example, example.runs(), Redactor(), title="t", verify=example.verify())
    summaries = example.variant_summaries()
    ok = [s for s in summaries if s.runs_ok]
    best = max(ok, key=lambda s: (s.f1, s.variant.number))
    assert report.cards[0].label == "Highest mean F1" and report.cards[0].summary.variant.key == best.variant.key
    assert [s.variant.key for s in report.pareto] == [s.variant.key for s in pareto_front(ok)]
    rng = random.Random(11)
    for trial in range(100):  # the frontier is ledger.pareto's on any set of variant summaries
        fake = [dataclasses.replace(ok[0], f1=rng.choice([0.5, 0.6, 0.7]),
                                    cost_per_record_usd=rng.choice([None, 0.001, 0.002]),
                                    time_per_record_s=rng.choice([None, 0.1, 0.2]),
                                    variant=dataclasses.replace(ok[0].variant, number=i))
                for i in range(1, rng.randint(2, 20))]
        assert report_mod._pareto(fake) == pareto_front(fake), trial


def test_variant_charts_are_labelled_with_one_mark_per_repeat(tmp_path: Path) -> None:
    """Item 12: one line through five configs x three seeds read as instability."""
    db = tmp_path / "example.db"
    shutil.copyfile(ROOT / "ledger.db.example", db)
    with Ledger(db) as led:
        page = export(led, "html", tmp_path / "r.html").read_text(encoding="utf-8")
        summaries = [s for s in led.variant_summaries() if s.runs_ok]
    charts = section(page, "charts")
    svgs = re.findall(r"<svg.*?</svg>", charts, re.S)
    assert len(svgs) == 3
    for svg in svgs:
        assert "polyline" not in svg  # no line through unrelated variants
        for s in summaries:
            label = html_mod.escape(s.variant.label)
            assert f">{label}<title>" in svg
            assert len(re.findall(rf"<title>{re.escape(label)}, repeat \d+:", svg)) == len(s.runs_ok)
        assert "a run (repeat)" in svg and "mean of the repeats" in svg and "range of the repeats" in svg


def test_flagged_comparisons_get_class_and_stratum_charts_and_sample_cases(tmp_path: Path) -> None:
    from ledger.cases import case_sides, find_cases
    from ledger.export.report_compare import compare_variants

    db = tmp_path / "example.db"
    shutil.copyfile(ROOT / "ledger.db.example", db)
    with Ledger(db) as led:
        page = export(led, "html", tmp_path / "r.html").read_text(encoding="utf-8")
        variants = led.variants()
        v1, v2 = variants[0], variants[1]
        c = compare_variants(led, v1, v2, Redactor())
        assert c.flags and c.classes and c.strata
        a_ids, b_ids, _ = case_sides(led, c.a_runs, c.b_runs)
        for group in c.cases:
            cls = group.name.split("'")[1]
            kind = group.name.split()[0]
            filters = {"label_class": cls} if kind == "class" else {"stratum": cls}
            lost = find_cases(led, a_ids, b_ids, which="lost", **filters)  # type: ignore[arg-type]
            gained = find_cases(led, a_ids, b_ids, which="gained", **filters)  # type: ignore[arg-type]
            assert group.lost_total == lost.matched and group.gained_total == gained.matched
            assert [x.id for x in group.lost] == [x.id for x in lost.cases[:len(group.lost)]]
            # lost: A right more often than B over their repeats; shown with the count when runs disagree
            for x, case in zip(group.lost, lost.cases, strict=False):
                assert x.a_share > x.b_share and case.a.right / case.a.runs == x.a_share
            for x, case in zip(group.gained, gained.cases, strict=False):
                assert x.b_share > x.a_share and case.b.right / case.b.runs == x.b_share
            for x in group.lost + group.gained:
                for text, share in ((x.a, x.a_share), (x.b, x.b_share)):
                    assert ("runs right)" in text) == (0 < share < 1), (text, share)
                    if share in (0.0, 1.0):  # every run agrees on right or wrong
                        assert (text == x.label) == (share == 1.0)
    comparisons = section(page, "comparisons")
    head = f"{html_mod.escape(v1.label)} → {html_mod.escape(v2.label)}: where the changes are"
    part = comparisons[comparisons.index(head):]
    part = part[:part.index("</table>")]
    assert "Per class:" in part and "Per stratum" in part and "precision, B − A" in part
    for flagged in (x for x in c.classes if x.flagged):
        assert f"! {html_mod.escape(flagged.name)}</text>" in part
    assert f"lost\n({c.cases[0].lost_total})" in part or f"lost ({c.cases[0].lost_total})" in part


def test_the_example_report_does_not_contradict_itself(tmp_path: Path) -> None:
    """Item 11: "Best quality: run 9" while the only decision shipped run 12, badged "tripped" by
    its own repeat. Every claim is checked against an oracle computed here from the runs."""
    from ledger.decisions import tripped_triggers

    db = tmp_path / "example.db"
    shutil.copyfile(ROOT / "ledger.db.example", db)
    with Ledger(db) as led:
        page = export(led, "html", tmp_path / "r.html").read_text(encoding="utf-8")
        runs = led.runs()
        variants = led.variants()
        trips = tripped_triggers(led)
        decision = led.runs(kind="decision")[-1]
    f1 = {r.id: r.f1 for r in runs if r.status == "ok"}
    means = {v.key: sum(f1[i] for i in v.run_ids if i in f1) / sum(1 for i in v.run_ids if i in f1)
             for v in variants if any(i in f1 for i in v.run_ids)}
    best = max(means, key=lambda k: means[k])
    best_label = next(v.label for v in variants if v.key == best)
    decided = next(v for v in variants if decision.refs[0] in v.run_ids)
    standing = section(page, "standing")
    card = standing[standing.index("Highest mean F1"):standing.index("Cheapest per record")]
    assert f"F1 {means[best]:.3f}" in card and html_mod.escape(best_label) in card
    decisions = section(page, "decisions")
    # only run 17, appended after the decision (the decided config on a fresh sample), trips it; the
    # repeats it was decided on came before it and never do
    assert [t.run_id for t in trips] == [17] and trips[0].decision_id == decision.id < 17
    assert not set(trips[0].confirmed_by) & set(decided.run_ids[:3])
    assert (f"the decision to go with {html_mod.escape(decided.label)} was tripped by a later run (run 17 "
            in decisions)
    if decided.key == best:
        assert "It is also the variant with the highest mean F1" in decisions
    else:
        assert "has a higher mean F1" in decisions
    assert "Best quality: run" not in page  # headlines are variants, never single runs
