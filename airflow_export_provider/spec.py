"""The export definition: one declarative model, validated once, trusted everywhere after.

A user's YAML (or a dict in a DAG file) becomes an :class:`ExportSpec`. Validation
happens when the DAG file is parsed, and every problem is reported at once in an
:class:`~airflow_export_provider.exceptions.ExportSpecError` naming the key, the value
seen and what is allowed.

pydantic is used rather than hand-written dataclass checks because Airflow already
depends on it and it gives nested key paths, unknown-key rejection and type coercion
from YAML for free; :func:`_describe_errors` turns its errors into our wording.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from airflow_export_provider.bucket_names import bucket_name_problem
from airflow_export_provider.exceptions import ExportSpecError
from airflow_export_provider.fields import FieldsSpec, TimeZoneName
from airflow_export_provider.layout import FOLDER_PRESETS, parse_template
from airflow_export_provider.windows import WindowGrid
from airflow_export_provider.yaml_files import load_definition

SAFE_ID = r"^[A-Za-z0-9_-]{1,64}$"
SAFE_PREFIX = r"^[A-Za-z0-9_./-]*$"
GRID_HOURS = (1, 2, 3, 4, 6, 8, 12, 24)
MiB = 1024 * 1024


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventTimeSpec(_Model):
    """Which column holds the event time, and the unit of an epoch number (see ``sources/event_time.py``)."""

    column: str = Field(default="event_time", min_length=1, max_length=255)
    unit: Literal["s", "ms", "us", "ns"] | None = None


RejectPolicy = Literal["fail", "count", "quarantine"]


def _one_policy_for_all(value: Any) -> Any:
    """``rejected_rows: count`` means that policy for every reason."""
    if isinstance(value, str):
        return dict.fromkeys(("null_event_time", "unreadable_event_time", "outside_partition"), value)
    return value


class RejectedRowsSpec(_Model):
    """What happens to rows the lake holds but no window can export, by reason.

    ``fail``: the window fails, names the counts and a sample, and publishes nothing.
    ``count``: the window is exported without them; the manifest and the log count them.
    ``quarantine``: as ``count``, and the rows are written to the window's ``_rejected/``
    file, published with the window and listed in its manifest (``rejected_file``).
    """

    null_event_time: RejectPolicy = "fail"
    unreadable_event_time: RejectPolicy = "fail"
    outside_partition: RejectPolicy = "fail"


class LakeSourceSpec(_Model):
    """Events stored as Parquet or JSON Lines files partitioned by UTC date (``date=YYYY-MM-DD``)."""

    type: Literal["lake"] = "lake"
    path: str = Field(min_length=1, description="Local directory or s3://bucket/prefix of the lake.")
    file_format: Literal["parquet", "jsonl"] = "parquet"
    aws_conn_id: str = "aws_default"
    batch_size: int = Field(default=32_768, ge=1_000, le=1_000_000)
    event_time: EventTimeSpec = EventTimeSpec()
    rejected_rows: Annotated[RejectedRowsSpec, BeforeValidator(_one_policy_for_all)] = RejectedRowsSpec()

    @property
    def is_s3(self) -> bool:
        return self.path.startswith("s3://")


SQL_NAME = r"^[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62}){0,2}$"
SQL_COLUMN = r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$"
WINDOW_PLACEHOLDERS = ("%(window_start)s", "%(window_end)s")


class SqlColumnsSpec(_Model):
    """Which column of the table (or query) holds each field of the canonical event record.

    Scalar fields are plain columns; ``custom_identities``, ``profile``, ``device``,
    ``comm_prefs`` and ``properties`` are JSON/JSONB columns holding an object. Leave a
    field out when the source does not have it.
    """

    event_name: Annotated[str, Field(pattern=SQL_COLUMN)] = "event_name"
    event_time: Annotated[str, Field(pattern=SQL_COLUMN)] = "event_time"
    user_id: Annotated[str, Field(pattern=SQL_COLUMN)] | None = None
    identity: Annotated[str, Field(pattern=SQL_COLUMN)] | None = None
    email: Annotated[str, Field(pattern=SQL_COLUMN)] | None = None
    phone: Annotated[str, Field(pattern=SQL_COLUMN)] | None = None
    custom_identities: Annotated[str, Field(pattern=SQL_COLUMN)] | None = None
    profile: Annotated[str, Field(pattern=SQL_COLUMN)] | None = None
    device: Annotated[str, Field(pattern=SQL_COLUMN)] | None = None
    comm_prefs: Annotated[str, Field(pattern=SQL_COLUMN)] | None = None
    properties: Annotated[str, Field(pattern=SQL_COLUMN)] | None = None

    def mapped(self) -> dict[str, str]:
        """Canonical field → source column, for the fields the source has."""
        return {name: column for name, column in self.model_dump().items() if column is not None}


class SqlSourceSpec(_Model):
    """Events in a database table or query, read through any Airflow SQL (``DbApiHook``) connection.

    ``table`` is read with ``WHERE <event_time> >= window start AND < window end``; a
    ``query`` must filter on ``%(window_start)s`` and ``%(window_end)s`` itself. Rows are
    read in ``event_time`` order, ties broken by ``key_columns`` (or by every column read),
    so the same data always gives the same files.
    """

    type: Literal["sql"]
    conn_id: str = Field(min_length=1)
    table: Annotated[str, Field(pattern=SQL_NAME)] | None = None
    query: str | None = None
    columns: SqlColumnsSpec = SqlColumnsSpec()
    key_columns: list[Annotated[str, Field(pattern=SQL_COLUMN)]] = Field(
        default_factory=list,
        description="Columns that identify a row (e.g. [event_id]): rows with the same event time are "
        "read in their order, so a re-run writes identical files. Without them, ties are ordered "
        "by every column the export reads.",
    )
    batch_size: int = Field(default=50_000, ge=1_000, le=1_000_000)

    @model_validator(mode="after")
    def _table_or_query(self) -> SqlSourceSpec:
        if (self.table is None) == (self.query is None):
            raise ValueError("give either table or query")
        if self.query is not None:
            missing = [p for p in WINDOW_PLACEHOLDERS if p not in self.query]
            if missing:
                raise ValueError(
                    f"query must filter on the window with {' and '.join(missing)} "
                    "(e.g. WHERE occurred_at >= %(window_start)s AND occurred_at < %(window_end)s)"
                )
        return self

    @property
    def path(self) -> str:
        """Where the events come from, for messages and the DAG's description."""
        return f"{self.conn_id}:{self.table or 'query'}"

    @property
    def file_format(self) -> str:
        return "sql"


