"""Pick the column to sort by with one key (quality best first, cost and time cheapest first)."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..views.runs import SORT_KEYS, SortKey


class SortScreen(ModalScreen[SortKey | None]):
    """Dismisses with the chosen :class:`SortKey` (or None on escape)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Close")]

    def compose(self) -> ComposeResult:
        lines = ["[b]sort by[/b]  (press the key; O reverses afterwards)", ""]
        lines += [f"  [b]{k.letter}[/b]  {k.label}" for k in SORT_KEYS]
        with VerticalScroll(id="sort-box"):
            yield Static("\n".join(lines))

    def on_key(self, event: events.Key) -> None:
        chosen = next((k for k in SORT_KEYS if k.letter == event.character), None)
        if chosen is not None:
            event.stop()
            self.dismiss(chosen)

    def action_cancel(self) -> None:
        self.dismiss(None)
