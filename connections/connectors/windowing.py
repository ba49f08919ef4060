"""Keep the records of a batch whose timestamp field falls in the incremental window.

For sources with no query language (files): they read everything and filter here. Django-free;
pandas parses the timestamps (ISO 8601 text with or without an offset, dates, epoch-typed columns).
Text without an offset is read as UTC."""

from __future__ import annotations

import pyarrow as pa

from .base import ConnectorError, Window


def check_window_field(window: Window, columns: list[str], where: str) -> None:
    if window.field and window.field not in columns:
        raise ConnectorError(
            f'The incremental timestamp field "{window.field}" (incrementalPullConfig.datetimeTypeFieldName) '
            f"is not a column of {where}. Columns: {', '.join(columns) or '(none)'}."
        )


def in_window(table: pa.Table, window: Window) -> tuple[pa.Table, int]:
    """(the rows inside the window, how many rows had no readable timestamp and were left out)."""
    if window.is_open or not window.field or table.num_rows == 0:
        return table, 0
    # Imported here, not at the top: pandas takes about a second to import, and most processes
    # that load a connector (the event subscriber, the console) never filter a window.
    import pandas as pd

    column = table.column(window.field)
    if pa.types.is_timestamp(column.type) and column.type.tz is not None:
        moments = pd.Series(column.to_pandas()).dt.tz_convert("UTC")
    else:
        values = column.to_pandas()
        if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
            moments = pd.to_datetime(values, errors="coerce").dt.tz_localize("UTC")
        else:
            moments = pd.to_datetime(values.astype("string"), errors="coerce", utc=True, format="ISO8601")
    keep = moments.notna()
    unreadable = int((~keep).sum())
    if window.start is not None:
        keep &= moments >= pd.Timestamp(window.start)
    if window.end is not None:
        keep &= moments < pd.Timestamp(window.end)
    return table.filter(pa.array(keep.fillna(False).to_numpy(dtype=bool))), unreadable


def unreadable_warning(count: int, window: Window, where: str) -> str:
    return (f"{count} record(s) of {where} have no readable time in {window.field} and were left out of "
            "the incremental window.")



