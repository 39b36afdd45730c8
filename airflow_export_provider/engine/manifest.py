"""The per-window manifest: written last, it is what tells readers a window is complete.

It lists every object of the window with its record count, byte size and SHA-256, plus
the window, the spec fingerprint and the package version. It holds no wall-clock time,
so re-exporting unchanged data gives a byte-identical manifest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow_export_provider.engine.columns import DecidedSchema
from airflow_export_provider.engine.sources.base import SourceStats
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.engine.writer import ExportedFile
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.version import __version__

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class ManifestFacts:
    spec: ExportSpec
    window: Window
    instance_id: int
    files: Sequence[ExportedFile]
    source: SourceStats
    rows_without_event_name: int
    columns: DecidedSchema
    rejected_file: dict[str, Any] | None = None


def _file_entry(exported: ExportedFile, split: str) -> dict[str, Any]:
    """A file of the manifest: its series' event name, or with ``split: window`` every name it holds."""
    entry: dict[str, Any] = {"key": exported.key}
    if split == "window":
        entry["event_names"] = list(exported.events)
    else:
        entry["event_name"] = exported.event_name
    return {**entry, "records": exported.records, "bytes": exported.bytes, "sha256": exported.sha256}


def build_manifest(facts: ManifestFacts) -> dict[str, Any]:
    spec, window = facts.spec, facts.window
    split = spec.layout.resolved(spec.schedule.every).split
    return {
        "manifest_version": MANIFEST_VERSION,
        "export_id": spec.export_id,
        "account_id": spec.account_id,
        "spec_hash": spec.spec_hash,
        "package_version": __version__,
        "window": {
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "every_hours": spec.schedule.every,
            "timezone": spec.schedule.timezone,
        },
        "instance_id": facts.instance_id,
        "format": {"type": spec.format.type, "compression": spec.format.outer_compression},
        "files": [_file_entry(f, split) for f in facts.files],
        "totals": {
            "files": len(facts.files),
            "records": sum(f.records for f in facts.files),
            "bytes": sum(f.bytes for f in facts.files),
        },
        "source": {
            "files_read": facts.source.files,
            "rows_scanned": facts.source.rows_scanned,
            "rows_in_window": facts.source.rows_in_window,
            "rows_outside_window": facts.source.rows_outside_window,
            "rows_rejected": dict(sorted(facts.source.rejected.items())),
        },
        "malformed_rows": {"without_event_name": facts.rows_without_event_name},
        "rejected_file": facts.rejected_file,
        "columns": {"evolution": spec.fields.schema_evolution, **_readable_columns(facts.columns)},
    }


def _readable_columns(columns: DecidedSchema) -> dict[str, Any]:
    """The data-dependent columns of this window's files; the full record shape is in the docs."""
    document = columns.to_json(export_id="", evolution="append")
    return {
        "groups": {name: group["columns"] for name, group in document["groups"].items()},
        "event_properties": [
            {"event_name": entry["event_name"], "columns": entry["columns"]} for entry in document["events"]
        ],
    }


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
