"""Block-by-block Parquet output: each block's tables become row groups of files kept open, so a
run's or a sweep task's peak memory is one block's worth whatever its number of replicates.

Files are written under temporary names in the target folder and renamed into place when the
writer closes without error (atomic per file); a failed run leaves earlier files untouched.
Tables are built from the model's numpy columns straight into Arrow (no per-row Python objects).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Collection, Iterator, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from model.outputs import DTYPES

ROWS_PER_CHUNK = 1_000_000  # rows per Parquet row group: bounds the memory of converting one piece
# Parquet options: zstd at level 1 is faster to write and smaller than the default snappy here, and
# dictionary pages only for columns with few distinct values (not for the continuous pressures)
DICTIONARY_COLUMNS = frozenset({"scenario", "group", "point", "day", "date", "escalation_level", "max_escalation_level",
                                "war", "suspended", "groups_suspended", "withdrawal_demanded", "attacks", "killed"})
PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 1}


def arrow_table(columns: dict[str, Any], constants: dict[str, Any] | None = None, dtypes: dict[str, np.dtype] | None = None) -> pa.Table:
    """An Arrow table from numpy columns (categoricals become strings, constants fill leading columns); numeric
    columns named in ``dtypes`` are written with that dtype (the declared one, model/outputs.py)."""
    dtypes = dtypes or {}
    n = len(next(iter(columns.values())))
    arrays: dict[str, pa.Array] = {}
    for name, value in (constants or {}).items():
        if isinstance(value, str):  # one dictionary entry repeated: no string per row is built in Python
            arrays[name] = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int8)), pa.array([value])).cast(pa.string())
        else:
            arrays[name] = pa.array(np.full(n, value))
    for name, value in columns.items():
        if isinstance(value, pd.Categorical):
            arrays[name] = pa.DictionaryArray.from_arrays(pa.array(value.codes), pa.array(list(value.categories))).cast(pa.string())
        else:
            if name in dtypes and dtypes[name].kind in "biuf":
                value = np.asarray(value, dtype=dtypes[name])
            arrays[name] = pa.array(value, from_pandas=True)  # NaT and NaN become nulls, as pandas writes them
    return pa.table(arrays)


def model_tables(model, constants: dict[str, Any], kinds: tuple[str, ...] = ("daily", "summary", "groups"),
                 rows: int = ROWS_PER_CHUNK, columns: Collection[str] | Mapping[str, Collection[str]] | None = None,
                 ) -> Iterator[tuple[str, pa.Table]]:
    """(table name, Arrow table) pieces of one stepped model: daily and groups cut into runs of days of
    at most ``rows`` rows, summary whole. ``columns``: only these of each table's columns are converted
    (None: all; a mapping: per table, a table it does not name whole), so a caller that reads a few
    (calibration statistics, a comparison's daily curves) does not pay for the rest."""
    per_day = {"daily": model.R, "groups": model.R * len(model.militias)}

    def keep(data: dict[str, Any], kind: str) -> dict[str, Any]:
        wanted = columns.get(kind) if isinstance(columns, Mapping) else columns
        return data if wanted is None else {c: v for c, v in data.items() if c in wanted}

    for kind in kinds:
        if kind == "summary":
            yield kind, arrow_table(keep({c: v.to_numpy() for c, v in model.summary_frame().items()}, kind), constants, DTYPES[kind])
            continue
        build = model.daily_columns if kind == "daily" else model.group_columns
        step = max(1, rows // per_day[kind])
        for t0 in range(0, model.day, step):
            yield kind, arrow_table(keep(build(slice(t0, t0 + step)), kind), constants, DTYPES[kind])


class TableWriter:
    """Parquet files in ``folder``, appended to one table piece at a time.

    ``with TableWriter(folder) as w: w.write("daily", table)`` writes ``folder/daily.parquet``; the
    files appear (atomically renamed) only when the block exits without an error.
    """

    def __init__(self, folder: str | Path, suffix: str = ".parquet"):
        self.folder, self.suffix = Path(folder), suffix
        self._writers: dict[str, tuple[pq.ParquetWriter, str]] = {}
        self.rows: dict[str, int] = {}

    def path(self, name: str) -> Path:
        return self.folder / f"{name}{self.suffix}"

    def write(self, name: str, table: pa.Table) -> None:
        if name not in self._writers:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{self.path(name).name}.", suffix=".tmp")
            os.close(fd)
            dictionary = [c for c in table.schema.names if c in DICTIONARY_COLUMNS]
            self._writers[name] = (pq.ParquetWriter(tmp, table.schema, use_dictionary=dictionary, **PARQUET_OPTIONS), tmp)
            self.rows[name] = 0
        writer, _ = self._writers[name]
        if table.schema != writer.schema:  # e.g. a column that is all null in one block
            table = table.cast(writer.schema)
        writer.write_table(table, row_group_size=ROWS_PER_CHUNK)
        self.rows[name] += table.num_rows

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        for name, (writer, tmp) in self._writers.items():
            writer.close()
            if exc_type is None:
                os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
                os.replace(tmp, self.path(name))
            else:
                Path(tmp).unlink(missing_ok=True)
        self._writers.clear()