def _type_or(default: str) -> Callable[[Any], str]:
    """A union discriminator: the ``type`` key of a mapping or model, ``default`` when absent."""

    def tag(value: Any) -> str:
        if isinstance(value, Mapping):
            return str(value.get("type", default))
        return str(getattr(value, "type", default))

    return tag


SourceSpec = Annotated[
    Annotated[LakeSourceSpec, Tag("lake")] | Annotated[SqlSourceSpec, Tag("sql")],
    Discriminator(_type_or("lake")),
]


class EncryptionSpec(_Model):
    """Server-side encryption requested on every object the export writes."""

    type: Literal["AES256", "aws:kms"]
    kms_key_id: str | None = None

    @model_validator(mode="after")
    def _key_matches_type(self) -> EncryptionSpec:
        if self.type == "aws:kms" and not self.kms_key_id:
            raise ValueError("type 'aws:kms' needs kms_key_id (a key id, alias or ARN)")
        if self.type == "AES256" and self.kms_key_id:
            raise ValueError("kms_key_id is only used with type 'aws:kms'; remove it or change the type")
        return self


class S3DestinationSpec(_Model):
    """An S3 (or S3-compatible) bucket reached through an Airflow ``aws`` connection."""

    type: Literal["s3"] = "s3"
    aws_conn_id: str = "aws_default"
    bucket: str
    prefix: Annotated[str, Field(pattern=SAFE_PREFIX)] = ""
    region: str | None = None
    encryption: EncryptionSpec | None = None
    multipart_part_size: int = Field(default=8 * MiB, ge=5 * MiB, le=512 * MiB)

    @field_validator("bucket")
    @classmethod
    def _a_name_s3_accepts(cls, bucket: str) -> str:
        problem = bucket_name_problem(bucket)
        if problem is not None:
            raise ValueError(f"{bucket!r} is not a valid S3 bucket name: it {problem}")
        return bucket

    @field_validator("prefix")
    @classmethod
    def _normalise_prefix(cls, prefix: str) -> str:
        return _clean_prefix(prefix)


