"""The help screen: every key, by screen."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]Runs[/b] (the main table)
  type       filter: words, or status:failed  exp:NAME  id:>100
  /          focus the filter;  esc clears it
  enter      run detail
  o / O      sort by the next column / reverse the sort
  g / G      first / last run
  space      mark for group A (again: unmark);  b  mark for group B
  c          compare: A vs B; two marks: older vs newer;
             one mark vs the cursor; no mark: cursor vs its parent
  x          clear the marks
  s          threshold sweep of the cursor run
  l          launch a run
  d          record a decision about the cursor run
  e          export the marked runs, or the whole ledger
  t          quality, cost and time across the shown runs
  !          the row carries a compare flag or trips a reversal trigger

[b]Detail[/b]    s sweep this run, d record a decision about it
[b]Compare[/b]   flags first, then the verdict, metrics (B − A) with CIs,
          Welch and paired tests; w swaps A/B; r records the comparison
[b]Sweep[/b]     left/right move the threshold (shift: ×10), home/end,
          a the recommended one, ] next score; set the costs of a false
          positive / negative (enter applies); r records the sweep
[b]Launch[/b]    config, hypothesis, sample, repeats, provider; ctrl+s starts;
          Cancel (or esc while running) stops it: recorded as cancelled
[b]Decide[/b]    why + a trigger such as  recall < 0.80  or
          f1 < 0.5 or cost_per_record > 0.001;  ctrl+s records
[b]Export[/b]    html, xlsx, csv, md, json or parquet
[b]Anywhere[/b]  esc goes back, ? this help, q quits (outside text fields)
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(HELP, id="help-text")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()
