"""The variants table: one row per variant, over its successful repeats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.widgets import DataTable

from ..views.runs import VARIANT_HEADERS, VariantRow, variant_cells

RIGHT = {2, 3, 4, 5, 6, 7}


class VariantsTable(DataTable[str | Text]):
    """Shows :class:`VariantRow` values, keyed by the variant's key (``v3``)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.variant_rows: list[VariantRow] = []

    def show(self, rows: Sequence[VariantRow], marks: Mapping[str, str], keep: str | None = None) -> None:
        self.variant_rows = list(rows)
        self.clear(columns=True)
        for header in VARIANT_HEADERS:
            self.add_column(header, key=header or "mark")
        width = self.size.width or self.app.size.width
        for row in rows:
            cells = variant_cells(row, marks, width)
            self.add_row(*(Text(c, style="bold yellow") if i == 0 else
                           Text(c, justify="right" if i in RIGHT else "left") for i, c in enumerate(cells)),
                         key=row.key)
        keys = [r.key for r in rows]
        if rows:
            self.move_cursor(row=keys.index(keep) if keep in keys else len(rows) - 1)

    @property
    def cursor_variant(self) -> VariantRow | None:
        if not self.variant_rows or not 0 <= self.cursor_row < len(self.variant_rows):
            return None
        return self.variant_rows[self.cursor_row]
