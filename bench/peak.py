"""A benchmark child's own peak resident memory.

``getrusage(RUSAGE_SELF).ru_maxrss`` (and ``wait4`` in the parent) keep the largest
memory the process had before ``exec``: a child of a benchmark that has just written a
lake or loaded a table reports the benchmark's peak, not its own (seen: 418 MB for every
child of ``bench/sql_source.py``). The kernel's ``VmHWM`` starts afresh at ``exec``.
"""

from __future__ import annotations

from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak resident set since its ``exec``, in MB (``VmHWM``, Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (not Linux?)")
