"""Durations as users write them (``90s``, ``4h``, ``1h30m``) and as messages print them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, TypeAdapter, ValidationError


def parse_duration(value: Any) -> dt.timedelta:
    """Read ``90s``, ``5m``, ``4h``, ``1d``, ``1h30m`` (or ISO 8601 ``PT5M``, or a timedelta).

    Units are required: a bare number is refused, because "5" could mean seconds, minutes
    or hours and a wrong guess silently moves a delivery by hours.
    """
    if isinstance(value, dt.timedelta):
        return value
    text = str(value).strip().lower().replace(" ", "")
    if text.startswith("p"):  # ISO 8601, as a dumped spec writes it (PT5M)
        try:
            return TypeAdapter(dt.timedelta).validate_python(text.upper())
        except ValidationError:
            raise ValueError(f"{value!r} is not an ISO 8601 duration") from None
    parts = re.findall(r"(\d+)(d|h|m|s)", text)
    if not text or not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{value!r} is not a duration; write it with units such as '90s', '5m', '4h', '1d'")
    seconds = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
    return dt.timedelta(seconds=sum(int(n) * seconds[u] for n, u in parts))


def describe_duration(duration: dt.timedelta) -> str:
    """The inverse of :func:`parse_duration`, for messages and the UI: ``1h30m``, ``5m``, ``0s``."""
    seconds = int(duration.total_seconds())
    if seconds == 0:
        return "0s"
    text = ""
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        text += f"{amount}{unit}" if amount else ""
    return text


Duration = Annotated[dt.timedelta, BeforeValidator(parse_duration)]
