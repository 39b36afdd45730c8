#!/usr/bin/env bash
# The benchmark in one command: its own environment (.venv-bench: the package with the dev
# and bench extras, pandas for the peer), PostgreSQL's binaries if missing, then bench/run.py.
#   bash bench/run.sh [--rows 1000000 10000000] [--formats csv parquet] [--no-peer] [--profile csv]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-bench EXTRAS=dev,bench bash .ci/setup.sh
if [[ " $* " != *" --no-peer "* ]]; then
  bash .ci/system_packages.sh
fi
exec .venv-bench/bin/python bench/run.py "$@"
