"""The only task of a placeholder DAG that stands in for an export definition that does not validate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_export_provider.version_compat import AirflowFailException, BaseOperator, Context


class InvalidDefinitionOperator(BaseOperator):
    """Fail with the definition's problems, so a run of the placeholder says what to fix.

    :param definition: the file that does not validate.
    :param problems: what is wrong, one line each (key, value seen, what is allowed).
    """

    template_fields: Sequence[str] = ()
    ui_color = "#f4d6d6"

    def __init__(self, *, definition: str, problems: Sequence[str], **kwargs: Any) -> None:
        kwargs.setdefault("retries", 0)  # a broken file stays broken until someone edits it
        super().__init__(**kwargs)
        self.definition = definition
        self.problems = list(problems)

    def execute(self, context: Context) -> None:
        listing = "\n".join(f"  - {problem}" for problem in self.problems)
        raise AirflowFailException(
            f"export definition {self.definition} is invalid; fix it and this placeholder DAG is "
            f"replaced by the export's own DAGs:\n{listing}"
        )
