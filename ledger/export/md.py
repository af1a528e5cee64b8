"""Markdown: the run table and the flags, for a pull request, an issue or a wiki page.

Every cell goes through :func:`md_cell` (pipes escaped, line breaks as ``<br>``, markup escaped), so
each row keeps the header's column count whatever the text holds.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..imported import describe, headline, source_of
from ..model import Run
from ..store import Ledger, VerifyReport
from .report import Report, build_report, report_title, split_flags
from .rows import diff_summary, fmt_ratio, fmt_seconds, fmt_usd
from .safe import Redactor, md_cell

HEADERS = ("run", "experiment", "status", "hypothesis", "changes vs parent", "notes", "n", "P", "R",
           "F1", "cost / record", "time / record")
ALIGN = ("---:", ":---", ":---", ":---", ":---", ":---", "---:", "---:", "---:", "---:", "---:", "---:")


def _kind(flag: dict[str, object]) -> str:
    kind = str(flag.get("kind", ""))
    return f"`{kind}`" if re.fullmatch(r"[A-Za-z0-9_]+", kind) else md_cell(kind)


def table_row(cells: list[object]) -> str:
    return "| " + " | ".join(md_cell(c) for c in cells) + " |"


def _headline(run: Run, name: str) -> str:
    value, reported = headline(run, name)
    if reported:
        return f"{fmt_ratio(value)} (reported)"
    return fmt_ratio(value if run.status == "ok" else None)  # a failed run's metrics describe no finished run


def run_cells(run: Run, redactor: Redactor) -> list[object]:
    source = source_of(run.body) if run.record_count == 0 else None
    hypothesis = redactor.text(run.hypothesis)
    if source is not None:
        hypothesis = f"[{redactor.text(describe(source))}; no records] {hypothesis}"
    return [
        run.id, redactor.text(run.experiment), run.status, hypothesis,
        redactor.text(diff_summary(run, limit=6)),
        redactor.text(" ".join(x for x in (run.notes, run.caveats and f"caveats: {run.caveats}") if x)),
        run.sample_size, _headline(run, "precision"), _headline(run, "recall"), _headline(run, "f1"),
        fmt_usd(run.cost_per_record_usd), fmt_seconds(run.time_per_record_s),
    ]


def render(report: Report, redactor: Redactor) -> str:
    lines = [f"# {md_cell(report.title)}", ""]
    runs = report.runs
    lines.append(
        f"Ledger `{report.ledger_name}`, {len(runs)} runs, generated {report.generated_at}. "
        "P/R/F1 are the positive class's, computed by the ledger from per-record outcomes; figures about a "
        "variant are means over its successful repeats."
    )
    lines.append("")
    rec = report.recommendation
    lines.append("## What was decided")
    lines.append("")
    lines.append(md_cell(rec.headline) + (f" {md_cell(rec.relation)}" if rec.relation else ""))
    if report.decisions:
        lines.append("")
        lines.append(table_row(["decision", "about", "why", "revisit when", "status"]))
        lines.append("| ---: | :--- | :--- | :--- | :--- |")
        for d in report.decisions:
            status = f"TRIPPED by {d.trip}" if d.status == "tripped" else d.status
            lines.append(table_row([d.id, d.about, d.why, d.revisit_when or "–", status]))
    lines.append("")
    if report.cards:
        lines.append("## Where the project stands")
        lines.append("")
        for card in report.cards:
            s = card.summary
            lines.append(
                f"- **{card.label}**: {md_cell(s.variant.label)} ({len(s.runs_ok)} runs; F1 {fmt_ratio(s.f1)}, "
                f"{fmt_usd(s.cost_per_record_usd)}/record, {fmt_seconds(s.time_per_record_s)}/record)"
                + (f": {md_cell(card.note)}" if card.note else "")
            )
        front = ", ".join(md_cell(s.variant.label) for s in report.pareto)
        lines.append(f"- **Pareto frontier** (F1, cost and time per record): {front or 'none'}")
        lines.append("")
    if report.comparisons:
        lines.append("## Flags: each variant against the one it was derived from")
        lines.append("")
        for c in report.comparisons:
            pair = f"{md_cell(c.a)} → {md_cell(c.b)}"
            if c.error:
                lines.append(f"- **{pair}**: not compared: {md_cell(c.error)}")
                continue
            head = f"- **{pair}**: {md_cell(c.verdict)}" + (f" ({md_cell(c.rule)})" if c.rule else "")
            regressions, warnings = split_flags(list(c.flags))
            lines.append(head if c.flags else head + "; no flags")
            for flag in regressions:
                lines.append(f"  - **regression** {_kind(flag)} {md_cell(flag.get('message', ''))}")
            if warnings:
                kinds = sorted({str(f.get("kind", "")) for f in warnings})
                lines.append(f"  - {len(warnings)} warning(s), not significant: {md_cell(', '.join(kinds))}")
        lines.append("")
    lines.append("## Runs")
    lines.append("")
    lines.append(table_row(list(HEADERS)))
    lines.append("| " + " | ".join(ALIGN) + " |")
    for run in runs:
        lines.append(table_row(run_cells(run, redactor)))
    lines.append("")
    lines.append("## Integrity")
    lines.append("")
    state = "verified" if report.verified else "VERIFICATION FAILED: " + "; ".join(report.verify_problems[:3])
    lines.append(
        f"Chain head `{report.head_id}:{report.head_hash}` ({md_cell(state)}). Check later with "
        f"`ledger verify --expect-head {report.head_id}:{report.head_hash}`."
    )
    return "\n".join(lines) + "\n"


def write(
    ledger: Ledger, runs: list[Run], paths: list[Path], redactor: Redactor, *,
    experiment: str | None = None, whole_ledger: bool = False, verify: VerifyReport,
) -> None:
    report = build_report(ledger, runs, redactor, title=report_title(runs, experiment), verify=verify)
    paths[0].write_text(render(report, redactor), encoding="utf-8")
