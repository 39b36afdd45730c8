"""Which allocator Arrow uses in a worker process that imports the provider (a fresh process each)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

PROBE = """
import json, sys
import airflow_export_provider.engine.run
import pyarrow as pa
from airflow_export_provider.engine.runtime.memory_pool import use_returning_memory_pool
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


# Arrow's jemalloc prints its options with arrow::jemalloc_stats_print(const char*), which
# pyarrow does not wrap; its Status result comes back through a hidden first argument.
JEMALLOC_OPTIONS = """
import ctypes, glob, os
import airflow_export_provider
import pyarrow as pa
pa.array([1])
library = glob.glob(os.path.join(os.path.dirname(pa.__file__), "libarrow.so.*"))[0]
stats_print = ctypes.CDLL(library)._ZN5arrow20jemalloc_stats_printEPKc
stats_print.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
stats_print.restype = None
status = ctypes.create_string_buffer(64)
stats_print(ctypes.addressof(status), b"mdablxe")  # general information only
"""


def jemalloc_options(**env: str) -> dict[str, str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in ("ARROW_DEFAULT_MEMORY_POOL", "JE_ARROW_MALLOC_CONF")
    }
    done = subprocess.run(
        [sys.executable, "-c", JEMALLOC_OPTIONS], env={**clean, **env}, capture_output=True, text=True
    )
    if "undefined symbol" in done.stderr or "AttributeError" in done.stderr:
        pytest.skip("this pyarrow does not export arrow::jemalloc_stats_print")
    assert done.returncode == 0, done.stderr
    found = re.findall(r"^\s+opt\.(\w+): (\S+)", done.stderr, re.MULTILINE)
    return dict(found)


def test_jemalloc_gives_freed_pages_back_instead_of_keeping_them_resident() -> None:
    options = jemalloc_options()
    assert (options["dirty_decay_ms"], options["muzzy_decay_ms"]) == ("100", "0")


def test_jemalloc_options_named_in_the_worker_environment_are_kept() -> None:
    options = jemalloc_options(JE_ARROW_MALLOC_CONF="dirty_decay_ms:2000")
    assert (options["dirty_decay_ms"], options["muzzy_decay_ms"]) == ("2000", "1000")
