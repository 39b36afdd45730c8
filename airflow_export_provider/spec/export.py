"""The export definition: one declarative model, validated once, trusted everywhere after.

A user's YAML (or a dict in a DAG file) becomes an :class:`ExportSpec`. Validation
happens when the DAG file is parsed, and every problem is reported at once in an
:class:`~airflow_export_provider.exceptions.ExportSpecError` naming the key, the value
seen and what is allowed.

pydantic is used rather than hand-written dataclass checks because Airflow already
depends on it and it gives nested key paths, unknown-key rejection and type coercion
from YAML for free; :func:`~airflow_export_provider.spec.errors.describe_errors` turns its
errors into our wording.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, model_validator

from airflow_export_provider.engine.keys import KeyValues, ObjectLayout
from airflow_export_provider.exceptions import ExportSpecError
from airflow_export_provider.spec.access import AccessSpec
from airflow_export_provider.spec.alerts import AlertsSpec
from airflow_export_provider.spec.base import SAFE_ID, SpecModel
from airflow_export_provider.spec.completeness import CompletenessSpec
from airflow_export_provider.spec.definition_files import load_definition
from airflow_export_provider.spec.destination import DestinationSpec
from airflow_export_provider.spec.errors import describe_errors
from airflow_export_provider.spec.fields import FieldsSpec
from airflow_export_provider.spec.format import FormatSpec
from airflow_export_provider.spec.layout import LayoutSpec
from airflow_export_provider.spec.schedule import OneTimeSpec, ScheduleSpec
from airflow_export_provider.spec.source import SourceSpec

# Each shard reads the whole window from the source (docs/scaling.md), so shards beyond a
# few dozen cost more reading than they save; and each is a mapped task instance.
MAX_SHARDS = 64


class ExportSpec(SpecModel):
    """One export: which events, from where, to which bucket, in which format, how often."""

    export_id: Annotated[str, Field(pattern=SAFE_ID)]
    account_id: Annotated[str, Field(pattern=SAFE_ID)]
    description: str = ""
    source: SourceSpec
    destination: DestinationSpec
    layout: LayoutSpec = LayoutSpec()
    format: FormatSpec = FormatSpec()
    fields: FieldsSpec = FieldsSpec()
    schedule: ScheduleSpec
    one_time: OneTimeSpec = OneTimeSpec()
    access: AccessSpec = AccessSpec()
    alerts: AlertsSpec = AlertsSpec()
    completeness: CompletenessSpec = CompletenessSpec()
    shards: Annotated[int, Field(ge=1, le=MAX_SHARDS)] = 1
    """Split each window by event name into this many tasks (``engine/shards.py``, docs/scaling.md)."""

    @model_validator(mode="after")
    def _completeness_fits_the_source(self) -> ExportSpec:
        mode = self.completeness.mode
        if mode == "watermark" and self.source.type != "sql":
            raise ValueError(
                "completeness mode 'watermark' needs a SQL source; use 'marker' or 'lateness' for a lake"
            )
        if mode == "marker" and self.source.type != "lake":
            raise ValueError(
                "completeness mode 'marker' needs a lake source; use 'watermark' or 'lateness' for SQL"
            )
        return self

    @model_validator(mode="after")
    def _layout_fits_the_format_and_schedule(self) -> ExportSpec:
        resolved = self.layout.resolved(self.schedule.every)
        if resolved.extension is not None and self.format.type != "jsonl":
            raise ValueError(
                f"layout.extension {resolved.extension!r} is for JSON Lines (format.type: jsonl); "
                f"{self.format.type} files keep their own extension"
            )
        try:
            ObjectLayout(
                prefix=self.destination.prefix, folder_template=resolved.folder_template,
                file_template=resolved.file_template, extension="x",
                values=KeyValues(self.account_id, self.export_id, "1970-01-01", 0, 0),
                split=resolved.split, every_hours=self.schedule.every, file_index=resolved.file_index,
                event_names=resolved.event_names, shards=self.shards,
            )  # fmt: skip
        except ValueError as error:
            raise ValueError(f"layout: {error}") from None
        return self

    @property
    def connection_ids(self) -> list[str]:
        """Every Airflow connection the export uses, in the order a run reaches them."""
        ids = self.data_connection_ids
        if self.alerts.webhook is not None:
            ids.append(self.alerts.webhook.conn_id)
        if self.alerts.email is not None:
            ids.append(self.alerts.email.conn_id)
        ids.append(self.access.airflow_api_conn_id)
        return list(dict.fromkeys(ids))

    @property
    def data_connection_ids(self) -> list[str]:
        """The connections that read the source and write the destination (what one window needs)."""
        ids: list[str] = []
        if self.source.type == "sql":
            ids.append(self.source.conn_id)
        elif self.source.is_s3:
            ids.append(self.source.aws_conn_id)
        if self.destination.type == "s3":
            ids.append(self.destination.aws_conn_id)
        return list(dict.fromkeys(ids))

    @property
    def dag_id(self) -> str:
        return f"export__{self.export_id}"

    @property
    def one_time_dag_id(self) -> str:
        return f"export__{self.export_id}__one_time"

    @cached_property
    def spec_hash(self) -> str:
        """A stable fingerprint recorded in every manifest, so readers can tell spec changes apart.

        Cached: the spec is frozen, and the DAG docs, facts and every manifest ask for it.
        """
        # Defaults left out: a key a later version adds does not change the hash of a definition.
        chosen = self.model_dump(mode="json", exclude_defaults=True)
        canonical = json.dumps(chosen, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @classmethod
    def from_mapping(cls, data: Any, source: str | None = None) -> ExportSpec:
        if not isinstance(data, Mapping):
            raise ExportSpecError([f"expected a mapping of keys, got {type(data).__name__}"], source)
        try:
            return cls.model_validate(dict(data))
        except ValidationError as error:
            raise ExportSpecError(describe_errors(error), source) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> ExportSpec:
        """Read and validate a definition file (anchors, aliases and duplicate keys refused)."""
        return cls.from_mapping(load_definition(path), source=str(path))
