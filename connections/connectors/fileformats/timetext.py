"""Timestamps as ISO 8601 text, the one form CSV and JSON Lines output share:
`2024-01-01T17:35:00Z` for a whole second, `2024-01-01T17:35:00.120Z` with milliseconds, and
six or nine fraction digits only when microseconds or nanoseconds are there. A time with a zone
is written in UTC with a `Z`; a time without one (a wall-clock time) without it."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def iso_text(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The timestamps of `array` as ISO 8601 text; nulls stay null. Vectorised (no Python loop)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    kind = array.type
    if kind.tz is not None:
        array = array.cast(pa.timestamp(kind.unit, "UTC"))
    # floor, not truncate: a time before 1970 with a fraction still prints its own second
    whole = pc.floor_temporal(array, unit="second").cast(pa.timestamp("s", array.type.tz))
    text = pc.strftime(whole, format="%Y-%m-%dT%H:%M:%S")
    if kind.unit != "s":
        text = pc.binary_join_element_wise(text, _fraction(array, kind.unit), "")
    if kind.tz is not None:
        text = pc.binary_join_element_wise(text, "Z", "")
    return text


def _fraction(array: pa.Array, unit: str) -> pa.Array:
    """".123", ".123456", ".123456789" or "" per value: the shortest of 3, 6, 9 digits that holds it."""
    parts = [pc.millisecond(array)]
    if unit in ("us", "ns"):
        parts.append(pc.microsecond(array))
    if unit == "ns":
        parts.append(pc.nanosecond(array))
    digits = [pc.utf8_lpad(p.cast(pa.string()), width=3, padding="0") for p in parts]
    fraction = pa.array([""] * len(array), pa.string())
    # from the finest part to the coarsest: the first non-zero part decides how many digits show
    for i in range(len(parts) - 1, -1, -1):
        shown = pc.binary_join_element_wise(".", *digits[: i + 1], "")
        fraction = pc.if_else(pc.and_(pc.not_equal(parts[i], 0), pc.equal(fraction, "")), shown, fraction)
    return fraction