class LocalDestinationSpec(_Model):
    """A local directory; for development and tests, written with the same keys as S3."""

    type: Literal["local"]
    path: str = Field(min_length=1)
    prefix: Annotated[str, Field(pattern=SAFE_PREFIX)] = ""

    @field_validator("prefix")
    @classmethod
    def _normalise_prefix(cls, prefix: str) -> str:
        return _clean_prefix(prefix)


def _clean_prefix(prefix: str) -> str:
    parts = [part for part in prefix.split("/") if part]
    if any(part in (".", "..") for part in parts):
        raise ValueError("'.' and '..' are not allowed as prefix folders")
    return "/".join(parts)


DestinationSpec = Annotated[
    Annotated[S3DestinationSpec, Tag("s3")] | Annotated[LocalDestinationSpec, Tag("local")],
    Discriminator(_type_or("s3")),
]


class LayoutSpec(_Model):
    """Where objects go: folder structure and file names, as templates of window variables."""

    folders: tuple[Literal["data_type", "date", "export_id", "event_name"], ...] | None = None
    folder_template: str | None = None
    file_template: str | None = None

    @field_validator("folder_template")
    @classmethod
    def _folder_template_is_valid(cls, template: str | None) -> str | None:
        if template is not None:
            parse_template(template, allow_folders=True)
        return template

    @field_validator("file_template")
    @classmethod
    def _file_template_is_valid(cls, template: str | None) -> str | None:
        if template is not None:
            if not template.strip():
                raise ValueError("file_template is empty; remove it to use the default file names")
            parse_template(template, allow_folders=False)
        return template

    @model_validator(mode="after")
    def _one_folder_style(self) -> LayoutSpec:
        if self.folders is not None and self.folder_template is not None:
            raise ValueError("give either folders (presets) or folder_template, not both")
        return self

    @property
    def resolved_folder_template(self) -> str:
        if self.folder_template is not None:
            return self.folder_template
        presets = self.folders if self.folders is not None else ("data_type", "date")
        return "/".join(FOLDER_PRESETS[preset] for preset in presets)


class FormatSpec(_Model):
    """File format, compression and roll-over limits."""

    type: Literal["csv", "jsonl", "xml", "parquet"] = "csv"
    compression: Literal["gzip", "none"] | None = None
    compression_level: int = Field(default=1, ge=1, le=9)
    parquet_compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    max_records_per_file: int = Field(default=10_000_000, ge=1)
    max_bytes_per_file: int = Field(default=100 * 1000 * 1000, ge=1024)

    @property
    def outer_compression(self) -> Literal["gzip", "none"]:
        """gzip by default for text formats; Parquet compresses inside the file instead."""
        if self.compression is not None:
            return self.compression
        return "none" if self.type == "parquet" else "gzip"

    @property
    def extension(self) -> str:
        suffix = ".gz" if self.outer_compression == "gzip" else ""
        return f"{self.type}{suffix}"


UNLIMITED_RETRIES = 1_000_000
"""What ``retries: unlimited`` means: about 9.5 years of retries at the default 5-minute delay.

Airflow stores retries in a 32-bit column and has no "forever", so a bound this large is
the honest equivalent.
"""


