#!/usr/bin/env bash
# Creates .venv (Python 3.11+) and installs the package with its dev extras, pinned by
# .ci/constraints.txt. Idempotent: a second run only checks the install (a few seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

# VENV and EXTRAS choose another environment (bench/run.sh: .venv-bench with dev,bench).
venv="${VENV:-.venv}"
extras="${EXTRAS:-dev}"
python_bin="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x "$venv/bin/python" ]; then
  "$python_bin" -m venv "$venv"
fi
if [ ! -x "$venv/bin/uv" ]; then
  "$venv/bin/python" -m pip --version >/dev/null 2>&1 || "$venv/bin/python" -m ensurepip >/dev/null
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check uv 2>&1 | grep -v "is ignored" || true
fi
# Bytecode is compiled at install: uv does not by default, and where PYTHONDONTWRITEBYTECODE
# is set (as on CI machines and in many images) Python never caches it either, so every
# process - each export, each Airflow task, scheduler and worker - compiled its modules
# from source again: 0.5 s of an export's 0.8 s start-up (docs/performance.md, "Start-up").
"$venv/bin/uv" pip install --quiet --compile-bytecode -p "$venv/bin/python" -c .ci/constraints.txt -e ".[$extras]"
"$venv/bin/python" -m compileall -q airflow_export_provider >/dev/null  # the editable package itself
# setuptools leaves <name>.egg-info in the source tree; with the repository as the working
# directory Python then sees the package twice and Airflow warns that the plugin is
# registered twice. The editable install's own metadata lives in .venv.
rm -rf ./*.egg-info
