"""Old import paths that keep working, with a warning naming the new one."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

from airflow_export_provider.exceptions import ExportProviderDeprecationWarning


def moved_module(old: str, new: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` that serves ``old.<name>`` from ``new`` and warns once per name."""

    def attribute(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(importlib.import_module(new), name)
        warnings.warn(
            f"{old}.{name} moved to {new}.{name}; import it from there ({old} will be removed)",
            ExportProviderDeprecationWarning,
            stacklevel=2,
        )
        return value

    return attribute
