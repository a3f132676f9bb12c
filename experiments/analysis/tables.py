"""Console tables that fold long names onto more lines instead of cutting them ("histor…") and never
break a number: at any terminal width, piped or not. Every table the commands print is made here.

Numbers sit in right-aligned columns that never wrap and keep their full width; the name columns
share what is left of the line and fold (:class:`FoldingTable` sets the widths when it is drawn).
"""

from __future__ import annotations

from typing import Any, Iterable

from rich import box
from rich.table import Table

GAP = 2  # characters between columns (a blank rule and one space of padding)
MIN_NAME = 6  # a name column is never narrower than this


class FoldingTable(Table):
    """A rich Table that, when drawn, gives every number column its widest cell and lets the name
    columns fold into the rest of the line. Columns marked ``whole`` (short names such as policies)
    also keep their width while the line has room for them."""

    def __init__(self, *args: Any, whole: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.whole = set(whole)

    def _natural(self, column: Any) -> int:
        cells = [str(c) for c in column._cells]
        return max([len(line) for c in [*cells, str(column.header)] for line in c.split("\n")] or [1])

    def fit(self, max_width: int) -> None:
        cols = self.columns
        natural = [self._natural(c) for c in cols]
        room = max_width - GAP * (len(cols) - 1)
        for keep_whole in (True, False):
            fixed = {i for i, c in enumerate(cols) if c.no_wrap or (keep_whole and c.header in self.whole)}
            left = room - sum(natural[i] for i in fixed)
            folding = [i for i in range(len(cols)) if i not in fixed]
            if left >= 2 * MIN_NAME * len(folding) or not keep_whole:
                break
        widths = {i: natural[i] for i in fixed}
        # water-filling: narrow name columns take their natural width, the rest share what is left equally
        remaining = left
        order = sorted(folding, key=lambda i: natural[i])
        for k, i in enumerate(order):
            floor = min(natural[i], max(MIN_NAME, len(str(cols[i].header))))
            widths[i] = max(floor, min(natural[i], remaining // (len(order) - k)))
            remaining -= widths[i]
        for i, c in enumerate(cols):
            c.width = widths[i]

    def __rich_console__(self, console: Any, options: Any) -> Any:
        self.fit(options.max_width)
        needed = sum(c.width for c in self.columns) + GAP * (len(self.columns) - 1)
        if needed <= options.max_width:
            yield from super().__rich_console__(console, options)
            return
        # too narrow for the numbers side by side: one record per row ("column: value" lines), nothing cut
        yield from self.records(console, options)

    def records(self, console: Any, options: Any) -> Any:
        from rich.text import Text

        if self.title:
            yield Text(str(self.title), overflow="fold")
        names = [str(c.header) for c in self.columns]
        rows = len(self.columns[0]._cells) if self.columns else 0
        for i in range(rows):
            grid = Table.grid(padding=(0, 1))
            grid.add_column(no_wrap=True)
            grid.add_column(overflow="fold")
            for name, col in zip(names, self.columns):
                value = str(col._cells[i])
                if value.strip():
                    grid.add_row(f"{name}:", value)
            yield grid
            yield Text("")


def console_table(title: str, columns: Iterable[str], right: Iterable[str] = (), whole: Iterable[str] = (), **kwargs) -> Table:
    """A table whose name columns fold (never ellipsize) and whose ``right`` (number) columns never wrap:
    a number is printed whole on one line. ``whole`` names left-aligned columns of short names that should
    not fold either while there is room (e.g. policy names), so the long ones (outcome labels) fold instead."""
    right = set(right)
    kwargs.setdefault("box", box.SIMPLE_HEAD)  # no vertical rules
    kwargs.setdefault("padding", (0, 0, 0, 1))
    kwargs.setdefault("pad_edge", False)
    kwargs.setdefault("show_edge", False)
    table = FoldingTable(title=title, title_justify="left", whole=whole, **kwargs)
    for name in columns:
        if name in right:
            table.add_column(name, justify="right", no_wrap=True)
        else:
            table.add_column(name, justify="left", overflow="fold")
    return table
