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
  /          filter: words, or status:failed  exp:NAME  var:v3  id:>100
             (typed and pasted text goes to the filter, never to a command);
             esc leaves the filter; esc on the table clears it
  enter      run detail (on a variant: its runs)
  o          sort: one more key picks the column (f: best F1 first);  O reverses
  g / G      first / last row
  v          variants: one row per variant, over its repeats (v again: runs)
  space      mark for group A (again: unmark);  b  mark for group B
  c          compare: A vs B; two marks: older vs newer; one mark vs the cursor;
             no mark: the cursor against its parent (a variant: against the
             variant it was derived from)
  x          clear the marks
  s          threshold sweep of the cursor run
  l          launch a run (the cursor run's config)
  d          record a decision about the cursor run's variant
  e          export the marked runs, or the whole ledger
  t          quality, cost and time by variant, with the spread of repeats
  A / !      first column: the compare group, then ! for an alert (a
             regression flag or a tripped trigger: the reason is in the
             status line on that row, and in its detail)

[b]Detail[/b]    s sweep this run, d record a decision about its variant
[b]Compare[/b]   flags (enter: the cases behind one; k: every lost case), the
          verdict, what changed, metrics (B − A) with intervals, per-class
          and per-stratum charts and tables, funnel, cost and time, tests;
          v projects the flags to a volume; w swaps A/B; r records it
[b]Sweep[/b]     left/right move the threshold (shift: ×10), home/end, a the
          recommended one, u the run's own, ] next score; costs apply as
          you type; r records the sweep
[b]Launch[/b]    config, hypothesis, sample, repeats, provider; tab/enter: next
          field; ctrl+s starts; esc while running cancels (recorded as
          cancelled); when done, c compares with its parent
[b]Decide[/b]    why + a trigger such as  recall < 0.80  or
          f1 < 0.5 or cost_per_record > 0.001;  ctrl+s records
[b]Export[/b]    html, xlsx, csv, md, json or parquet; never replaces a file
          unless "replace" is ticked
[b]Anywhere[/b]  esc goes back, ? this help, q quits (outside text fields)
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(HELP, id="help-text")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()
