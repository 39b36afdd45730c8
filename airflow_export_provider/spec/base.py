"""What every section of an export definition shares: unknown keys refused, values frozen."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

MiB = 1024 * 1024
SAFE_ID = r"^[A-Za-z0-9_-]{1,64}$"
SAFE_PREFIX = r"^[A-Za-z0-9_./-]*$"


class SpecModel(BaseModel):
    """A section of the definition: a typo'd key is an error, and a validated spec cannot change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def type_or(default: str) -> Callable[[Any], str]:
    """A union discriminator: the ``type`` key of a mapping or model, ``default`` when absent."""

    def tag(value: Any) -> str:
        if isinstance(value, Mapping):
            return str(value.get("type", default))
        return str(getattr(value, "type", default))

    return tag


def clean_prefix(prefix: str) -> str:
    """A key prefix without empty, ``.`` or ``..`` folders (``a//b/`` → ``a/b``)."""
    parts = [part for part in prefix.split("/") if part]
    if any(part in (".", "..") for part in parts):
        raise ValueError("'.' and '..' are not allowed as prefix folders")
    return "/".join(parts)
