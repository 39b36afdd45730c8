"""Exception types users can catch; each message says what was wrong and how to fix it."""

from __future__ import annotations


def first_line(error: BaseException) -> str:
    """The first line of an error's message (drivers add pages of context), or its type's name."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class ExportError(Exception):
    """Base class of every error this provider raises on purpose."""


class ExportSpecError(ExportError, ValueError):
    """An export definition is invalid.

    Raised while the DAG file is parsed, so the Airflow UI shows it as an import error
    instead of a task failing at 3 a.m. The message names the offending key, the value
    seen and what is allowed.
    """

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid export spec{where}:\n{listing}")


class WindowError(ExportError, ValueError):
    """A requested window does not lie on the export's window grid."""


class DestinationError(ExportError):
    """Writing to, reading from or listing the destination failed."""


class ExportProviderDeprecationWarning(DeprecationWarning):
    """An import path or option that still works but will be removed; the message names the new one."""
