"""The runs table: a DataTable with fixed column widths, keyed by run id."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from ..views.runs import Column, RunRow, columns_for, mark_cell, row_cells


class RunsTable(DataTable[str | Text]):
    """Shows :class:`RunRow` values. Rows are keyed by ``str(run id)``.

    Columns have fixed widths (chosen for the terminal's width by
    :func:`~tui.views.runs.columns_for`) so that adding rows never measures a cell, and the table
    holds a window of at most PAGE rows of the view, which slides when the cursor reaches either
    end: a 10,000-run ledger opens as fast as a 1,000-run one.
    """

    PAGE = 1000

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.view: list[RunRow] = []  # every row of the filtered, sorted view
        self.shown: list[int] = []  # ids of the rows in the table: view[window_start:window_end]
        self.window_start = 0
        self.marks: Mapping[int, str] = {}
        self.alerts: Mapping[int, str] = {}
        self.layout_columns: tuple[Column, ...] = ()
        self.all_rows: Sequence[RunRow] = ()  # every run (columns depend on them, not on a filter)
        self._sliding = False

    def relayout(self, width: int | None = None) -> bool:
        """Choose the columns for the current width; True when they changed (the caller refills)."""
        width = width if width is not None else (self.size.width or self.app.size.width)
        columns = columns_for(width, self.all_rows)
        if columns == self.layout_columns:
            return False
        self.layout_columns = columns
        super().clear(columns=True)
        self.shown = []
        for column in columns:
            label = column.label.rjust(column.width) if column.numeric else column.label
            self.add_column(label, width=column.width, key=column.key)
        return True

    def on_resize(self) -> None:
        if self.relayout() and self.view:
            self._fill(self._view_index_of_cursor())

    def _view_index_of_cursor(self) -> int:
        cursor = self.cursor_id
        ids = [r.id for r in self.view]
        return ids.index(cursor) if cursor in ids else len(ids) - 1

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Skip DataTable's measuring of every new cell: our columns have fixed widths and our rows
        a height of 1, so only the virtual size changes (10,000 rows: ~3 s of measuring saved)."""
        if any(c.auto_width for c in self.columns.values()) or self._labelled_row_exists:
            super()._update_dimensions(new_rows)
            return
        width = sum(c.get_render_width(self) for c in self.columns.values()) + self._row_label_column_width
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(width, self._total_row_height + header)

    def _cells(self, row: RunRow, marks: Mapping[int, str], alerts: Mapping[int, str]) -> list[str | Text]:
        cells: list[str | Text] = []
        for column, value in zip(self.layout_columns, row_cells(row, self.layout_columns, marks, alerts), strict=True):
            if column.numeric:
                cells.append(value.rjust(column.width))
            elif column.key == "mark":
                cells.append(self._mark_text(value))
            elif column.key in ("status", "hypothesis") and row.status != "ok" and value.startswith(row.status[:6]):
                cells.append(Text(value, style="bold red" if row.status == "failed" else "yellow"))
            else:
                cells.append(Text(value))
        return cells

    def show(self, rows: Sequence[RunRow], marks: Mapping[int, str], alerts: Mapping[int, str],
             keep_id: int | None = None) -> None:
        """Show ``rows`` (the whole filtered, sorted view); the cursor goes on ``keep_id`` if it is
        among them, else on the last row. Only a window of PAGE rows around it is in the table."""
        self.view = list(rows)
        self.marks, self.alerts = marks, alerts
        self.relayout()
        ids = [r.id for r in self.view]
        target = ids.index(keep_id) if keep_id is not None and keep_id in ids else len(ids) - 1
        self._fill(target)

    def _fill(self, target: int) -> None:
        """Rebuild the table with the window of the view that holds view index ``target``."""
        n = len(self.view)
        start = min(max(target - self.PAGE // 2, 0), max(n - self.PAGE, 0))
        self.window_start = start
        self._sliding = True
        try:
            self.clear()
            self._add_many([(str(r.id), self._cells(r, self.marks, self.alerts))
                            for r in self.view[start:start + self.PAGE]])
            self.shown = [r.id for r in self.view[start:start + self.PAGE]]
            if self.shown:
                self.move_cursor(row=target - start, scroll=True)
        finally:
            self._sliding = False

    @property
    def window_end(self) -> int:
        return self.window_start + len(self.shown)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Slide the window when the cursor reaches its first or last row."""
        if self._sliding or not self.shown:
            return
        row = event.cursor_row
        if row != self.cursor_row:  # a stale event from before the last rebuild
            return
        if row == 0 and self.window_start > 0:
            self.call_later(self._fill, self.window_start)
        elif row == len(self.shown) - 1 and self.window_end < len(self.view):
            self.call_later(self._fill, self.window_end - 1)

    def append(self, rows: Sequence[RunRow], marks: Mapping[int, str], alerts: Mapping[int, str]) -> None:
        """Add rows at the end of the view (rows appended to the ledger, with the table in id
        order); the cursor follows when it was on the last row."""
        self.marks, self.alerts = marks, alerts
        was_last = not self.shown or (self.cursor_row >= len(self.shown) - 1 and self.window_end == len(self.view))
        at_end = self.window_end == len(self.view)
        keep = self._view_index_of_cursor()
        self.view.extend(rows)
        if self.relayout():  # e.g. a second experiment, or ids one digit longer
            self._fill(len(self.view) - 1 if was_last else keep)
            return
        if at_end:
            self._add_many([(str(row.id), self._cells(row, marks, alerts)) for row in rows])
            self.shown.extend(row.id for row in rows)
        if was_last and rows:
            if at_end:
                self.move_cursor(row=len(self.shown) - 1, scroll=True)
            else:
                self._fill(len(self.view) - 1)

    def jump(self, view_index: int) -> None:
        """Put the cursor on the row at ``view_index`` of the whole view (loading its window)."""
        if not self.view:
            return
        view_index %= len(self.view)
        if self.window_start <= view_index < self.window_end:
            self.move_cursor(row=view_index - self.window_start, scroll=True)
        else:
            self._fill(view_index)

    def _add_many(self, keyed: list[tuple[str, list[str | Text]]]) -> None:
        """``add_row`` for many rows at once.

        DataTable.add_row re-validates the cursor and re-sorts the columns once per row (about
        1 s for 10,000 rows); this does the same bookkeeping once for the whole batch. It relies on
        DataTable's internals, so it falls back to add_row if they ever change.
        """
        try:
            data, locations, rows_meta, new_rows = self._data, self._row_locations, self.rows, self._new_rows
            column_keys = [c.key for c in self.ordered_columns]
            row_class: Any = type(next(iter(rows_meta.values()))) if rows_meta else None
        except AttributeError:  # pragma: no cover - a Textual without these internals
            for key, cells in keyed:
                self.add_row(*cells, key=key, height=1)
            return
        if row_class is None:
            from textual.widgets._data_table import Row as row_class
        was_empty = self.row_count == 0
        index = len(rows_meta)
        for key, cells in keyed:
            row_key = RowKey(key)
            if row_key in locations:
                raise ValueError(f"run {key} is already in the table")
            locations[row_key] = index
            data[row_key] = dict(zip(column_keys, cells, strict=True))
            rows_meta[row_key] = row_class(row_key, 1, None, False)
            new_rows.add(row_key)
            index += 1
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if was_empty and keyed and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self._update_count += 1
        self.check_idle()

    def clear(self, columns: bool = False) -> RunsTable:
        super().clear(columns)
        self.shown = []
        return self

    def refresh_mark(self, run_id: int, marks: Mapping[int, str], alerts: Mapping[int, str]) -> None:
        if str(run_id) in self.rows:
            self.update_cell(str(run_id), "mark", self._mark_text(mark_cell(run_id, marks, alerts)))

    @staticmethod
    def _mark_text(value: str) -> Text:
        """The group letter in yellow, the alert in red: both visible at once."""
        return Text.assemble((value[0], "bold yellow"), (value[1], "bold red"))

    @property
    def cursor_id(self) -> int | None:
        if not self.row_count or not 0 <= self.cursor_row < len(self.shown):
            return None
        return self.shown[self.cursor_row]
