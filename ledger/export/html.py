"""The HTML report: one self-contained file (inline CSS and SVG, no script, nothing fetched).

Rendered from ``templates/report.html.j2`` by Jinja2 with autoescaping on, so every piece of ledger
data is escaped by default; the only markup marked safe is the SVG charts, which escape their own
text (:mod:`ledger.export.charts`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..imported import describe, headline, source_of
from ..model import Run
from ..store import Ledger, VerifyReport
from .charts import COLOURS, Column, delta_chart, variant_chart
from .report import Report, build_report, report_title
from .report_compare import VariantComparison
from .rows import diff_summary, fmt_ratio, fmt_seconds, fmt_usd
from .safe import Redactor

TEMPLATES = Path(__file__).with_name("templates")


def _tick_usd(value: float) -> str:
    """Axis labels: as many decimals as the value needs (``$0.0015``, ``$0.002``, ``$0``)."""
    text = f"{abs(value):.6f}".rstrip("0").rstrip(".")
    return ("-$" if value < 0 else "$") + text


def f1_spread(summary: Any) -> str:
    if summary.f1_ci is None:
        return "one successful run: no spread to show" if len(summary.runs_ok) == 1 else ""
    if summary.identical:
        return f"{len(summary.runs_ok)} repeats, all the same F1"
    lo, hi = max(summary.f1_ci[0], 0.0), min(summary.f1_ci[1], 1.0)
    return f"95% interval over {len(summary.runs_ok)} repeats: {lo:.3f} to {hi:.3f}"


def _charts(report: Report) -> list[str]:
    from markupsafe import Markup

    by_id = {r.id: r for r in report.runs}
    summaries = [s for s in report.variants if s.runs_ok]
    if not summaries:
        return []

    def columns(value: Any) -> list[Column]:
        out = []
        for s in summaries:
            vals = [float(v) for i in s.runs_ok if (v := value(by_id[i])) is not None]
            out.append(Column(s.variant.label, vals, f"{len(s.runs_ok)} run{'s' if len(s.runs_ok) != 1 else ''}"))
        return out

    charts = [
        variant_chart("F1 by variant (mean and spread of repeats)", columns(lambda r: r.f1),
                      lambda v: f"{v:.2f}", COLOURS["f1"], y_label="F1"),
        variant_chart("Cost per record by variant", columns(lambda r: r.cost_per_record_usd), _tick_usd,
                      COLOURS["cost"], zero_based=True, y_label="USD per record"),
        variant_chart("Time per record by variant", columns(lambda r: r.time_per_record_s),
                      lambda v: "0" if v == 0 else fmt_seconds(v), COLOURS["time"], zero_based=True,
                      y_label="time per record"),
    ]
    return [Markup(c) for c in charts]


def _delta(comparison: VariantComparison, which: str) -> Any:
    from markupsafe import Markup

    from .report_compare import CLASS_METRICS, STRATUM_METRICS

    if which == "classes":
        rows, what, metrics = comparison.classes, "class", CLASS_METRICS
    else:
        rows, what, metrics = comparison.strata, "stratum (accuracy, and the headline class's recall in it)", STRATUM_METRICS
    title = f"Per {what}: {comparison.b} − {comparison.a}"
    return Markup(delta_chart(title, [(c.name, c.first, c.second, c.flagged) for c in rows], metrics))


def _headline(run: Run, name: str) -> str:
    """Precision, recall or F1: ``*`` when it is what an imported run's source reported; none for a
    run that did not finish."""
    value, reported = headline(run, name)
    if reported:
        return f"{fmt_ratio(value)}*"
    return fmt_ratio(value if run.status == "ok" else None)


def _run_rows(report: Report, redactor: Redactor) -> list[dict[str, Any]]:
    rows = []
    previous: Run | None = None
    for run in report.runs:
        extra = []
        # notes and caveats repeated on every run of a series are said once
        for label, text, before in (("notes", run.notes, previous.notes if previous else None),
                                    ("caveats", run.caveats, previous.caveats if previous else None)):
            if text and text == before and previous is not None:
                extra.append((label, f"as run {previous.id}"))
            elif text:
                extra.append((label, redactor.text(text)))
        source = source_of(run.body) if run.record_count == 0 else None
        if source is not None:
            extra.append(("source", f"{redactor.text(describe(source))}: no records; P/R/F1 marked * are as "
                                    "reported there"))
        ok = run.status == "ok"
        wall = run.timing.get("wall_s")
        rows.append({
            "id": run.id, "date": run.created_at[:10], "time": run.created_at[11:16],
            "experiment": redactor.text(run.experiment), "variant": report.variant_of.get(run.id, ""),
            "hypothesis": redactor.text(run.hypothesis), "extra": extra, "failed": not ok, "status": run.status,
            "error": redactor.text(run.error or ""), "diff": redactor.text(diff_summary(run, limit=6)),
            "numbers": [run.sample_size, *(_headline(run, name) for name in ("precision", "recall", "f1")),
                        fmt_ratio(run.accuracy if ok else None),
                        fmt_usd(run.cost_per_record_usd), fmt_usd(run.cost_total_usd),
                        fmt_seconds(run.time_per_record_s if ok else None),
                        fmt_seconds(wall if isinstance(wall, (int, float)) else None)],
        })
        previous = run
    return rows


def render(report: Report, redactor: Redactor) -> str:
    """The whole report as one HTML document."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
    from markupsafe import Markup

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2", "html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    runs = report.runs
    return env.get_template("report.html.j2").render(
        r=report,
        css=Markup((TEMPLATES / "report.css").read_text(encoding="utf-8")),  # ours, not ledger data
        span=f"runs {runs[0].id}–{runs[-1].id}" if runs else "no runs",
        ok_runs=sum(1 for r in runs if r.status == "ok"),
        several=len({r.experiment for r in runs}) > 1,
        charts=_charts(report),
        run_rows=_run_rows(report, redactor),
        delta=_delta,
        ratio=fmt_ratio, usd=fmt_usd, seconds=fmt_seconds, f1_spread=f1_spread,
    ) + "\n"


def write(
    ledger: Ledger, runs: list[Run], paths: list[Path], redactor: Redactor, *,
    experiment: str | None = None, whole_ledger: bool = False, verify: VerifyReport,
) -> None:
    report = build_report(ledger, runs, redactor, title=report_title(runs, experiment), verify=verify)
    paths[0].write_text(render(report, redactor), encoding="utf-8")
