"""One step of a window's export in a process of its own, for ``bench/shards.py``.

    python bench/shard_step.py one|plan|shard|commit SPEC_JSON START END [PLAN_ID [SHARD]]

Prints one JSON line: the step's own seconds and, for ``plan``, the plan id.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from airflow_export_provider.engine.run import export_window
from airflow_export_provider.engine.shards import commit_shards, export_shard, plan_shards
from airflow_export_provider.engine.windows import Window, parse_moment
from airflow_export_provider.hooks.connections import destination_for, source_for
from airflow_export_provider.spec import ExportSpec


def main() -> None:
    step, definition, start, end, *rest = sys.argv[1:]
    spec = ExportSpec.from_mapping(json.loads(definition))
    window = Window(parse_moment(start), parse_moment(end))
    destination = destination_for(spec.destination)
    began = time.perf_counter()
    report: dict[str, object] = {}
    if step == "one":
        report["records"] = export_window(
            spec, window, source=source_for(spec.source), destination=destination
        ).records
    elif step == "plan":
        report["plan_id"] = plan_shards(
            spec, window, source=source_for(spec.source), destination=destination
        ).plan_id
    elif step == "shard":
        parts = export_shard(spec, window, rest[0], int(rest[1]), source=source_for(spec.source),
                             destination=destination)  # fmt: skip
        report["records"] = sum(f.records for f in parts.files)
    elif step == "commit":
        report["records"] = commit_shards(spec, window, rest[0], destination=destination).records
    report["seconds"] = time.perf_counter() - began
    print(json.dumps(report))


if __name__ == "__main__":
    main()
