"""The ``source:`` section: a lake of event files, or a SQL table or query."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator

from airflow_export_provider.spec.base import SpecModel, type_or


class EventTimeSpec(SpecModel):
    """Which column holds the event time, and the unit of an epoch number (see ``sources/event_time.py``)."""

    column: str = Field(default="event_time", min_length=1, max_length=255)
    unit: Literal["s", "ms", "us", "ns"] | None = None


RejectPolicy = Literal["fail", "count", "quarantine"]


def _one_policy_for_all(value: Any) -> Any:
    """``rejected_rows: count`` means that policy for every reason."""
    if isinstance(value, str):
        return dict.fromkeys(("null_event_time", "unreadable_event_time", "outside_partition"), value)
    return value


class RejectedRowsSpec(SpecModel):
    """What happens to rows the lake holds but no window can export, by reason.

    ``fail``: the window fails, names the counts and a sample, and publishes nothing.
    ``count``: the window is exported without them; the manifest and the log count them.
    ``quarantine``: as ``count``, and the rows are written to the window's ``_rejected/``
    file, published with the window and listed in its manifest (``rejected_file``).
    """

    null_event_time: RejectPolicy = "fail"
    unreadable_event_time: RejectPolicy = "fail"
    outside_partition: RejectPolicy = "fail"


class LakeSourceSpec(SpecModel):
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


class SqlColumnsSpec(SpecModel):
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


class SqlSourceSpec(SpecModel):
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


SourceSpec = Annotated[
    Annotated[LakeSourceSpec, Tag("lake")] | Annotated[SqlSourceSpec, Tag("sql")],
    Discriminator(type_or("lake")),
]
