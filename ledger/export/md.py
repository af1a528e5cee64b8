"""Markdown: the run table and the flags, for a pull request, an issue or a wiki page.

Every cell goes through :func:`md_cell` (pipes escaped, line breaks as ``<br>``, markup escaped), so
each row keeps the header's column count whatever the text holds.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..imported import describe, headline, source_of
from ..model import Run
from ..store import Ledger
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
    return f"{fmt_ratio(value)} (reported)" if reported else fmt_ratio(value)


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
        "P/R/F1 are the positive class's, computed by the ledger from per-record outcomes."
    )
    lines.append("")
    if report.picks:
        lines.append("## Where the project stands")
        lines.append("")
        for pick in report.picks:
            r = pick.run
            lines.append(
                f"- **{pick.label}**: run {r.id} (F1 {fmt_ratio(r.f1)}, {fmt_usd(r.cost_per_record_usd)}/record, "
                f"{fmt_seconds(r.time_per_record_s)}/record): {md_cell(redactor.text(r.hypothesis))}"
            )
        ids = ", ".join(str(r.id) for r in report.pareto)
        lines.append(f"- **Pareto frontier** ({', '.join(report.pareto_dims)}): runs {ids or 'none'}")
        lines.append("")
    lines.append("## Runs")
    lines.append("")
    lines.append(table_row(list(HEADERS)))
    lines.append("| " + " | ".join(ALIGN) + " |")
    for run in runs:
        lines.append(table_row(run_cells(run, redactor)))
    lines.append("")
    if report.comparisons is not None:
        lines.append("## Flags: each run against the one before it")
        lines.append("")
        if report.comparisons_left_out:
            lines.append(f"The latest {len(report.comparisons)} pairs ({report.comparisons_left_out} earlier pairs left out).")
            lines.append("")
        for c in report.comparisons:
            if c.error:
                lines.append(f"- **{c.a} → {c.b}**: not compared: {md_cell(c.error)}")
                continue
            verdict = c.verdict or {}
            head = f"- **{c.a} → {c.b}**: {md_cell(verdict.get('decision', '–'))}"
            if verdict.get("rule"):
                head += f" ({md_cell(verdict['rule'])})"
            regressions, warnings = split_flags(c.flags)
            lines.append(head if c.flags else head + "; no flags")
            for flag in regressions:
                lines.append(f"  - **regression** {_kind(flag)} {md_cell(flag.get('message', ''))}")
            if warnings:
                kinds = sorted({str(f.get("kind", "")) for f in warnings})
                lines.append(f"  - {len(warnings)} warning(s), not significant: {md_cell(', '.join(kinds))}")
        if not report.comparisons:
            lines.append("No pair of consecutive runs to compare.")
        lines.append("")
    if report.decisions:
        lines.append("## Decisions and reversal triggers")
        lines.append("")
        lines.append(table_row(["decision", "about runs", "why", "revisit when", "status"]))
        lines.append("| ---: | :--- | :--- | :--- | :--- |")
        for d in report.decisions:
            status = ("TRIPPED: " + "; ".join(d.tripped)) if d.tripped else ("holding" if d.revisit_when else "no trigger")
            lines.append(table_row([d.id, ", ".join(map(str, d.refs)), d.why, d.revisit_when or "–", status]))
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
    experiment: str | None = None, whole_ledger: bool = False,
) -> None:
    report = build_report(ledger, runs, redactor, title=report_title(runs, experiment))
    paths[0].write_text(render(report, redactor), encoding="utf-8")
