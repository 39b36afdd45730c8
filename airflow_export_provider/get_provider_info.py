"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

Kept free of heavy imports: Airflow calls it while it is still loading its configuration.
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
                "external-doc-url": "https://pypi.org/project/airflow-export-provider/",
                "tags": ["aws"],
            }
        ],
        "operators": [
            {"integration-name": INTEGRATION, "python-modules": ["airflow_export_provider.operators.export"]}
        ],
        "hooks": [
            {"integration-name": INTEGRATION, "python-modules": ["airflow_export_provider.hooks.lake"]}
        ],
        "plugins": [
            {"name": "export_provider", "plugin-class": "airflow_export_provider.plugin.ExportProviderPlugin"}
        ],
    }
