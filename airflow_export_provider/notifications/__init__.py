"""Alerts about export runs, as Airflow notifiers: attach them to any DAG or task callback."""

from __future__ import annotations

from airflow_export_provider.notifications.email import ExportEmailNotifier
from airflow_export_provider.notifications.payload import export_payload
from airflow_export_provider.notifications.webhook import ExportWebhookNotifier, signature

__all__ = ["ExportEmailNotifier", "ExportWebhookNotifier", "export_payload", "signature"]
