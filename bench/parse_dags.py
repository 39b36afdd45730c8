"""DAG-file processing time of the drop-in loader, for 10 / 100 / 1,000 export definitions.

    .venv/bin/python bench/parse_dags.py                    # 10, 100, 1000
    .venv/bin/python bench/parse_dags.py --counts 10 100 1000 3000 --out bench/results/parse.md

For each count, a DAGs folder with the example loader and that many definitions (a mix
of formats, schedules, layouts, alerts and sources, as a SaaS deployment has: one per
customer) is processed in a fresh Python process the way Airflow's DAG processor
processes a file: a ``DagBag`` of the loader file (what ``dagbag_import_timeout``
bounds), then every DAG serialised (``DagSerialization.to_dict``, as the processor does
before it sends the DAGs to the database). Airflow's own import time is measured apart:
it is paid whatever the file holds.

Printed: parse and serialisation seconds, milliseconds per definition (a definition is
two DAGs: the recurring and the one-time export), peak RSS of the process, and which
heavy modules parsing imported (pyarrow, boto3, pandas) and why. No number is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from peak import peak_rss_mb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from airflow_export_provider.testing.many_definitions import write_dags_folder  # noqa: E402

HEAVY = ("pyarrow", "boto3", "pandas")


def child(loader: str) -> dict[str, Any]:
    """Process one DAG file as the DAG processor does; timings, memory and heavy imports."""
    started = time.perf_counter()
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    airflow_import = time.perf_counter() - started
    already = {name for name in HEAVY if name in sys.modules}
    started = time.perf_counter()
    bag = DagBag(dag_folder=loader, load_op_links=False)
    parsed = time.perf_counter() - started
    started = time.perf_counter()
    serialised = [DagSerialization.to_dict(dag) for dag in bag.dags.values()]
    serialise = time.perf_counter() - started
    return {
        "airflow_import_s": airflow_import,
        "parse_s": parsed,
        "serialise_s": serialise,
        "dags": len(serialised),
        "import_errors": len(bag.import_errors),
        "peak_rss_mb": peak_rss_mb(),
        "heavy_imports": sorted(name for name in HEAVY if name in sys.modules and name not in already),
    }


def measure(count: int, work: Path) -> dict[str, Any]:
    loader = write_dags_folder(work / f"dags-{count}", count)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(work / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(loader.parent),
    }
    command = [sys.executable, __file__, "--child", str(loader)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"processing {count} definitions failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["definitions"] = count
    return result


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| definitions | DAGs | parse (DagBag) | per definition | serialise | per definition | "
        "parse + serialise per definition | peak RSS | heavy imports while parsing |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        n = r["definitions"]
        lines.append(
            f"| {n:,} | {r['dags']:,} | {r['parse_s']:.2f} s | {1000 * r['parse_s'] / n:.2f} ms | "
            f"{r['serialise_s']:.2f} s | {1000 * r['serialise_s'] / n:.2f} ms | "
            f"{1000 * (r['parse_s'] + r['serialise_s']) / n:.2f} ms | {r['peak_rss_mb']:.0f} MB | "
            f"{', '.join(r['heavy_imports']) or 'none'} |"
        )
    airflow = min(r["airflow_import_s"] for r in results)
    lines.append("")
    lines.append(f"Airflow's own import (`DagBag`, serialisation), paid by every DAG file: {airflow:.2f} s.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    with tempfile.TemporaryDirectory(prefix="parse-bench-") as work:
        results = [measure(count, Path(work)) for count in args.counts]
    text = table(results)
    print(text)
    if args.out:
        args.out.write_text(f"# DAG-file processing, {os.cpu_count()} cores\n\n{text}\n")


if __name__ == "__main__":
    main()