def parse_duration(value: Any) -> dt.timedelta:
    """Read ``90s``, ``5m``, ``4h``, ``1d``, ``1h30m`` (or ISO 8601 ``PT5M``, or a timedelta).

    Units are required: a bare number is refused, because "5" could mean seconds, minutes
    or hours and a wrong guess silently moves a delivery by hours.
    """
    if isinstance(value, dt.timedelta):
        return value
    text = str(value).strip().lower().replace(" ", "")
    if text.startswith("p"):  # ISO 8601, as a dumped spec writes it (PT5M)
        try:
            return TypeAdapter(dt.timedelta).validate_python(text.upper())
        except ValidationError:
            raise ValueError(f"{value!r} is not an ISO 8601 duration") from None
    parts = re.findall(r"(\d+)(d|h|m|s)", text)
    if not text or not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{value!r} is not a duration; write it with units such as '90s', '5m', '4h', '1d'")
    seconds = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
    return dt.timedelta(seconds=sum(int(n) * seconds[u] for n, u in parts))


def describe_duration(duration: dt.timedelta) -> str:
    """The inverse of :func:`parse_duration`, for messages and the UI: ``1h30m``, ``5m``, ``0s``."""
    seconds = int(duration.total_seconds())
    if seconds == 0:
        return "0s"
    text = ""
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        text += f"{amount}{unit}" if amount else ""
    return text


def describe_schedule(every_hours: int, timezone: str, delay: dt.timedelta) -> str:
    every = "every day at 00:00" if every_hours == 24 else f"every {every_hours} hours from 00:00"
    text = f"{every} {timezone}"
    if delay:
        text += f", each window delivered {describe_duration(delay)} after it closes"
    return text


Duration = Annotated[dt.timedelta, BeforeValidator(parse_duration)]


class ScheduleSpec(_Model):
    """When the recurring export runs: grid windows every ``every`` hours from local midnight.

    ``start_date`` is the first day the export may cover (default: the day it is first
    switched on); ``include_history`` exports the windows from ``start_date`` up to the
    first recurring window once, in the one-time DAG, without holding recurring runs back.
    """

    every: int = 24
    timezone: TimeZoneName = "UTC"
    start_date: dt.date | None = None
    delay: Duration = dt.timedelta(0)
    retries: int | Literal["unlimited"] = "unlimited"
    retry_delay: Duration = dt.timedelta(minutes=5)
    include_history: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """``schedule: every 4h`` is short for ``schedule: {every: 4h}``."""
        if isinstance(data, str):
            text = data.strip()
            if not text.lower().startswith("every "):
                raise ValueError(
                    f"{data!r} is not a schedule; write e.g. 'every 4h' or a mapping with 'every'"
                )
            return {"every": text[len("every ") :]}
        return data

    @field_validator("every", mode="before")
    @classmethod
    def _parse_every(cls, every: Any) -> int:
        text = str(every).strip().lower()
        match = re.fullmatch(r"(\d+)\s*(h|hours?)?", text) or re.fullmatch(r"(1)\s*(d|days?)", text)
        hours = None
        if match:
            hours = 24 if match.group(2) and match.group(2).startswith("d") else int(match.group(1))
        if hours not in GRID_HOURS:
            allowed = ", ".join(f"{h}h" for h in GRID_HOURS)
            raise ValueError(f"{every!r} is not a whole divisor of 24 hours; use one of {allowed}")
        return hours

    @field_validator("delay")
    @classmethod
    def _delay_within_a_week(cls, delay: dt.timedelta) -> dt.timedelta:
        if not dt.timedelta(0) <= delay <= dt.timedelta(days=7):
            raise ValueError("the delivery delay must be between 0s and 7d")
        return delay

    @field_validator("retry_delay")
    @classmethod
    def _positive_retry_delay(cls, retry_delay: dt.timedelta) -> dt.timedelta:
        if not dt.timedelta(seconds=10) <= retry_delay <= dt.timedelta(days=1):
            raise ValueError("retry_delay must be between 10s and 1d")
        return retry_delay

    @field_validator("retries")
    @classmethod
    def _retries_in_range(cls, retries: int | str) -> int | str:
        if isinstance(retries, int) and not 0 <= retries < UNLIMITED_RETRIES:
            raise ValueError(f"retries must be 'unlimited' or between 0 and {UNLIMITED_RETRIES - 1}")
        return retries

    @model_validator(mode="after")
    def _history_needs_a_start(self) -> ScheduleSpec:
        if self.include_history and self.start_date is None:
            raise ValueError("include_history needs start_date: the first day of history to export")
        return self

    @property
    def grid(self) -> WindowGrid:
        return WindowGrid(self.every, self.timezone)

    @property
    def description(self) -> str:
        """How the Airflow UI and ``validate`` describe the schedule, e.g. "every 4 hours from 00:00 UTC"."""
        return describe_schedule(self.every, self.timezone, self.delay)

    @property
    def airflow_retries(self) -> int:
        return UNLIMITED_RETRIES if self.retries == "unlimited" else int(self.retries)


