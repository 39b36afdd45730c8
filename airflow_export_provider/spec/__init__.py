"""The export definition, one module per YAML section, validated once and trusted everywhere after.

``from airflow_export_provider.spec import ExportSpec`` is the public way in; the section
models are importable from here as well as from their own modules.
"""

from __future__ import annotations

from airflow_export_provider.spec.access import AccessSpec
from airflow_export_provider.spec.alerts import (
    ALERT_EVENTS,
    AlertEvent,
    AlertsSpec,
    EmailAlertSpec,
    WebhookAlertSpec,
)
from airflow_export_provider.spec.completeness import CompletenessSpec
from airflow_export_provider.spec.destination import (
    DestinationSpec,
    EncryptionSpec,
    LocalDestinationSpec,
    S3DestinationSpec,
)
from airflow_export_provider.spec.durations import Duration, describe_duration, parse_duration
from airflow_export_provider.spec.export import ExportSpec
from airflow_export_provider.spec.fields import FieldsSpec
from airflow_export_provider.spec.format import FormatSpec
from airflow_export_provider.spec.layout import LayoutSpec
from airflow_export_provider.spec.schedule import (
    GRID_HOURS,
    UNLIMITED_RETRIES,
    OneTimeSpec,
    ScheduleSpec,
    describe_schedule,
)
from airflow_export_provider.spec.source import (
    EventTimeSpec,
    LakeSourceSpec,
    RejectedRowsSpec,
    SourceSpec,
    SqlColumnsSpec,
    SqlSourceSpec,
)

__all__ = [
    "ALERT_EVENTS",
    "GRID_HOURS",
    "UNLIMITED_RETRIES",
    "AccessSpec",
    "AlertEvent",
    "AlertsSpec",
    "CompletenessSpec",
    "DestinationSpec",
    "Duration",
    "EmailAlertSpec",
    "EncryptionSpec",
    "EventTimeSpec",
    "ExportSpec",
    "FieldsSpec",
    "FormatSpec",
    "LakeSourceSpec",
    "LayoutSpec",
    "LocalDestinationSpec",
    "OneTimeSpec",
    "RejectedRowsSpec",
    "S3DestinationSpec",
    "ScheduleSpec",
    "SourceSpec",
    "SqlColumnsSpec",
    "SqlSourceSpec",
    "WebhookAlertSpec",
    "describe_duration",
    "describe_schedule",
    "parse_duration",
]
