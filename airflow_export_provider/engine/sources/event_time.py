"""Event times as a real event store holds them, turned into the canonical UTC timestamp.

Accepted, per column type:

- a timestamp of any unit, with a zone or without one (then it is UTC); nanoseconds are
  cut to the microsecond every format writes;
- an integer or decimal epoch, in the unit the source spec declares
  (``event_time: {column: ts, unit: ms}``); a unit that puts the data outside 1980-2200
  is refused, since it is almost always a wrong unit (seconds read as milliseconds land
  in January 1970);
- ISO 8601 text, with a zone offset or ``Z`` (or without: UTC).

A value that is not a time (text that does not parse, a NaN epoch) becomes null; the lake
counts it as an *unreadable* event time (``sources/rejections.py``).

Any other type fails the window with a message naming the file, the column, its type and
what is accepted: an export never filters events away because it misread their times.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from airflow_export_provider.engine.events import EVENT_TIME_TYPE, EventSchemaError

EpochUnit = Literal["s", "ms", "us", "ns"]
ACCEPTED = (
    "a timestamp (any unit, with or without a zone), an integer or decimal epoch with its unit "
    "declared in the source spec (event_time: {column: ..., unit: s|ms|us|ns}), or ISO 8601 text"
)
PLAUSIBLE = (dt.datetime(1980, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2200, 1, 1, tzinfo=dt.timezone.utc))
_MICROSECONDS = {"s": 1_000_000, "ms": 1_000, "us": 1}


class EventTimeError(EventSchemaError):
    """A source's event-time column cannot be read as times; the message says why and what to do."""


def event_times(values: pa.Array, unit: EpochUnit | None, where: str, column: str) -> pa.Array:
    """``values`` as canonical event times; a value that is not a time (text, NaN) becomes null.

    :param where: the file (or table) the values come from, for messages.
    :param column: the column's name in the source, for messages.
    """
    kind = values.type
    if pa.types.is_null(kind):
        return pa.nulls(len(values), EVENT_TIME_TYPE)
    if pa.types.is_timestamp(kind):
        zoned = values if kind.tz is not None else values.cast(pa.timestamp(kind.unit, "UTC"))
        return pc.cast(zoned, EVENT_TIME_TYPE, safe=False)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return _from_epoch(values, unit, where, column)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _from_text(values)
    raise EventTimeError(
        f"{where}: column {column!r} has type {kind}, which is not a time; accepted: {ACCEPTED}"
    )


def _from_epoch(values: pa.Array, unit: EpochUnit | None, where: str, column: str) -> pa.Array:
    if unit is None:
        raise EventTimeError(
            f"{where}: column {column!r} holds {values.type} numbers, not times; if they are epoch "
            "times, declare their unit in the source spec: event_time: {column: "
            f"{column}, unit: s}} (or ms, us, ns)"
        )
    if pa.types.is_floating(values.type):  # NaN is no time: null, counted as unreadable
        values = pc.if_else(pc.is_nan(values), pa.scalar(None, values.type), values)
    if unit == "ns":
        micros = pc.divide(values.cast(pa.float64()) if pa.types.is_floating(values.type) else values, 1_000)
    else:
        micros = pc.multiply_checked(values, _MICROSECONDS[unit])
    if pa.types.is_floating(micros.type):
        micros = pc.floor(micros)
    try:
        times = micros.cast(pa.int64()).cast(EVENT_TIME_TYPE)
    except (pa.ArrowInvalid, OverflowError):
        raise EventTimeError(
            f"{where}: column {column!r} read as epoch {unit} overflows the time range; check its unit"
        ) from None
    bounds = pc.min_max(times)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if low is not None and (low < PLAUSIBLE[0] or high >= PLAUSIBLE[1]):
        raise EventTimeError(
            f"{where}: column {column!r} read as epoch {unit} gives times from {low:%Y-%m-%d} to "
            f"{high:%Y-%m-%d}, outside {PLAUSIBLE[0].year}-{PLAUSIBLE[1].year}: the unit is probably "
            "wrong (seconds read as milliseconds land in 1970); fix event_time.unit in the source spec"
        )
    return times


def _from_text(values: pa.Array) -> pa.Array:
    for target in (EVENT_TIME_TYPE, pa.timestamp("us")):
        try:
            parsed = values.cast(target)
        except pa.ArrowInvalid:
            continue
        return parsed if target == EVENT_TIME_TYPE else parsed.cast(EVENT_TIME_TYPE)
    # Mixed or odd spellings: the slow path, value by value (only batches that need it).
    return pa.array([_parse(text) for text in values.to_pylist()], EVENT_TIME_TYPE)


def _parse(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return (
        moment.replace(tzinfo=dt.timezone.utc)
        if moment.tzinfo is None
        else moment.astimezone(dt.timezone.utc)
    )