class OneTimeSpec(_Model):
    """The companion DAG that exports a chosen date range once (``export__<id>__one_time``)."""

    enabled: bool = True
    max_days_back: int = Field(default=365, ge=1, le=3_650)
    concurrency: int = Field(default=4, ge=1, le=64)


class CompletenessSpec(_Model):
    """When a window's data counts as complete, so the export can start (``wait_for_data`` task).

    ``lateness``: the window end plus ``lateness`` has passed (a fixed allowance for late
    events). ``watermark``: ``watermark_query`` (SQL sources) returns a timestamp at or
    after the window end, e.g. ``SELECT max(ingested_at) FROM app.events``. ``marker``:
    the lake holds the object ``marker`` (a template with ``{date}``, ``{window_start}``,
    ``{window_end}``), e.g. ``date={date}/_SUCCESS``. ``lateness`` also applies to the
    other modes. ``none`` starts at once (after the schedule's ``delay``).
    """

    mode: Literal["none", "lateness", "watermark", "marker"] = "none"
    lateness: Duration = dt.timedelta(0)
    watermark_query: str | None = None
    marker: str | None = None
    check_every: Duration = dt.timedelta(minutes=5)
    timeout: Duration = dt.timedelta(days=1)
    deferrable: bool = True

    @model_validator(mode="after")
    def _mode_has_its_setting(self) -> CompletenessSpec:
        if self.mode == "watermark" and not self.watermark_query:
            raise ValueError("mode 'watermark' needs watermark_query (a query returning one timestamp)")
        if self.mode == "marker" and not self.marker:
            raise ValueError("mode 'marker' needs marker, e.g. 'date={date}/_SUCCESS'")
        if self.marker is not None:
            try:
                self.marker.format(
                    date="2025-01-01", window_start="20250101T000000", window_end="20250101T040000"
                )
            except (KeyError, IndexError, ValueError) as error:
                raise ValueError(
                    f"marker {self.marker!r} has an unknown placeholder {error}; "
                    "use {date}, {window_start}, {window_end}"
                ) from None
        if self.mode == "lateness" and not self.lateness:
            raise ValueError("mode 'lateness' needs a lateness greater than 0s")
        return self


AlertEvent = Literal["started", "completed", "failed", "waiting_for_credentials", "stopped"]
ALERT_EVENTS: tuple[AlertEvent, ...] = (
    "started",
    "completed",
    "failed",
    "waiting_for_credentials",
    "stopped",
)


class WebhookAlertSpec(_Model):
    """A signed JSON POST per event to the URL of an Airflow ``http`` connection.

    The connection's host (with schema, port and path) is the URL; its password is the
    HMAC-SHA256 secret of the ``X-Export-Signature`` header.
    """

    conn_id: str = Field(min_length=1)
    on: tuple[AlertEvent, ...] = ("started", "completed", "failed", "waiting_for_credentials", "stopped")
    timeout: Duration = dt.timedelta(seconds=10)
    retries: int = Field(default=3, ge=0, le=10)


class EmailAlertSpec(_Model):
    """E-mails through an Airflow ``smtp`` connection (and its notifier)."""

    to: tuple[str, ...] = Field(min_length=1)
    conn_id: str = "smtp_default"
    from_email: str | None = None
    on: tuple[AlertEvent, ...] = ("started", "completed", "stopped", "failed", "waiting_for_credentials")


