"""Where exported objects go: S3 (production) or a local directory (development)."""

from __future__ import annotations

from airflow_export_provider.engine.destinations.base import Destination, ObjectUpload
from airflow_export_provider.spec import LocalDestinationSpec, S3DestinationSpec

__all__ = ["Destination", "ObjectUpload", "destination_for"]


def destination_for(spec: S3DestinationSpec | LocalDestinationSpec) -> Destination:
    if isinstance(spec, LocalDestinationSpec):
        from airflow_export_provider.engine.destinations.local import LocalDestination

        return LocalDestination(spec.path)
    from airflow_export_provider.engine.destinations.s3 import S3Destination

    return S3Destination(spec)
