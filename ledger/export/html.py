"""The HTML report: one self-contained file (inline CSS and SVG, no script, nothing fetched).

Every piece of ledger data is escaped with :func:`html_text`; the only markup in the file is ours.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..imported import describe, headline, source_of
from ..model import Run
from ..store import Ledger
from .charts import Series, line_chart
from .report import Report, build_report, report_title, split_flags
from .rows import diff_summary, fmt_ratio, fmt_seconds, fmt_usd
from .safe import Redactor, html_text

CSS = """
:root { --ink:#1d2733; --muted:#5b6776; --line:#d9dee5; --soft:#f4f6f9; --accent:#1f5fa8;
  --good:#1e7b4a; --bad:#b3261e; --warn:#9a6200; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "Liberation Sans", sans-serif; color:var(--ink); background:#fff; }
main { max-width: 1200px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 34px 0 10px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
p { margin: 6px 0; }
.meta, .note { color: var(--muted); }
.note { font-size: 13px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); gap: 12px; margin-top: 10px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: var(--soft); }
.card .label { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.card .value { font-size: 24px; font-weight: 650; margin: 2px 0; }
.card .run { font-weight: 600; }
.card .sub { font-size: 12.5px; color: var(--muted); }
.card .hyp { font-size: 13px; margin-top: 4px; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 4px; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text { overflow-wrap: anywhere; }
td .small { display: block; color: var(--muted); font-size: 12px; }
tr.failed td { color: var(--muted); background: #fbf1f0; }
tr.pareto td:first-child { box-shadow: inset 3px 0 0 var(--accent); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 650;
  letter-spacing: .02em; background: #e6e9ee; color: var(--ink); white-space: nowrap; }
.badge.PROMOTE, .badge.holding { background: #dcefe3; color: var(--good); }
.badge.ROLLBACK, .badge.tripped, .badge.failed { background: #f7dedc; color: var(--bad); }
.badge.REVIEW { background: #f8ecd2; color: var(--warn); }
ul.flags { margin: 0; padding-left: 16px; }
details summary { color: var(--muted); font-size: 12.5px; cursor: pointer; }
ul.flags li { margin: 2px 0; }
.sev { font-size: 11px; font-weight: 650; text-transform: uppercase; letter-spacing: .03em; margin-right: 4px; }
.sev.regression { color: var(--bad); } .sev.warning { color: var(--warn); }
.flag-kind { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 11.5px;
  color: var(--muted); }
svg.chart { width: 100%; height: auto; display: block; margin: 8px 0 14px; border: 1px solid var(--line);
  border-radius: 8px; background: #fff; }
svg .grid { stroke: #e8ebf0; stroke-width: 1; }
svg .tick { fill: var(--muted); font-size: 11px; }
svg .axis-label { fill: var(--muted); font-size: 11px; }
svg .chart-title { fill: var(--ink); font-size: 14px; font-weight: 650; }
svg .legend { fill: var(--ink); font-size: 12px; }
svg .chart-empty { fill: var(--muted); font-size: 13px; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px;
  overflow-wrap: anywhere; }
.integrity { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: var(--soft); }
.ok { color: var(--good); font-weight: 600; } .fail { color: var(--bad); font-weight: 600; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
@media print { th { position: static; } main { padding: 0; } }
"""


def _e(value: object) -> str:
    return html_text(value)


def _run_link(run_id: int) -> str:
    return f'<a href="#run-{run_id}">#{run_id}</a>'


def _short(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _standing(report: Report, redactor: Redactor) -> Iterable[str]:
    runs = report.runs
    yield '<section id="standing"><h2>Where the project stands</h2>'
    ok = sum(1 for r in runs if r.status == "ok")
    failed = len(runs) - ok
    experiments = sorted({r.experiment for r in runs})
    yield (
        f"<p>{len(runs)} run{'s' if len(runs) != 1 else ''} "
        f"({ok} ok{f', {failed} failed or cancelled' if failed else ''}) in "
        f"{len(experiments)} experiment{'s' if len(experiments) != 1 else ''}: "
        f"{_e(', '.join(redactor.text(x) for x in experiments[:8]))}"
        f"{' …' if len(experiments) > 8 else ''}. Quality is the F1 of the positive class where a run "
        "names one (the macro average otherwise).</p>"
    )
    if not report.picks:
        yield '<p class="note">No successful run with metrics yet.</p></section>'
        return
    yield '<div class="cards">'
    latest = next((r for r in reversed(runs) if r.status == "ok" and r.f1 is not None), None)
    cards = [(p.label, p.run, p.value) for p in report.picks]
    if latest is not None:
        cards.append(("Latest run", latest, float(latest.f1 or 0.0)))
    for label, run, value in cards:
        if "Cheapest" in label:
            big = f"{fmt_usd(value)} <span class='sub'>per record</span>"
        elif "Fastest" in label:
            big = f"{fmt_seconds(value)} <span class='sub'>per record</span>"
        else:
            big = f"F1 {fmt_ratio(value)}"
        yield (
            f'<div class="card"><div class="label">{_e(label)}</div>'
            f'<div class="value">{big}</div>'
            f'<div class="run">Run {_run_link(run.id)} <span class="sub">· {_e(redactor.text(run.experiment))}</span></div>'
            f'<div class="sub">F1 {fmt_ratio(run.f1)} · P {fmt_ratio(run.precision)} · R {fmt_ratio(run.recall)}'
            f" · {fmt_usd(run.cost_per_record_usd)}/record · {fmt_seconds(run.time_per_record_s)}/record"
            f" · n={run.sample_size}</div>"
            f'<div class="hyp">{_e(_short(redactor.text(run.hypothesis or "(no hypothesis)")))}</div></div>'
        )
    yield "</div>"
    dims = ", ".join(
        f"{d} {'higher' if d == 'F1' else 'lower'} is better" for d in report.pareto_dims
    )
    yield f"<h3>Pareto frontier ({_e(dims)})</h3>"
    yield (
        f"<p>{len(report.pareto)} run{'s' if len(report.pareto) != 1 else ''} that no other run beats on "
        "all of these at once; every other run is worse than one of them on at least one and better on none. "
        "Choosing among them is a trade-off, not a mistake.</p>"
    )
    yield (
        "<table><thead><tr><th>run</th><th>hypothesis</th><th class='num'>F1</th>"
        "<th class='num'>precision</th><th class='num'>recall</th><th class='num'>cost / record</th>"
        "<th class='num'>time / record</th><th class='num'>n</th></tr></thead><tbody>"
    )
    for run in report.pareto[:30]:
        yield (
            f"<tr><td>{_run_link(run.id)}</td><td class='text'>{_e(_short(redactor.text(run.hypothesis)))}</td>"
            f"<td class='num'>{fmt_ratio(run.f1)}</td><td class='num'>{fmt_ratio(run.precision)}</td>"
            f"<td class='num'>{fmt_ratio(run.recall)}</td><td class='num'>{fmt_usd(run.cost_per_record_usd)}</td>"
            f"<td class='num'>{fmt_seconds(run.time_per_record_s)}</td><td class='num'>{run.sample_size}</td></tr>"
        )
    yield "</tbody></table>"
    if len(report.pareto) > 30:
        yield f"<p class='note'>… and {len(report.pareto) - 30} more on the frontier (see the run table).</p>"
    yield "</section>"


def _tick_usd(value: float) -> str:
    """Axis labels: as many decimals as the value needs (``$0.0015``, ``$0.002``, ``$0``)."""
    text = f"{abs(value):.6f}".rstrip("0").rstrip(".")
    return ("-$" if value < 0 else "$") + text


def _charts(report: Report) -> Iterable[str]:
    runs = [r for r in report.runs if r.status == "ok"]
    if not runs:
        return
    ids = [r.id for r in runs]
    pareto_ids = [r.id for r in report.pareto]
    yield '<section id="charts"><h2>Quality, cost and time across runs</h2>'
    yield (
        "<p class='note'>Successful runs in run order. Ringed points are on the Pareto frontier. "
        "Hover a point for its value.</p>"
    )
    yield line_chart(
        "Quality",
        ids,
        [
            Series("F1", [r.f1 for r in runs], "#1f5fa8", 2.5),
            Series("precision", [r.precision for r in runs], "#2e9e8f", 1.5, dashed=True),
            Series("recall", [r.recall for r in runs], "#d07a1e", 1.5, dashed=True),
        ],
        lambda v: f"{v:.2f}",
        marked=pareto_ids,
        mark_label="Pareto frontier",
    )
    yield line_chart(
        "Cost per record (USD)",
        ids,
        [Series("cost per record", [r.cost_per_record_usd for r in runs], "#2f7d4f", 2.5)],
        _tick_usd,
        marked=pareto_ids,
        mark_label="Pareto frontier",
        zero_based=True,
    )
    yield line_chart(
        "Time per record",
        ids,
        [Series("time per record", [r.time_per_record_s for r in runs], "#7b4ea3", 2.5)],
        lambda v: "0" if v == 0 else fmt_seconds(v),
        marked=pareto_ids,
        mark_label="Pareto frontier",
        zero_based=True,
    )
    yield "</section>"


def _flag_li(flag: dict[str, object]) -> str:
    severity = _e(flag.get("severity", ""))
    return (
        f"<li><span class='sev {severity}'>{severity}</span> {_e(flag.get('message', ''))} "
        f"<span class='flag-kind'>{_e(flag.get('kind', ''))}</span></li>"
    )


def _comparisons(report: Report) -> Iterable[str]:
    if report.comparisons is None:
        return
    yield '<section id="comparisons"><h2>Each run against the one before it: verdicts and flags</h2>'
    if report.comparisons_left_out:
        yield (
            f"<p class='note'>The latest {len(report.comparisons)} pairs; {report.comparisons_left_out} "
            "earlier pairs are left out of this report (<code>ledger compare A B</code> compares any pair).</p>"
        )
    if not report.comparisons:
        yield "<p class='note'>No pair of consecutive runs to compare.</p></section>"
        return
    yield (
        "<table><thead><tr><th>runs</th><th>verdict</th><th>rule</th><th>flags</th></tr></thead><tbody>"
    )
    for c in report.comparisons:
        pair = f"{_run_link(c.a)} → {_run_link(c.b)}"
        if c.error:
            yield f"<tr><td>{pair}</td><td><span class='badge'>not compared</span></td><td colspan='2' class='text'>{_e(c.error)}</td></tr>"
            continue
        decision = str((c.verdict or {}).get("decision", "")) or "–"
        rule = str((c.verdict or {}).get("rule", ""))
        badge_class = decision if decision in ("PROMOTE", "ROLLBACK", "REVIEW", "NO_DECISION") else ""
        regressions, warnings = split_flags(c.flags)
        flags = ""
        if regressions:
            flags += f"<ul class='flags'>{''.join(_flag_li(f) for f in regressions)}</ul>"
        if warnings:
            flags += (
                f"<details><summary>{len(warnings)} warning{'s' if len(warnings) != 1 else ''} "
                "(not significant)</summary>"
                f"<ul class='flags'>{''.join(_flag_li(f) for f in warnings)}</ul></details>"
            )
        if not c.flags:
            flags = "<span class='note'>none</span>"
        yield (
            f"<tr><td style='white-space:nowrap'>{pair}</td><td><span class='badge {badge_class}'>{_e(decision)}</span></td>"
            f"<td class='text'>{_e(rule)}</td><td class='text'>{flags}</td></tr>"
        )
    yield "</tbody></table></section>"


def _decisions(report: Report) -> Iterable[str]:
    decisions = report.decisions or []
    yield '<section id="decisions"><h2>Decisions and their reversal triggers</h2>'
    if not decisions:
        yield "<p class='note'>No decision is recorded about these runs (<code>ledger decide</code> records one).</p></section>"
        return
    yield (
        "<table><thead><tr><th>decision</th><th>about</th><th>why</th><th>revisit when</th>"
        "<th>status</th></tr></thead><tbody>"
    )
    for d in decisions:
        refs = ", ".join(_run_link(r) for r in d.refs)
        if d.tripped:
            status = "<span class='badge tripped'>tripped</span>" + "".join(
                f"<span class='small'>{_e(m)}</span>" for m in d.tripped
            )
        elif d.revisit_when:
            status = "<span class='badge holding'>holding</span>"
        else:
            status = "<span class='note'>no trigger</span>"
        yield (
            f"<tr><td style='white-space:nowrap'>#{d.id}<span class='small'>{_e(d.created_at[:10])}</span></td><td>{refs}</td>"
            f"<td class='text'>{_e(d.why)}</td><td class='text mono'>{_e(d.revisit_when or '–')}</td>"
            f"<td>{status}</td></tr>"
        )
    yield "</tbody></table></section>"


def _run_table(report: Report, redactor: Redactor) -> Iterable[str]:
    runs = report.runs
    several = len({r.experiment for r in runs}) > 1
    pareto_ids = {r.id for r in report.pareto}
    yield '<section id="runs"><h2>Runs</h2>'
    yield (
        "<p class='note'>Metrics are computed by the ledger from each run's per-record outcomes. "
        "P/R/F1 are the positive class's; n is the sample size. A blue edge marks the Pareto frontier.</p>"
    )
    head = ["run", "created (UTC)"] + (["experiment"] if several else []) + [
        "hypothesis", "changes vs parent"]
    nums = ["n", "P", "R", "F1", "accuracy", "cost / record", "cost total", "time / record", "wall"]
    yield (
        "<table><thead><tr>"
        + "".join(f"<th>{_e(h)}</th>" for h in head)
        + "".join(f"<th class='num'>{_e(h)}</th>" for h in nums)
        + "</tr></thead><tbody>"
    )
    previous: Run | None = None
    for run in runs:
        yield _run_tr(run, several, run.id in pareto_ids, redactor, previous)
        previous = run
    yield "</tbody></table></section>"


def _headline(run: Run, name: str) -> str:
    value, reported = headline(run, name)
    return f"{fmt_ratio(value)}<span class='small'>reported</span>" if reported else fmt_ratio(value)


def _run_tr(run: Run, several: bool, pareto: bool, redactor: Redactor, previous: Run | None) -> str:
    classes = []
    if run.status != "ok":
        classes.append("failed")
    if pareto:
        classes.append("pareto")
    cls = f" class='{' '.join(classes)}'" if classes else ""
    hyp = _e(redactor.text(run.hypothesis) or "–")
    extra = ""
    # Notes and caveats repeated on every run of a series are said once.
    for label, text, before in (("notes", run.notes, previous and previous.notes),
                                ("caveats", run.caveats, previous and previous.caveats)):
        if text and text == before and previous is not None:
            extra += f"<span class='small'>{label}: as run {previous.id}</span>"
        elif text:
            extra += f"<span class='small'>{label}: {_e(redactor.text(text))}</span>"
    source = source_of(run.body) if run.record_count == 0 else None
    if source is not None:
        extra += f"<span class='small'>{_e(redactor.text(describe(source)))}: no records; P/R/F1 as reported there</span>"
    if run.status != "ok":
        extra += f"<span class='small'><span class='badge failed'>{_e(run.status)}</span> {_e(redactor.text(run.error or ''))}</span>"
    wall = run.timing.get("wall_s")
    cells = [
        f"<td>{run.id}</td>",
        f"<td class='mono' style='white-space:nowrap'>{_e(run.created_at[:10])}<span class='small'>"
        f"{_e(run.created_at[11:16])}</span></td>",
    ]
    if several:
        cells.append(f"<td>{_e(redactor.text(run.experiment))}</td>")
    cells += [
        f"<td class='text'>{hyp}{extra}</td>",
        f"<td class='text'>{_e(redactor.text(diff_summary(run, limit=6)))}</td>",
        f"<td class='num'>{run.sample_size}</td>",
        f"<td class='num'>{_headline(run, 'precision')}</td>",
        f"<td class='num'>{_headline(run, 'recall')}</td>",
        f"<td class='num'><b>{_headline(run, 'f1')}</b></td>",
        f"<td class='num'>{fmt_ratio(run.accuracy)}</td>",
        f"<td class='num'>{fmt_usd(run.cost_per_record_usd)}</td>",
        f"<td class='num'>{fmt_usd(run.cost_total_usd)}</td>",
        f"<td class='num'>{fmt_seconds(run.time_per_record_s)}</td>",
        f"<td class='num'>{fmt_seconds(wall if isinstance(wall, (int, float)) else None)}</td>",
    ]
    return f"<tr id='run-{run.id}'{cls}>{''.join(cells)}</tr>"


def _integrity(report: Report) -> Iterable[str]:
    yield '<section id="integrity"><h2>Integrity</h2><div class="integrity">'
    if report.verified:
        yield (
            f"<p class='ok'>Verified when this report was made: the hash chain of all {report.rows_checked} "
            "ledger rows, every records digest and every prompt hash match.</p>"
        )
    else:
        yield "<p class='fail'>Verification FAILED when this report was made:</p><ul>"
        for problem in report.verify_problems[:20]:
            yield f"<li>{_e(problem)}</li>"
        yield "</ul>"
    head = f"{report.head_id}:{report.head_hash}"
    yield (
        f"<p>Chain head: <code>{_e(head)}</code></p>"
        "<p class='note'>Each ledger row carries the hash of the row before it, so this one hash pins the "
        "whole history up to that row. To check later that the ledger was not rewritten or replaced by "
        f"an older copy, run <code>ledger verify --expect-head {_e(head)}</code>.</p></div></section>"
    )


def render(report: Report, redactor: Redactor) -> str:
    """The whole report as one HTML document."""
    runs = report.runs
    span = f"runs {runs[0].id}–{runs[-1].id}" if runs else "no runs"
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No script, no network: even a stray URL in the data cannot load anything.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{_e(report.title)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>{_e(report.title)}</h1>",
        f"<p class='meta'>Ledger <code>{_e(report.ledger_name)}</code> · {span} · generated "
        f"{_e(report.generated_at)} · chain head <code>{_e(str(report.head_id))}:{_e(report.head_hash[:16])}…</code></p>",
    ]
    parts.extend(_standing(report, redactor))
    parts.extend(_charts(report))
    parts.extend(_comparisons(report))
    parts.extend(_decisions(report))
    parts.extend(_run_table(report, redactor))
    parts.extend(_integrity(report))
    parts.append(
        "<footer>Made by <code>ledger export --format html</code>. Text from the ledger is shown as "
        "text; values that look like credentials are replaced by [REDACTED].</footer>"
    )
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


def write(
    ledger: Ledger, runs: list[Run], paths: list[Path], redactor: Redactor, *,
    experiment: str | None = None, whole_ledger: bool = False,
) -> None:
    report = build_report(ledger, runs, redactor, title=report_title(runs, experiment))
    paths[0].write_text(render(report, redactor), encoding="utf-8")