class AlertsSpec(_Model):
    webhook: WebhookAlertSpec | None = None
    email: EmailAlertSpec | None = None


class AccessSpec(_Model):
    """Checking the destination before each run, and waiting for a fix instead of failing.

    When the check fails for an access reason, the run waits (a deferrable sensor; a
    rescheduling one without a triggerer), re-checking every ``check_every``, alerting at
    each ``alert_after`` of waiting; after ``grace`` it stops: a final alert, the run
    fails with the classified error, and the DAG is paused through Airflow's REST API
    (``airflow_api_conn_id``, an ``http`` connection to the API server with a user).
    """

    check: bool = True
    check_every: Duration = dt.timedelta(minutes=10)
    alert_after: tuple[Duration, ...] = (dt.timedelta(0), dt.timedelta(days=1), dt.timedelta(days=2))
    grace: Duration = dt.timedelta(days=3)
    deferrable: bool = True
    airflow_api_conn_id: str = "airflow_api"

    @field_validator("check_every")
    @classmethod
    def _sensible_interval(cls, every: dt.timedelta) -> dt.timedelta:
        if not dt.timedelta(seconds=1) <= every <= dt.timedelta(days=1):
            raise ValueError("check_every must be between 1s and 1d")
        return every

    @model_validator(mode="after")
    def _alerts_within_grace(self) -> AccessSpec:
        if any(after >= self.grace for after in self.alert_after):
            raise ValueError(
                "every alert_after must come before the grace period ends (the stop alert ends it)"
            )
        if list(self.alert_after) != sorted(set(self.alert_after)):
            raise ValueError("alert_after must be increasing, without repeats")
        return self


class ExportSpec(_Model):
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

    @property
    def dag_id(self) -> str:
        return f"export__{self.export_id}"

    @property
    def one_time_dag_id(self) -> str:
        return f"export__{self.export_id}__one_time"

    @property
    def spec_hash(self) -> str:
        """A stable fingerprint recorded in every manifest, so readers can tell spec changes apart."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @classmethod
    def from_mapping(cls, data: Any, source: str | None = None) -> ExportSpec:
        if not isinstance(data, Mapping):
            raise ExportSpecError([f"expected a mapping of keys, got {type(data).__name__}"], source)
        try:
            return cls.model_validate(dict(data))
        except ValidationError as error:
            raise ExportSpecError(_describe_errors(error), source) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> ExportSpec:
        """Read and validate a definition file (anchors, aliases and duplicate keys refused)."""
        return cls.from_mapping(load_definition(path), source=str(path))


_UNION_TAGS = {"source": {"lake", "sql"}, "destination": {"s3", "local"}}


def _describe_errors(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors(include_url=False):
        location = _key_path(item["loc"])
        seen = _short(item.get("input"))
        kind = item["type"]
        if kind == "extra_forbidden":
            problems.append(
                f"{location}: unknown key (value {seen}); check the spelling in the spec reference"
            )
        elif kind == "missing":
            problems.append(f"{location}: required key is missing")
        elif kind == "literal_error":
            expected = item.get("ctx", {}).get("expected", "")
            problems.append(f"{location}: {seen} is not allowed; expected {expected}")
        elif kind == "string_pattern_mismatch":
            problems.append(f"{location}: {seen} {_pattern_advice(location)}")
        elif kind == "union_tag_invalid":
            given = item["input"].get("type") if isinstance(item.get("input"), Mapping) else item.get("input")
            problems.append(
                f"{location}: type {given!r} is not known; expected one of {item['ctx']['expected_tags']}"
            )
        else:
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{location}: {message} (got {seen})")
    return problems


def _key_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for element in loc:
        if parts and element in _UNION_TAGS.get(parts[-1], ()):
            continue
        parts.append(f"[{element}]" if isinstance(element, int) else str(element))
    return ".".join(parts).replace(".[", "[") or "(top level)"


def _pattern_advice(location: str) -> str:
    if location.endswith("prefix"):
        return "may only contain letters, digits, '/', '.', '-' and '_'"
    return "may only contain letters, digits, '-' and '_' (1 to 64 characters)"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
