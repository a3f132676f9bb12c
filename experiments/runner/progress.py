"""One progress bar for every command (rich), refreshed by hand instead of by rich's refresh thread.

Why by hand: with no second thread in the process, a process pool can fork its workers (they start
at once, with every module already imported) instead of going through a fork server, which costs
the import of the model (about a second) per command. See ``executors._start_method``.
"""

from __future__ import annotations

import time
from typing import Any, Callable

REFRESH_SECONDS = 0.2


class ProgressBar:
    """``with ProgressBar(enabled, total, description, unit) as advance: advance(n, **fields)``.

    ``unit``: the bar counts "tasks", "sims", ... (shown as done/total) or, with ``percent=True``, a
    percentage. ``rate_of``: a field counted per second and shown (e.g. runs/s). Disabled, ``advance``
    does nothing."""

    def __init__(self, enabled: bool, total: int, description: str, unit: str = "", percent: bool = False,
                 rate_of: str | None = None):
        self.enabled, self.total, self.description = enabled, total, description
        self.unit, self.percent, self.rate_of = unit, percent, rate_of

    def __enter__(self) -> Callable[..., None]:
        if not self.enabled:
            return lambda n=1, **fields: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        columns: list[Any] = [TextColumn("[bold]{task.description}"), BarColumn()]
        columns += [TextColumn("{task.percentage:>3.0f}%")] if self.percent else [MofNCompleteColumn(), TextColumn(self.unit)]
        if self.rate_of:
            columns.append(TextColumn(f"{{task.fields[rate]:>9.0f}} {self.rate_of}/s"))
        columns += [TextColumn("ETA"), TimeRemainingColumn()]
        self._bar = Progress(*columns, transient=True, auto_refresh=False)
        self._bar.__enter__()
        task = self._bar.add_task(self.description, total=self.total, rate=0.0)
        t0, counted, shown = time.perf_counter(), [0.0], [0.0]

        def advance(n: int = 1, **fields: Any) -> None:
            now = time.perf_counter()
            if self.rate_of:
                counted[0] += fields.pop(self.rate_of, 0)
                fields["rate"] = counted[0] / max(now - t0, 1e-9)
            self._bar.update(task, advance=n, **fields)
            if now - shown[0] > REFRESH_SECONDS:
                self._bar.refresh()
                shown[0] = now

        return advance

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self._bar.refresh()
            self._bar.__exit__(*exc)
