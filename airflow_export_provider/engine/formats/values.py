"""How text formats spell Arrow values, the same way in CSV, JSON and XML.

Faithful values are part of correctness: nested values are valid JSON (never Python
``repr``), booleans are lowercase ``true``/``false``, timestamps keep their microseconds
and say they are UTC (``2025-03-01T04:00:00.155211Z``), and integers beyond 2^53 keep
every digit. Null members are left out of JSON objects.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


def timestamps_as_text(array: pa.Array) -> pa.Array:
    """Replace timestamp values (also inside structs) by ISO 8601 UTC text, vectorised."""
    if pa.types.is_timestamp(array.type):
        # strftime prints an aware value in its own zone. UTC and naive values (taken as
        # UTC) end in "Z"; a value in another zone (``fields.event_time.timezone``) ends in
        # its offset at that instant, "+02:00" in Berlin summer time.
        if array.type.tz in (None, "UTC", "+00:00", "Etc/UTC"):
            fast = _utc_micros_as_text(array)
            if fast is not None:
                return fast
            text = pc.strftime(array, format="%Y-%m-%dT%H:%M:%S")
            return pc.binary_join_element_wise(text, pa.scalar("Z"), pa.scalar(""))
        text = pc.strftime(array, format="%Y-%m-%dT%H:%M:%S%z")
        return pc.replace_substring_regex(text, pattern=r"([+-]\d\d)(\d\d)$", replacement=r"\1:\2")
    if pa.types.is_struct(array.type):
        children = [timestamps_as_text(child) for child in array.flatten()]
        fields = [pa.field(f.name, c.type) for f, c in zip(array.type, children, strict=True)]
        return pa.StructArray.from_arrays(children, fields=fields, mask=array.is_null())
    return array


_DAY_MICROS = 86_400_000_000


def _utc_micros_as_text(array: pa.Array) -> pa.Array | None:
    """UTC microsecond timestamps as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, ~3x faster than strftime.

    The date and the time of day are split with integer kernels and each is printed by
    Arrow's own date32/time64 casts. Only for times from 1970 on (integer division
    truncates, which equals flooring only for non-negative values); None means "use
    strftime".
    """
    if array.type.unit != "us" or not len(array):
        return None
    micros = array.cast(pa.int64())
    lowest = pc.min(micros).as_py()
    if lowest is None or lowest < 0:
        return None
    days = pc.divide(micros, _DAY_MICROS)
    time_of_day = pc.subtract(micros, pc.multiply(days, _DAY_MICROS))
    date = days.cast(pa.int32()).cast(pa.date32()).cast(pa.string())
    clock = time_of_day.cast(pa.time64("us")).cast(pa.string())
    return pc.binary_join_element_wise(date, "T", clock, "Z", "")


def json_ready(value: Any) -> Any:
    """A Python value from ``to_pylist`` made ready for ``json.dumps``: nulls and NaN dropped."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items() if _present(item)}
    if isinstance(value, list):
        return [json_ready(item) if _present(item) else None for item in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def json_text(value: Any) -> str:
    """Compact JSON, unicode kept as is."""
    return json.dumps(json_ready(value), ensure_ascii=False, separators=(",", ":"))
