"""The file formats: one module per format, each exporting one :class:`Format` as ``FORMAT``.

This registry is the one place that names them. A format's module is imported when an
export first uses it, so an export to CSV never loads the Parquet writer.
"""

from __future__ import annotations

import importlib

from airflow_export_provider.engine.formats.protocol import Format, GroupSpelling, Preparation, RecordEncoder
from airflow_export_provider.spec import FormatSpec

__all__ = ["Format", "GroupSpelling", "Preparation", "RecordEncoder", "format_of"]

MODULES = {
    "csv": "airflow_export_provider.engine.formats.csv",
    "jsonl": "airflow_export_provider.engine.formats.jsonl",
    "xml": "airflow_export_provider.engine.formats.xml",
    "parquet": "airflow_export_provider.engine.formats.parquet",
}


def format_of(spec: FormatSpec) -> Format:
    """The format a spec's ``format.type`` names."""
    found: Format = importlib.import_module(MODULES[spec.type]).FORMAT
    return found
