"""Where exported objects go: S3 (production) or a local directory (development)."""

from __future__ import annotations

from airflow_export_provider.engine.destinations.base import Destination, ObjectUpload

__all__ = ["Destination", "ObjectUpload"]
