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

[b]Sweep[/b]   left/right move the threshold (shift: x10), home/end, r records the sweep,
            [ and ] change the score
[b]Launch[/b]  ctrl+s starts, ctrl+c... no: press Cancel (or esc) to cancel a running launch
[b]Everywhere[/b]  esc goes back, ? this help, q quits (outside text fields)
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(HELP, id="help-text")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()
