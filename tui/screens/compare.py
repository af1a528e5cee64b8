"""Compare two runs, two groups of repeats or two variants: everything ``ledger compare`` prints.

Flags first (enter on one opens the cases behind it), the verdict and its rule, what changed, the
metrics with their intervals, a per-class and a per-stratum chart of B − A with their tables, the
funnel, cost and time, and the tests. ``v`` projects the flags to a production volume.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from ..messages import ComparisonLoaded, ComparisonRecorded, WorkFailed
from ..views.compare import CLASS_HEADERS, FUNNEL_HEADERS, STRATUM_HEADERS, ComparisonView, Delta
from ..widgets.panels import Panel
from ..widgets.plots import DeltaBars
from .base import LedgerScreen

VERDICT_STYLE = {"PROMOTE": "bold green", "ROLLBACK": "bold red", "REVIEW": "bold yellow"}
SEVERITY_STYLE = {"regression": "bold red", "warning": "yellow"}
CHART_BARS = 12  # classes or strata drawn (flagged first, then the largest)


def chart_data(deltas: tuple[Delta, ...]) -> tuple[list[str], list[float], list[float]]:
    shown = [d for d in deltas if d.precision is not None or d.recall is not None][:CHART_BARS]
    names = [("! " if d.flagged else "") + d.name for d in shown]
    return names, [d.precision or 0.0 for d in shown], [d.recall or 0.0 for d in shown]


class CompareScreen(LedgerScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("enter", "cases", "Cases of flag", show=False),
        Binding("k", "cases", "Cases"),
        Binding("v", "volume", "Volume"),
        Binding("w", "swap", "Swap A/B"),
        Binding("r", "record", "Record"),
    ]

    def __init__(self, a: str, b: str, volume: int | None = None) -> None:
        super().__init__()
        self.a_spec, self.b_spec = a, b
        self.volume = volume
        self.view: ComparisonView | None = None
        self.comparison: Any = None
        self.text = ""
        self.recorded_id: int | None = None

    @property
    def a_ids(self) -> list[int]:
        return list(self.view.a_runs) if self.view else []

    @property
    def b_ids(self) -> list[int]:
        return list(self.view.b_runs) if self.view else []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self._pending_title(), id="compare-title", classes="title")
        yield Input(placeholder="records per period to project the flags to, e.g. 1000000 (enter applies, "
                    "empty: none)", id="volume", restrict=r"[0-9_,]*")
        with VerticalScroll(id="compare"):
            yield Static("", id="verdict")
            yield OptionList(id="flags")
            yield Panel("what changed (A → B)", id="changed")
            yield Panel("metrics (B − A, 95% interval)", id="metrics")
            yield DeltaBars(id="class-chart", classes="delta-chart")
            yield Panel("per class (p: Holm-adjusted)", id="classes")
            yield DeltaBars(id="stratum-chart", classes="delta-chart")
            yield Panel("per stratum (flagged first, then the largest; p: Holm-adjusted)", id="strata")
            yield Panel("funnel, stage by stage", id="funnel")
            yield Panel("cost and time", id="cost-time")
            yield Panel("tests", id="tests")
            yield Static("", id="compare-notes")
        yield Footer(compact=True)

    def _pending_title(self) -> str:
        return f"compare A {self.a_spec} vs B {self.b_spec} · computing…"

    def on_mount(self) -> None:
        self.query_one("#volume", Input).display = False
        self.query_one("#flags", OptionList).focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, name="comparing")
    def load(self) -> None:
        from ledger.compare import CompareOptions, compare_runs
        from ledger.specs import resolve_pair

        from ..views.compare import comparison_view

        specs, volume = (self.a_spec, self.b_spec), self.volume
        with self.ledger_app.open_ledger() as ledger:
            sa, sb = resolve_pair(ledger, *specs)
            comparison = compare_runs(ledger, list(sa.run_ids), list(sb.run_ids), CompareOptions(volume=volume))
            view = comparison_view(comparison, (sa.label, sb.label))
        self.post_message(ComparisonLoaded(view, comparison.render_text(), specs, volume, comparison))

    def on_comparison_loaded(self, message: ComparisonLoaded) -> None:
        if message.specs != (self.a_spec, self.b_spec) or message.volume != self.volume:
            return  # a result for the sides before a swap, or another volume
        v = self.view = message.view
        self.comparison = message.record
        self.text = message.text
        volume = f" · flags projected to {v.volume:,} records" if v.volume else ""
        self.query_one("#compare-title", Static).update(Text(f"compare {v.title} · {v.pairing}{volume}", style="bold"))
        self.query_one("#verdict", Static).update(Text.assemble(
            ("VERDICT ", "bold"), (v.verdict, VERDICT_STYLE.get(v.verdict, "bold")), " — ", v.rule))
        self.show_flags(v)
        self.query_one("#changed", Panel).show_rows(["", "A", "B"], v.changed,
                                                    empty="nothing changed in params, prompts, code or dataset")
        self.query_one("#metrics", Panel).show_rows(["metric", "A", "B", "B − A", "95% interval"], v.metrics,
                                                    right=[1, 2, 3])
        self.show_chart("#class-chart", v.class_deltas, "per class: B − A of precision (teal) and recall (orange); ! flagged")
        self.query_one("#classes", Panel).show_rows(CLASS_HEADERS, v.classes, right=range(1, 11),
                                                    empty="no per-class outcomes")
        self.show_chart("#stratum-chart", v.stratum_deltas,
                        f"per stratum: B − A of {v.positive_label or 'the headline'} precision (teal) and recall (orange); ! flagged")
        self.query_one("#strata", Panel).show_rows(STRATUM_HEADERS, v.strata, right=range(1, 10),
                                                   empty="the records carry no stratum")
        self.query_one("#funnel", Panel).show_rows(FUNNEL_HEADERS, v.funnel, right=range(1, 5),
                                                   empty="no per-stage record columns")
        self.query_one("#cost-time", Panel).show_rows(["", "A", "B", "B − A"], v.cost_time, right=[1, 2, 3])
        self.query_one("#tests", Panel).show_rows(["test", "on", "statistic", "df", "p", "effect"], v.tests,
                                                  right=[2, 3, 4], empty="no tests applied")
        self.query_one("#compare-notes", Static).update("\n".join(f"note: {n}" for n in v.notes))

    def show_flags(self, v: ComparisonView) -> None:
        flags = self.query_one("#flags", OptionList)
        flags.clear_options()
        regressions = sum(1 for f in v.flags if f.severity == "regression")
        flags.border_title = (f"flags: {regressions} regression(s), {len(v.flags) - regressions} warning(s)"
                              " · enter: the cases behind one" if v.flags else "flags: none")
        if v.context:
            flags.add_option(Option(Text(f"hidden by the aggregate: {v.context}", style="dim"), disabled=True))
        for i, f in enumerate(v.flags):
            flags.add_option(Option(Text.assemble((f"{f.severity:<10} ", SEVERITY_STYLE.get(f.severity, "")), f.text),
                                    id=str(i)))
        if not v.flags:
            flags.add_option(Option(Text("no class, stratum or headline regression beyond the thresholds",
                                         style="dim"), disabled=True))
        flags.highlighted = next((i for i, o in enumerate(flags.options) if not o.disabled), None)

    def show_chart(self, selector: str, deltas: tuple[Delta, ...], title: str) -> None:
        chart = self.query_one(selector, DeltaBars)
        names, precision, recall = chart_data(deltas)
        chart.display = bool(names)
        chart.styles.height = max(8, 2 * len(names) + 5)
        if names:
            chart.show(names, precision, recall, title)

    def show_error(self, message: WorkFailed) -> None:
        self.query_one("#compare-title", Static).update(Text(message.error, style="bold red"))

    # ---- actions ------------------------------------------------------------------------

    def selected_flag(self) -> int | None:
        flags = self.query_one("#flags", OptionList)
        if flags.highlighted is None:
            return None
        option = flags.get_option_at_index(flags.highlighted)
        return int(option.id) if option.id is not None else None

    @on(OptionList.OptionSelected, "#flags")
    def flag_selected(self) -> None:
        self.action_cases()

    def action_cases(self) -> None:
        """The cases behind the highlighted flag (every lost case when there is none)."""
        if self.view is None:
            return
        from ledger.cases import CaseFilter

        from .cases import CasesScreen

        index = self.selected_flag()
        if index is not None:
            flag = self.view.flags[index]
            self.app.push_screen(CasesScreen(self.a_spec, self.b_spec, flag.cases, flag.text))
        else:
            self.app.push_screen(CasesScreen(self.a_spec, self.b_spec, CaseFilter("lost"), "records B lost"))

    def action_volume(self) -> None:
        box = self.query_one("#volume", Input)
        box.display = True
        self.set_focus(box)

    @on(Input.Submitted, "#volume")
    def volume_set(self, event: Input.Submitted) -> None:
        text = event.value.replace(",", "").replace("_", "")
        self.volume = int(text) if text and int(text) > 0 else None
        event.input.display = False
        self.query_one("#flags", OptionList).focus()
        self.query_one("#compare-title", Static).update(self._pending_title())
        self.load()

    def action_back(self) -> None:
        box = self.query_one("#volume", Input)
        if box.display:
            box.display = False
            self.query_one("#flags", OptionList).focus()
            return
        self.app.pop_screen()

    def action_record(self) -> None:
        if self.comparison is None:
            self.notify("the comparison is still being computed", severity="warning")
            return
        self.record(self.comparison)

    @work(thread=True, exclusive=True, group="record", exit_on_error=False, name="recording the comparison")
    def record(self, comparison: Any) -> None:
        from ledger.compare import record_comparison

        with self.ledger_app.open_ledger() as ledger:
            analysis_id = record_comparison(ledger, comparison).id
        self.post_message(ComparisonRecorded(analysis_id))

    def on_comparison_recorded(self, message: ComparisonRecorded) -> None:
        self.recorded_id = message.analysis_id
        self.notify(f"comparison recorded as analysis {message.analysis_id}")

    def action_swap(self) -> None:
        self.a_spec, self.b_spec = self.b_spec, self.a_spec
        self.comparison = None
        self.query_one("#compare-title", Static).update(self._pending_title())
        self.load()
