"""An independent reading of the lake: what an export of a window must contain.

Built with plain pyarrow and Python from the documented output shape
(docs/event-model.md), without the package's projection or encoders, so that
reconciliation tests compare two independent implementations.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

GROUPS = {"profile": "profile", "deviceInfo": "device", "commPrefs": "comm_prefs", "eventProps": "properties"}


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None and not _nan(v)}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    if isinstance(value, dt.datetime):
        return iso(value)
    return value


def _nan(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def lake_rows(lake: Path, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    tables = [pq.read_table(path) for path in sorted(lake.glob("date=*/*.parquet"))]
    rows: list[dict[str, Any]] = []
    for table in tables:
        times = table.column("event_time")
        mask = pc.and_(pc.greater_equal(times, start), pc.less(times, end))
        rows.extend(table.filter(mask).to_pylist())
    return rows


def expected_record(row: dict[str, Any]) -> dict[str, Any]:
    """The JSON record the documented mapping gives for one lake row (nulls left out)."""
    identity = {
        "userId": row["user_id"],
        "identity": row["identity"],
        "email": row["email"],
        "phone": row["phone"],
    }
    identity.update(row["custom_identities"] or {})
    record: dict[str, Any] = {
        "eventName": row["event_name"],
        "eventTime": iso(row["event_time"]),
        "identity": identity,
    }
    for output, canonical in GROUPS.items():
        record[output] = row[canonical] or {}
    return strip_nulls(record)


def expected_records(lake: Path, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    return sorted((expected_record(row) for row in lake_rows(lake, start, end)), key=sort_key)


def sort_key(record: dict[str, Any]) -> tuple[str, str, str, str]:
    return (
        record.get("eventName", ""),
        record.get("eventTime", ""),
        record.get("identity", {}).get("userId", ""),
        json.dumps(record, sort_keys=True, ensure_ascii=False),
    )


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted leaf paths, as CSV columns name them (lists stay values)."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def text_matches(text: str, expected: Any) -> bool:
    """Does a CSV cell or XML value spell ``expected`` the documented way?"""
    if expected is None:
        return text == ""
    if isinstance(expected, bool):
        return text == ("true" if expected else "false")
    if isinstance(expected, (dict, list)):
        return json.loads(text) == expected
    if isinstance(expected, float):
        return float(text) == expected
    if isinstance(expected, int):
        return int(text) == expected
    return text == expected
