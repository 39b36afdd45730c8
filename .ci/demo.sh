#!/usr/bin/env bash
# The main job: sample events → loopback S3 lake → export DAG run through Airflow → objects + manifest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh
exec .venv/bin/airflow-export demo "$@"
