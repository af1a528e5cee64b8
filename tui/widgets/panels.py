"""Metric panels: small titled tables rendered from plain rows."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.widgets import Static


def rows_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, title: str | None = None,
               right: Sequence[int] = (), styles: Sequence[str | None] | None = None) -> Table:
    """A compact Rich table; columns whose index is in ``right`` are right-aligned."""
    table = Table(title=title, title_justify="left", title_style="bold", box=None, pad_edge=False,
                  show_header=bool(headers), header_style="bold dim", expand=False)
    for i, header in enumerate(headers or [""] * (len(rows[0]) if rows else 0)):
        table.add_column(header, justify="right" if i in right else "left", overflow="fold")
    for j, row in enumerate(rows):
        style = styles[j] if styles is not None else None
        table.add_row(*(Text(str(c)) for c in row), style=style)
    return table


class Panel(Static):
    """A titled section (the title sits in the border)."""

    DEFAULT_CSS = """
    Panel { border: round $primary-darken-2; padding: 0 1; height: auto; }
    """

    def __init__(self, title: str, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.border_title = title

    def show_rows(self, headers: Sequence[str], rows: Sequence[Sequence[object]], *,
                  right: Sequence[int] = (), empty: str = "-",
                  styles: Sequence[str | None] | None = None) -> None:
        if not rows:
            self.update(Text(empty, style="dim"))
        else:
            self.update(rows_table(headers, rows, right=right, styles=styles))
