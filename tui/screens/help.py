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
  type        filter (words; status:failed, exp:NAME, id:>100)   / focuses the filter
  esc         clear the filter          up/down/pgup/pgdn  move
  enter       run detail                o / O  sort by next column / reverse
  space       mark for group A          b      mark for group B
  c           compare: A vs B; two marks: older vs newer; one mark vs cursor;
              no mark: cursor vs its parent
  x           clear marks               s      threshold sweep of the cursor run
  l           launch a run              d      record a decision for the cursor run
  e           export (marked runs, or the whole ledger)
  t           quality / cost / time across the shown runs
  !           rows marked ! carry a compare flag or trip a reversal trigger

  g / G       first / last run

[b]Detail[/b]   s sweep this run, d record a decision about it
[b]Compare[/b]  flags first, then the verdict, metrics (B − A) with 95% CIs, Welch and paired tests;
          w swaps A and B, r records the comparison (its flags mark run B with !)
[b]Sweep[/b]    left/right move the threshold (shift: ×10), home/end, a the recommended one,
          ] next score, set the costs of a false positive / negative (enter applies),
          r records the sweep
[b]Launch[/b]   choose a config, write the hypothesis, sample size, repeats, provider; ctrl+s starts;
          Cancel (or esc while running) stops it and the run is recorded as cancelled
[b]Decide[/b]   why + a reversal trigger such as  recall < 0.80  or  f1 < 0.5 or cost_per_record > 0.001;
          ctrl+s records; tripped triggers are listed and marked ! in the table
[b]Export[/b]   html, xlsx, csv, md, json or parquet, of the marked runs or the whole ledger
[b]Everywhere[/b]  esc goes back, ? this help, q quits (outside text fields)
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(HELP, id="help-text")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()
