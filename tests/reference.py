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

import pyarrow as pa
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


# ----------------------------------------------------------------------------- fields
# The documented meaning of each ``fields`` option, written again in plain Python from
# docs/spec-reference.md (not from the package), for reconciliation of selected records.

STANDARD_IDS = ("identity", "email", "phone")
DEVICE = ("platform", "token", "make", "model", "app_version", "sdk_version", "os_version", "browser", "dpi",
          "dimensions")  # fmt: skip
PREFS = ("subscription_groups", "push", "web_push", "email", "sms", "whatsapp")


def _renamed(entry: Any) -> tuple[str, str]:
    return (entry, entry) if isinstance(entry, str) else (entry["name"], entry.get("as", entry["name"]))


def event_selected(name: str | None, cfg: dict[str, Any]) -> bool:
    import fnmatch

    include = cfg.get("events", {}).get("include", "all")
    if include == "all":
        return True
    patterns = cfg["events"]["categories"][include] if isinstance(include, str) else include
    return name is not None and any(fnmatch.fnmatchcase(name, p) for p in patterns)


def zoned_text(moment: dt.datetime, zone: str) -> str:
    from zoneinfo import ZoneInfo

    local = moment.astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%dT%H:%M:%S.%f") + local.isoformat()[-6:]


def carried_properties(rows: list[dict[str, Any]], order: list[str]) -> dict[str | None, list[str]]:
    """Per event, the properties with at least one value, in the lake's member order."""
    seen: dict[str | None, set[str]] = {}
    for row in rows:
        have = seen.setdefault(row["event_name"], set())
        have.update(k for k, v in (row["properties"] or {}).items() if v is not None)
    return {event: [p for p in order if p in names] for event, names in seen.items()}


def property_columns(
    event: str | None, cfg: dict[str, Any], carried: list[str]
) -> list[tuple[str, list[str]]]:
    """Output property columns of an event and the properties feeding each, first value wins."""
    spec = cfg.get("properties", {})
    everywhere = spec.get("rename_everywhere", {})
    selection = spec.get("per_event", {}).get(event, spec.get("default", "all"))
    columns: dict[str, list[str]] = {}
    if selection == "none":
        return []
    if selection != "all":
        for entry in selection:
            name, output = _renamed(entry)
            if isinstance(entry, str):
                output = everywhere.get(name, name)
            columns.setdefault(output, []).append(name)
        return list(columns.items())
    for name in carried:
        output = everywhere.get(name, name)
        if output not in columns:
            own = [] if output in everywhere else [output]
            columns[output] = own + [
                p for p, target in everywhere.items() if target == output and p != output
            ]
    return list(columns.items())


def selected_record(row: dict[str, Any], cfg: dict[str, Any], carried: list[str]) -> dict[str, Any]:
    """The record the documented mapping gives for one lake row under ``cfg`` (nulls kept)."""
    ids_cfg = cfg.get("identifiers", {})
    custom = row["custom_identities"] or {}
    values = {"identity": row["identity"], "email": row["email"], "phone": row["phone"], **custom}
    use = ids_cfg.get("use", [*STANDARD_IDS, *custom])
    identity: dict[str, Any] = {}
    if ids_cfg.get("user_id", True):
        identity["userId"] = row["user_id"]
    if ids_cfg.get("mode", "all") == "all":
        identity.update({name: values.get(name) for name in use})
    else:
        chosen = next((name for name in use if values.get(name) is not None), None)
        identity.update({"id": values.get(chosen) if chosen else None, "idType": chosen})
    if ids_cfg.get("all_identities"):
        identity["allIdentities"] = [v for v in values.values() if v is not None]
    time_cfg = cfg.get("event_time", {})
    if time_cfg.get("style") == "epoch":
        event_time: Any = int(row["event_time"].timestamp() // 1)
    else:
        zone = time_cfg.get("timezone", "UTC")
        event_time = iso(row["event_time"]) if zone == "UTC" else zoned_text(row["event_time"], zone)
    renames = cfg.get("events", {}).get("rename", {})
    record: dict[str, Any] = {
        "eventName": renames.get(row["event_name"], row["event_name"]),
        "identity": identity,
        "eventTime": event_time,
    }
    profile = row["profile"] or {}
    selection = cfg.get("profile", "all")
    if selection == "all":
        record["profile"] = dict(profile)
    elif selection != "none":
        record["profile"] = {output: profile.get(name) for name, output in map(_renamed, selection)}
    for group, canonical, known in (("deviceInfo", "device", DEVICE), ("commPrefs", "comm_prefs", PREFS)):
        chosen = cfg.get(canonical, "all")
        source = row[canonical] or {}
        if chosen != "none":
            record[group] = {name: source.get(name) for name in (known if chosen == "all" else chosen)}
    properties = row["properties"] or {}
    event_props = {}
    for output, sources in property_columns(row["event_name"], cfg, carried):
        event_props[output] = next((properties[s] for s in sources if properties.get(s) is not None), None)
    if event_props:
        record["eventProps"] = event_props
    return record


def split_by_event(batch: pa.RecordBatch, projector: Any) -> list[tuple[str | None, Any]]:
    """Each event's projected shared rows, gathered one event at a time: the straightforward way
    routing is checked against (``projector`` is the package's ``Projector``)."""
    names = batch.column("event_name")
    rows = projector.shared(batch)
    return [
        (name, rows.filter(pc.is_null(names) if name is None else pc.equal(names, name)))
        for name in pc.unique(names).to_pylist()
    ]
