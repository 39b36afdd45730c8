"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

Kept free of heavy imports: Airflow calls it while it is still loading its configuration.
The plugin (timetable registration) is not listed here but shipped as an ``airflow.plugins``
entry point, which every process loads; listed in both, Airflow with
``lazy_discover_providers=False`` would load it twice and report an "already registered"
plugin import error.
"""

from __future__ import annotations

from typing import Any

from airflow_export_provider.version import __version__

INTEGRATION = "Event Export"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-export-provider",
        "name": "Event Export",
        "description": "Exports event data to Amazon S3 on a midnight-aligned window grid; a DAG each.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                # The integration is S3, listed as the amazon provider lists its services: the
                # package has no public home page yet (its docs ship in the sdist).
                "external-doc-url": "https://aws.amazon.com/s3/",
                "tags": ["aws"],
            }
        ],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_export_provider.operators.export",
                    "airflow_export_provider.operators.one_time",
                    "airflow_export_provider.operators.history",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_export_provider.sensors.bucket_access",
                    "airflow_export_provider.sensors.window_complete",
                ],
            }
        ],
        "hooks": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_export_provider.hooks.lake",
                    "airflow_export_provider.hooks.airflow_api",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_export_provider.triggers.bucket_access",
                    "airflow_export_provider.triggers.window_complete",
                ],
            }
        ],
        "notifications": [
            "airflow_export_provider.notifications.webhook.ExportWebhookNotifier",
            "airflow_export_provider.notifications.email.ExportEmailNotifier",
        ],
    }
