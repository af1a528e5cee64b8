"""A scrolling form: Tab and Enter go from field to field, the form itself is never a Tab stop.

Enter is a priority binding here, so the move to the next field happens as the key is read: text
typed (or pasted) right after Enter lands in the next field, not in the one just left. A field named
in ``submit`` keeps Enter for itself (its ``Input.Submitted`` acts), as does anything that is not a
text field (a Select opens, a Button presses).
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Input


class Form(VerticalScroll, can_focus=False):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "next_field", show=False, priority=True)]

    def __init__(self, *children: Any, submit: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*children, **kwargs)
        self.submit = submit

    def action_next_field(self) -> None:
        screen = self.screen
        focused = screen.focused
        if not isinstance(focused, Input) or focused.id in self.submit:
            raise SkipAction()
        chain = screen.focus_chain
        later = chain[chain.index(focused) + 1:] if focused in chain else []
        if not later:
            raise SkipAction()
        screen.set_focus(later[0])
