"""Which allocator Arrow uses in a worker process that imports the provider (a fresh process each)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, sys
import airflow_export_provider.export
import pyarrow as pa
from airflow_export_provider.memory import use_returning_memory_pool
cpp_default = pa.default_memory_pool().backend_name
use_returning_memory_pool()
print(json.dumps({"cpp_default": cpp_default, "python_calls": pa.default_memory_pool().backend_name}))
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="jemalloc is chosen on Linux")


def probe(code: str, **env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    done = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_parquet_reader_and_every_other_arrow_allocation_use_jemalloc() -> None:
    assert probe(PROBE) == {"cpp_default": "jemalloc", "python_calls": "jemalloc"}


def test_a_pool_named_in_the_worker_environment_is_kept() -> None:
    chosen = probe(PROBE, ARROW_DEFAULT_MEMORY_POOL="system")
    assert chosen["cpp_default"] == chosen["python_calls"] == "system"


def test_pyarrow_loaded_first_keeps_its_allocator_for_cpp_and_jemalloc_for_python_calls() -> None:
    bare = 'import json, pyarrow as pa; print(json.dumps({"pool": pa.default_memory_pool().backend_name}))'
    wheel_default = probe(bare)
    chosen = probe("import pyarrow\n" + PROBE)
    assert chosen == {"cpp_default": wheel_default["pool"], "python_calls": "jemalloc"}
