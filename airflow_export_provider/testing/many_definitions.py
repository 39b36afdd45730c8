"""A DAGs folder with many drop-in export definitions, as a SaaS deployment has (one per customer).

Used by the parse benchmark (``bench/parse_dags.py``) and the test that a DAG processor
sees every DAG of a large folder. The definitions mix what users write: every format,
the layout presets, webhook and e-mail alerts, lake and SQL sources, 4- to 24-hour
schedules in two time zones.
"""

from __future__ import annotations

from pathlib import Path

LOADER = Path(__file__).resolve().parent.parent / "examples" / "exports_from_yaml.py"


def write_dags_folder(root: Path, count: int) -> Path:
    """A DAGs folder: the example loader and ``count`` definitions, one per customer."""
    exports = root / "exports"
    exports.mkdir(parents=True)
    (root / "exports_from_yaml.py").write_text(LOADER.read_text())
    # (format, layout preset) pairs a user would write; the presets that fix a format get it.
    shapes = (("csv", None), ("jsonl", "amplitude"), ("parquet", "hive"), ("xml", None),
              ("csv", "clevertap"), ("jsonl", None), ("parquet", None), ("csv", "hive"))  # fmt: skip
    for i in range(count):
        source = (
            "{type: sql, conn_id: events_db, table: events}"
            if i % 10 == 9
            else "{type: lake, path: s3://event-lake/events}"
        )
        fmt, preset = shapes[i % len(shapes)]
        layout = f"\nlayout: {{preset: {preset}}}" if preset else ""
        alerts = (
            "\nalerts: {webhook: {conn_id: export_webhook}, failed_after: 3 tries}"
            if i % 2
            else "\nalerts: {email: {to: [ops@example.com]}}"
        )
        (exports / f"customer_{i:05d}.yaml").write_text(
            f"export_id: customer_{i:05d}\n"
            f"account_id: account-{i:05d}\n"
            f"source: {source}\n"
            f"destination: {{type: s3, bucket: customer-{i:05d}-events, prefix: exports}}\n"
            f"format: {{type: {fmt}}}\n"
            f"schedule: {{every: {(4, 8, 12, 24)[i % 4]}h, timezone: {('UTC', 'Europe/Berlin')[i % 2]}}}"
            f"{layout}{alerts}\n"
        )
    return root / "exports_from_yaml.py"
