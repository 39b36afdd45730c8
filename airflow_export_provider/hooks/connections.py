"""Where Airflow connections become what the engine reads and writes through.

The engine takes boto3 clients, pyarrow filesystems and DB-API connections; this module is
the one place that builds them from the export's connection ids, with the amazon
provider's hooks (credentials, role assumption, region and ``endpoint_url`` as every
other Airflow task gets them) and a SQL connection's own ``DbApiHook``. Operators,
sensors, triggers and the CLI call it at run time: a DAG file is parsed without opening a
connection.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow.fs as pafs

from airflow_export_provider.engine.bucket_access import BucketAccessChecker
from airflow_export_provider.engine.completeness import Verdict, check_window
from airflow_export_provider.engine.destinations.base import Destination
from airflow_export_provider.engine.destinations.local import LocalDestination
from airflow_export_provider.engine.sources.base import EventSource
from airflow_export_provider.engine.sources.lake import LakeSource, utc_day
from airflow_export_provider.engine.sources.sql import SourceError, SqlSource
from airflow_export_provider.engine.windows import Window, WindowGrid
from airflow_export_provider.exceptions import first_line
from airflow_export_provider.spec import (
    ExportSpec,
    LakeSourceSpec,
    LocalDestinationSpec,
    S3DestinationSpec,
    SqlSourceSpec,
)


def destination_for(spec: S3DestinationSpec | LocalDestinationSpec) -> Destination:
    """The destination a spec describes; an S3 one through the ``aws`` connection's ``S3Hook``."""
    if isinstance(spec, LocalDestinationSpec):
        return LocalDestination(spec.path)
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook  # heavy; only S3 destinations need it

    from airflow_export_provider.engine.destinations.s3 import S3Destination

    return S3Destination(spec, S3Hook(aws_conn_id=spec.aws_conn_id, region_name=spec.region).get_conn())


def source_for(spec: LakeSourceSpec | SqlSourceSpec, grid: WindowGrid | None = None) -> EventSource:
    """The source a spec describes, opened through its Airflow connection.

    :param grid: the export's window grid; a lake uses it to tell rows filed under a
        ``date=`` folder that no window reading it covers (default: windows within UTC days).
    """
    if isinstance(spec, SqlSourceSpec):
        return SqlSource(spec, connect=lambda: sql_connection(spec.conn_id, arrow=True))
    filesystem, root = lake_filesystem(spec)
    return LakeSource(
        filesystem,
        root,
        file_format=spec.file_format,
        batch_size=spec.batch_size,
        time_column=spec.event_time.column,
        time_unit=spec.event_time.unit,
        rejected_rows=spec.rejected_rows.model_dump(),
        reach=grid.reach_of_utc_day if grid is not None else utc_day,
    )


def lake_filesystem(spec: LakeSourceSpec) -> tuple[pafs.FileSystem, str]:
    """The lake's filesystem (S3 with the connection's credentials, or local) and its root in it."""
    if not spec.is_s3:
        return pafs.LocalFileSystem(), spec.path
    from airflow_export_provider.hooks.lake import EventLakeHook

    return EventLakeHook(aws_conn_id=spec.aws_conn_id).filesystem(), spec.path.removeprefix("s3://")


def sql_connection(conn_id: str, *, arrow: bool = False) -> Any:
    """A DB-API connection from the Airflow connection's own hook (postgres, mysql, ...).

    ``arrow``: for PostgreSQL, an ADBC connection instead where the driver is installed
    (``hooks/adbc_postgres.py``), for the export's bulk read.
    """
    from airflow_export_provider.version_compat import BaseHook

    try:
        connection = BaseHook.get_connection(conn_id)
        if arrow and (fast := _adbc_connection(conn_id, connection)) is not None:
            return fast
        hook = connection.get_hook()  # type: ignore[no-untyped-call]
    except SourceError:
        raise
    except Exception as error:
        raise SourceError(
            f"no usable Airflow connection {conn_id!r} for the SQL source: {first_line(error)}"
        ) from None
    get_conn = getattr(hook, "get_conn", None)
    if get_conn is None:
        raise SourceError(
            f"connection {conn_id!r} ({type(hook).__name__}) is not a SQL (DbApiHook) connection"
        )
    try:
        return get_conn()
    except Exception as error:
        raise SourceError(f"cannot connect with {conn_id!r}: {first_line(error)}") from None


def _adbc_connection(conn_id: str, connection: Any) -> Any | None:
    from airflow_export_provider.hooks.adbc_postgres import adbc_connection

    try:
        return adbc_connection(connection)
    except Exception as error:
        message = first_line(error)
        if connection.password:
            message = message.replace(connection.password, "***")
        raise SourceError(f"cannot connect with {conn_id!r}: {message}") from None


def window_verdict(spec: ExportSpec, window: Window, now: dt.datetime | None = None) -> Verdict:
    """Whether the window's data is complete, reading the lake or database through connections."""
    conn_id = spec.source.conn_id if isinstance(spec.source, SqlSourceSpec) else ""
    return check_window(
        spec, window, open_lake=lake_filesystem, connect_sql=lambda: sql_connection(conn_id), now=now
    )


def access_checker_for(destination: S3DestinationSpec, export_id: str) -> BucketAccessChecker:
    """A bucket-access check with the credentials, region and endpoint of the ``aws`` connection."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook(aws_conn_id=destination.aws_conn_id, region_name=destination.region)
    try:
        credentials = hook.get_credentials()
        key_id = credentials.access_key if credentials else None
    except Exception:  # no credentials at all: the first request will say so
        key_id = None

    def clients(service: str) -> Any:
        if service == "s3":
            return hook.get_conn()
        return AwsBaseHook(
            aws_conn_id=destination.aws_conn_id, client_type=service, region_name=destination.region
        ).conn

    return BucketAccessChecker(
        destination, export_id, clients=clients, key_id=key_id, region=hook.conn_region_name
    )
