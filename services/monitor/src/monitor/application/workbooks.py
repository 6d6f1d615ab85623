"""The monitor's typed tables as files for spreadsheets (XLSX) and data tools (Parquet).

Built in memory from `monitor.domain.tables.Table` (figures already rounded by the one rule of
`monitor.domain.rounding`), through maintained libraries: openpyxl for XLSX, pyarrow for Parquet.
A workbook gets a sheet per table and an ``about`` sheet that states the cut-off, the
small-group threshold used and the rounding rule, so that a copy passed on still says how its
figures were made. Both libraries are imported on first use: the consumer never needs them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from monitor.domain.tables import ColumnType, Table

ROUNDING_RULE = "days at 1 decimal, shares at 3 decimals, rounded half up"

_NUMBER_FORMATS = {ColumnType.DATE: "yyyy-mm-dd", ColumnType.INTEGER: "0"}


def _decimal_format(digits: int) -> str:
    return "0." + "0" * digits if digits else "0"


def tables_xlsx(tables: Sequence[Table], about: Sequence[tuple[str, Any]]) -> bytes:
    """A workbook: one sheet per table (header row frozen), then the ``about`` sheet."""
    from openpyxl import Workbook

    workbook = Workbook()
    first = True
    for table in tables:
        sheet = workbook.active if first else workbook.create_sheet()
        assert sheet is not None
        first = False
        sheet.title = table.name
        sheet.append(list(table.column_names))
        for row in table.rows:
            sheet.append(list(row))
        sheet.freeze_panes = "A2"
        for index, column in enumerate(table.columns, start=1):
            number_format = (
                _decimal_format(column.digits)
                if column.kind is ColumnType.DECIMAL
                else _NUMBER_FORMATS.get(column.kind)
            )
            if number_format is None:
                continue
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
    sheet = workbook.create_sheet("about")
    for key, value in (*about, ("rounding", ROUNDING_RULE)):
        sheet.append([key, value])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def table_parquet(table: Table, metadata: Sequence[tuple[str, str]] = ()) -> bytes:
    """One table as a Parquet file with typed columns; `metadata` goes into the schema's
    key-value metadata (with the rounding rule)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {
        ColumnType.TEXT: pa.string(),
        ColumnType.INTEGER: pa.int64(),
        ColumnType.DECIMAL: pa.float64(),
        ColumnType.BOOLEAN: pa.bool_(),
        ColumnType.DATE: pa.date32(),
    }
    schema = pa.schema(
        [pa.field(c.name, types[c.kind]) for c in table.columns],
        metadata={k: v for k, v in (*metadata, ("rounding", ROUNDING_RULE))},
    )
    columns: list[list[Any]] = [[] for _ in table.columns]
    for row in table.rows:
        for values, value in zip(columns, row, strict=True):
            values.append(value)
    arrow = pa.Table.from_arrays(
        [pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)],
        schema=schema,
    )
    out = io.BytesIO()
    pq.write_table(arrow, out)
    return out.getvalue()


def about(as_of_on: date, known_by: str, min_group_size: int | None) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [("as_of", as_of_on), ("known_by", known_by)]
    if min_group_size is not None:
        rows.append(("min_group_size", min_group_size))
    return rows
