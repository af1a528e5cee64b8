"""A comparison as HTML, for notebooks: ``Comparison._repr_html_`` returns :func:`render`.

It reads the comparison through ``to_dict()``, the stable ``--json`` schema (keys are only ever
added), so it shows the same facts as ``ledger compare``: verdict and flags first, then the headline
metrics with their confidence intervals, the classes, cost and time. Every text is escaped.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from .render import fmt_seconds, fmt_usd

MAX_CLASSES = 15
_COLOURS = {"PROMOTE": "#1a7f37", "ROLLBACK": "#cf222e", "REVIEW": "#9a6700", "NO_DECISION": "#57606a"}
_HEADLINE = ("f1", "precision", "recall", "accuracy", "balanced_accuracy", "mcc")
_STYLE = ("<style>.ledger-cmp table{border-collapse:collapse;margin:.4em 0}"
          ".ledger-cmp td,.ledger-cmp th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}"
          ".ledger-cmp td:first-child,.ledger-cmp th:first-child{text-align:left}"
          ".ledger-cmp .reg{color:#cf222e}.ledger-cmp .warn{color:#9a6700}</style>")


def _num(value: Any, digits: int = 3, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _ci(entry: dict[str, Any]) -> str:
    ci = entry.get("ci")
    if not ci or ci[0] is None:
        return "–"
    return f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _flags(flags: list[dict[str, Any]]) -> str:
    if not flags:
        return "<p>Flags: none (no class, stratum or headline regression beyond the thresholds).</p>"
    items = "".join(
        f"<li class='{'reg' if f.get('severity') == 'regression' else 'warn'}'>"
        f"<b>{escape(str(f.get('severity', '')))}</b> {escape(str(f.get('message', '')))}</li>"
        for f in flags)
    return f"<ul>{items}</ul>"


def _classes(per_class: list[dict[str, Any]]) -> str:
    shown = sorted(per_class, key=lambda c: -(c.get("a", {}).get("support") or 0))[:MAX_CLASSES]
    rows = [[escape(str(c.get("class"))), str(c.get("a", {}).get("support", "–")),
             _num(c.get("a", {}).get("recall")), _num(c.get("b", {}).get("recall")),
             _num(c.get("delta", {}).get("recall"), signed=True),
             _num(c.get("a", {}).get("precision")), _num(c.get("b", {}).get("precision")),
             _num(c.get("delta", {}).get("precision"), signed=True)] for c in shown]
    more = f"<p>… and {len(per_class) - MAX_CLASSES} more classes.</p>" if len(per_class) > MAX_CLASSES else ""
    return _table(["class", "support A", "recall A", "recall B", "Δ", "precision A", "precision B", "Δ"], rows) + more


def render(comparison: Any) -> str:
    """The HTML of a comparison (anything with ``to_dict()`` in the ``ledger compare --json`` form)."""
    d = comparison.to_dict()
    verdict = d.get("verdict") or {}
    decision = str(verdict.get("decision", ""))
    runs = d.get("runs", {})
    paired = d.get("paired") or {}
    pairing = (f"paired on {paired.get('shared_records', 0):,} shared records" if paired.get("paired")
               else f"unpaired ({paired.get('reason', '')})")
    head = (f"A = run {', '.join(map(str, runs.get('a', [])))} · B = run "
            f"{', '.join(map(str, runs.get('b', [])))} · {pairing}")
    metrics = d.get("metrics") or {}
    rows = [[escape(name), _num(m.get("a")), _num(m.get("b")), _num(m.get("delta"), signed=True), _ci(m)]
            for name in _HEADLINE if (m := metrics.get(name))]
    cost, time = d.get("cost") or {}, d.get("time") or {}
    money = (f"<p>Cost per record: A {escape(fmt_usd((cost.get('a') or {}).get('per_record_usd')))}, "
             f"B {escape(fmt_usd((cost.get('b') or {}).get('per_record_usd')))} · time per record: "
             f"A {escape(fmt_seconds((time.get('a') or {}).get('per_record_s'), unit_sep=' '))}, "
             f"B {escape(fmt_seconds((time.get('b') or {}).get('per_record_s'), unit_sep=' '))}</p>")
    notes = "".join(f"<p><i>{escape(str(n))}</i></p>" for n in d.get("notes") or [])
    colour = _COLOURS.get(decision, "#57606a")
    return (
        f"<div class='ledger-cmp'>{_STYLE}"
        f"<p><span style='background:{colour};color:white;padding:2px 8px;border-radius:4px'>"
        f"<b>{escape(decision)}</b></span> {escape(str(verdict.get('rule', '')))}</p>"
        f"{_flags(d.get('flags') or [])}<p>{escape(head)}</p>{notes}"
        f"{_table(['metric', 'A', 'B', 'Δ (B − A)', 'CI of Δ'], rows)}{money}"
        f"{_classes(d.get('per_class') or [])}</div>"
    )
