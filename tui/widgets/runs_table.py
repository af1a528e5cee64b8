"""The runs table: a DataTable with fixed column widths, keyed by run id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.widgets import DataTable

from ..data import COLUMNS, RunRow, mark_cell, row_cells


class RunsTable(DataTable[str | Text]):
    """Shows :class:`RunRow` values. Rows are keyed by ``str(run id)``.

    Columns have fixed widths so that adding 10,000 rows never measures a cell.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.shown: list[int] = []

    def on_mount(self) -> None:
        for column in COLUMNS:
            label = column.label.rjust(column.width) if column.numeric else column.label
            self.add_column(label, width=column.width, key=column.key)

    def _cells(self, row: RunRow, marks: Mapping[int, str], alerts: Mapping[int, str]) -> list[str | Text]:
        cells: list[str | Text] = []
        for column, value in zip(COLUMNS, row_cells(row, marks, alerts), strict=True):
            if column.numeric:
                cells.append(value.rjust(column.width))
            elif column.key == "mark" and value:
                cells.append(self._mark_text(row.id, value, alerts))
            elif column.key == "status" and row.status != "ok":
                cells.append(Text(value, style="bold red" if row.status == "failed" else "yellow"))
            else:
                cells.append(Text(value))
        return cells

    def show(self, rows: Sequence[RunRow], marks: Mapping[int, str], alerts: Mapping[int, str],
             keep_id: int | None = None) -> None:
        """Replace the rows; put the cursor on ``keep_id`` if shown, else on the last row."""
        self.clear()
        self.append(rows, marks, alerts, follow=False)
        if keep_id is not None and keep_id in self._index_of():
            self.move_cursor(row=self._index_of()[keep_id], scroll=True)
        elif self.row_count:
            self.move_cursor(row=self.row_count - 1, scroll=True)

    def append(self, rows: Sequence[RunRow], marks: Mapping[int, str], alerts: Mapping[int, str],
               follow: bool = True) -> None:
        """Add rows at the bottom; with ``follow`` the cursor moves to the newest row when it was on
        the last one."""
        was_last = self.row_count == 0 or self.cursor_row >= self.row_count - 1
        for row in rows:
            self.add_row(*self._cells(row, marks, alerts), key=str(row.id), height=1)
            self.shown.append(row.id)
        if follow and was_last and rows:
            self.move_cursor(row=self.row_count - 1, scroll=True)

    def clear(self, columns: bool = False) -> RunsTable:
        super().clear(columns)
        self.shown = []
        return self

    def _index_of(self) -> dict[int, int]:
        return {run_id: i for i, run_id in enumerate(self.shown)}

    def refresh_mark(self, run_id: int, marks: Mapping[int, str], alerts: Mapping[int, str]) -> None:
        if str(run_id) in self.rows:
            value = mark_cell(run_id, marks, alerts)
            self.update_cell(str(run_id), "mark", self._mark_text(run_id, value, alerts))

    @staticmethod
    def _mark_text(run_id: int, value: str, alerts: Mapping[int, str]) -> Text:
        """Marked rows show their group letter; red when the row also carries an alert."""
        return Text(value, style="bold red" if run_id in alerts else "bold yellow")

    @property
    def cursor_id(self) -> int | None:
        if not self.row_count or not 0 <= self.cursor_row < len(self.shown):
            return None
        return self.shown[self.cursor_row]
