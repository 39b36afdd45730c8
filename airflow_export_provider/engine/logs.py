"""Numbers as a person reads them in a task log: sizes, rates, durations."""

from __future__ import annotations


def human_duration(seconds: float) -> str:
    """``0.4 s``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``: precise where it matters."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def per_second(count: int, seconds: float, unit: str) -> str:
    """``85,708 records/s``."""
    return f"{count / max(seconds, 1e-9):,.0f} {unit}/s"
