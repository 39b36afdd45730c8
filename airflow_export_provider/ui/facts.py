"""What the Export center shows about a definition, carried in the DAG's own documentation.

The API server must not run DAG files (Airflow 3 keeps user code out of it), so it cannot
re-read the definitions. Each export DAG's doc (shown on its Details page anyway) ends with
a small JSON block of the definition's facts, which the API server reads from the
serialized DAG.
"""

from __future__ import annotations

import json
import re
from typing import Any

from airflow_export_provider.spec import ExportSpec

FACTS_HEADING = "#### Definition facts (read by the Export center)"
_BLOCK = re.compile(re.escape(FACTS_HEADING) + r"\s*```json\n(.*?)\n```", re.DOTALL)


def export_facts(spec: ExportSpec) -> dict[str, Any]:
    destination = spec.destination
    root = f"s3://{destination.bucket}" if destination.type == "s3" else destination.path
    return {
        "export_id": spec.export_id,
        "account_id": spec.account_id,
        "destination": f"{root}/{destination.prefix}".rstrip("/"),
        "format": spec.format.type,
        "compression": spec.format.outer_compression,
        "schedule": spec.schedule.description,
        "one_time_dag_id": spec.one_time_dag_id if spec.one_time.enabled else None,
        # Connection ids, bucket, prefix: enough to read a manifest through the export's connection.
        "destination_spec": destination.model_dump(mode="json"),
    }


def facts_block(spec: ExportSpec) -> str:
    return f"\n{FACTS_HEADING}\n\n```json\n{json.dumps(export_facts(spec), sort_keys=True)}\n```\n"


def read_facts(doc_md: str | None) -> dict[str, Any] | None:
    """The facts of an export DAG's doc, or ``None`` for any other DAG."""
    found = _BLOCK.search(doc_md or "")
    if found is None:
        return None
    try:
        facts = json.loads(found.group(1))
    except ValueError:
        return None
    return facts if isinstance(facts, dict) else None
