"""One window's export in this process, for a profiler; and a summary of py-spy's collapsed stacks.

    .venv/bin/py-spy record -r 200 --threads -f raw -o /tmp/jsonl.raw -- \
        .venv/bin/python bench/profile_window.py jsonl --rows 1000000
    .venv/bin/python bench/profile_window.py --summarise /tmp/jsonl.raw > bench/results/profile-….txt

The export is ``export_window`` of one day of sample events (``--shape standard|wide``)
from a local Parquet lake (written once under ``--lake``) to a temporary local folder:
no S3, no Airflow, so the profile shows the engine alone. The summary drops samples of
threads that wait (``Condition.wait``, idle pool workers) and lists the frames with the
most samples of their own ("self") and the project's frames with the most samples in or
below them ("incl").
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

IDLE = ("Condition.wait", "_worker (concurrent", "Condition._acquire")


def export(fmt: str, rows: int, shape: str, lake: Path) -> None:
    import pendulum

    from airflow_export_provider.engine.run import export_window
    from airflow_export_provider.engine.windows import Window
    from airflow_export_provider.hooks.connections import destination_for, source_for
    from airflow_export_provider.spec import ExportSpec
    from airflow_export_provider.testing.sample_events import write_lake

    root = lake / f"{shape}-{rows}"
    if not root.exists():
        write_lake(root, dt.date(2025, 3, 1), 1, rows, shape=shape)
    with tempfile.TemporaryDirectory() as out:
        spec = ExportSpec.from_mapping({
            "export_id": "profile", "account_id": "profile", "source": {"type": "lake", "path": str(root)},
            "destination": {"type": "local", "path": out}, "format": {"type": fmt},
            "schedule": {"every": "24h"}})  # fmt: skip
        window = Window(pendulum.datetime(2025, 3, 1), pendulum.datetime(2025, 3, 2))
        started = time.perf_counter()
        result = export_window(
            spec, window, source=source_for(spec.source), destination=destination_for(spec.destination)
        )
        print(f"{fmt} {shape} {result.records:,} records in {time.perf_counter() - started:.2f} s")


def summarise(raw: Path, top: int = 25) -> str:
    own: collections.Counter[str] = collections.Counter()
    inside: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if any(word in frames[-1] for word in IDLE):
            continue
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inside[frame] += int(count)
    lines = [f"active samples: {total}"]
    lines += [f"{n / total * 100:5.1f}% self {frame[:140]}" for frame, n in own.most_common(top)]
    lines.append("")
    lines += [
        f"{n / total * 100:5.1f}% incl {frame[:140]}"
        for frame, n in inside.most_common()
        if "airflow_export_provider" in frame and n / total > 0.01
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("format", nargs="?", default="jsonl", choices=["csv", "jsonl", "parquet", "xml"])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shape", default="standard", choices=["standard", "wide"])
    parser.add_argument("--lake", type=Path, default=Path(tempfile.gettempdir()) / "profile-lakes")
    parser.add_argument("--summarise", type=Path, help="print the summary of py-spy's raw output instead")
    args = parser.parse_args()
    if args.summarise:
        print(summarise(args.summarise))
    else:
        export(args.format, args.rows, args.shape, args.lake)


if __name__ == "__main__":
    main()
