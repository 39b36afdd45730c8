#!/usr/bin/env bash
# The whole test suite: lint, types, unit + integration (loopback S3) + system (Airflow, a live
# scheduler + API server, a headless Chromium on the Airflow UI) tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh
bash .ci/system_packages.sh
.venv/bin/ruff check airflow_export_provider tests example_dags
.venv/bin/ruff format --check airflow_export_provider tests example_dags
.venv/bin/mypy
.venv/bin/lint-imports --no-cache
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
