from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest

from airflow_export_provider.engine.formats import format_of
from airflow_export_provider.exceptions import ExportSpecError
from airflow_export_provider.spec import ExportSpec, FormatSpec


def valid(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "export_id": "daily_events",
        "account_id": "acme",
        "source": {"path": "/data/lake"},
        "destination": {"bucket": "my-bucket", "prefix": "/exports/acme/"},
        "schedule": {"every": "4h", "timezone": "Europe/Berlin", "start_date": "2025-03-01"},
    }
    spec.update(changes)
    return spec


def problems(data: Any) -> str:
    with pytest.raises(ExportSpecError) as raised:
        ExportSpec.from_mapping(data)
    return str(raised.value)


def test_valid_spec_gets_defaults_and_normalised_prefix() -> None:
    spec = ExportSpec.from_mapping(valid())
    assert spec.dag_id == "export__daily_events"
    assert spec.destination.type == "s3"
    assert spec.destination.prefix == "exports/acme"
    assert spec.schedule.every == 4
    assert spec.format.type == "csv" and spec.format.outer_compression == "gzip"
    assert format_of(spec.format).file_extension(spec.format) == "csv.gz"
    assert spec.layout.resolved(spec.schedule.every).folder_template == "events/{date}"


def test_spec_hash_is_stable_and_changes_with_the_spec() -> None:
    assert ExportSpec.from_mapping(valid()).spec_hash == ExportSpec.from_mapping(valid()).spec_hash
    assert (
        ExportSpec.from_mapping(valid()).spec_hash
        != ExportSpec.from_mapping(valid(account_id="other")).spec_hash
    )


def test_parquet_compresses_inside_the_file_by_default() -> None:
    spec = ExportSpec.from_mapping(valid(format={"type": "parquet"}))
    assert spec.format.outer_compression == "none"
    assert format_of(spec.format).file_extension(spec.format) == "parquet"
    gz = ExportSpec.from_mapping(valid(format={"type": "parquet", "compression": "gzip"}))
    assert format_of(gz.format).file_extension(gz.format) == "parquet.gz"
    assert format_of(gz.format).object_content_type(gz.format) == "application/gzip"
    assert format_of(spec.format).object_content_type(spec.format) == "application/vnd.apache.parquet"


def test_every_format_type_a_spec_allows_has_a_registered_format() -> None:
    for name in typing.get_args(FormatSpec.model_fields["type"].annotation):
        registered = format_of(FormatSpec.model_validate({"type": name}))
        assert registered.name == name and registered.extension


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"format": {"type": "csvx"}},
            "format.type: 'csvx' is not allowed; expected 'csv', 'jsonl', 'xml' or 'parquet'",
        ),
        ({"colour": "blue"}, "colour: unknown key (value 'blue')"),
        ({"destination": {"bucket": "b", "regoin": "x"}}, "destination.regoin: unknown key"),
        (
            {"destination": {"bucket": "Bad_Bucket"}},
            "destination.bucket: 'Bad_Bucket' is not a valid S3 bucket name",
        ),
        ({"destination": {"type": "ftp", "bucket": "b"}}, "destination: type 'ftp' is not known"),
        ({"export_id": "../etc"}, "export_id: '../etc' may only contain letters, digits, '-' and '_'"),
        (
            {"schedule": {"every": "5h", "start_date": "2025-01-01"}},
            "schedule.every: '5h' is not a whole divisor of 24",
        ),
        ({"schedule": {"timezone": "Mars/Base", "start_date": "2025-01-01"}}, "unknown timezone 'Mars/Base'"),
        ({"schedule": {"every": "24h", "include_history": True}}, "include_history needs start_date"),
        ({"schedule": "daily"}, "'daily' is not a schedule"),
        ({"schedule": {"delay": "5"}}, "'5' is not a duration; write it with units"),
        ({"schedule": {"retries": -1}}, "retries must be 'unlimited' or between 0"),
        ({"layout": {"folder_template": "a/{date}/b c"}}, "template 'a/{date}/b c' contains [' ']"),
        ({"layout": {"file_template": "x/{date}"}}, "contains ['/']"),
        ({"layout": {"file_template": "{{Nope}}"}}, "unknown variable '{{Nope}}'"),
        (
            {"layout": {"folders": ["date"], "folder_template": "{date}"}},
            "either folders (presets) or folder_template",
        ),
        ({"destination": {"bucket": "b12", "encryption": {"type": "aws:kms"}}}, "needs kms_key_id"),
        ({"destination": {"bucket": "b12", "prefix": "a/../b"}}, "'.' and '..' are not allowed"),
        ({"format": {"type": "csv", "compression_level": 11}}, "format.compression_level"),
    ],
)
def test_invalid_specs_name_the_key_the_value_and_what_is_allowed(
    changes: dict[str, Any], expected: str
) -> None:
    assert expected in problems(valid(**changes))


def test_all_problems_are_reported_at_once() -> None:
    message = problems(valid(format={"type": "doc"}, account_id="a b", colour=1))
    assert "format.type" in message and "account_id" in message and "colour" in message


def test_not_a_mapping() -> None:
    assert "expected a mapping of keys, got list" in problems([1, 2])


def test_yaml_errors_give_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("export_id: x\nsource: [unclosed\n")
    with pytest.raises(ExportSpecError) as raised:
        ExportSpec.from_yaml(path)
    assert "broken.yaml" in str(raised.value) and "not valid YAML at line" in str(raised.value)


def test_commercial_tool_template_syntax_is_accepted() -> None:
    spec = ExportSpec.from_mapping(
        valid(layout={"folder_template": "{{ExportID}}/{{Date}}", "file_template": "{{AccountID}}"})
    )
    assert spec.layout.folder_template == "{{ExportID}}/{{Date}}"


def test_a_local_destination_is_refused_under_a_distributed_executor_unless_shared() -> None:
    from airflow_export_provider.dags import local_destination_problem

    def spec(**destination: object) -> ExportSpec:
        return ExportSpec.from_mapping(
            {"export_id": "a", "account_id": "b", "source": {"path": "/lake"},
             "destination": {"type": "local", "path": "/out", **destination}, "schedule": {"every": "24h"}}
        )  # fmt: skip

    assert local_destination_problem(spec(), "LocalExecutor") is None
    problem = local_destination_problem(spec(), "LocalExecutor,CeleryExecutor")
    assert problem is not None and "CeleryExecutor" in problem and "destination.shared: true" in problem
    path = "airflow.providers.cncf.kubernetes.executors.kubernetes_executor.KubernetesExecutor"
    assert "KubernetesExecutor" in (local_destination_problem(spec(), f"k8s:{path}") or "")
    assert local_destination_problem(spec(shared=True), "CeleryExecutor") is None
    s3 = ExportSpec.from_mapping(
        {"export_id": "a", "account_id": "b", "source": {"path": "/lake"},
         "destination": {"bucket": "exports"}, "schedule": {"every": "24h"}}
    )  # fmt: skip
    assert local_destination_problem(s3, "CeleryExecutor") is None


def test_shards_need_files_per_event_and_a_bounded_count() -> None:
    assert ExportSpec.from_mapping(valid(shards=4)).shards == 4
    assert "split: event" in problems(valid(shards=4, layout={"split": "window"}))
    assert "shards" in problems(valid(shards=0))
    assert "shards" in problems(valid(shards=65))


def test_an_events_shard_is_a_stable_hash_of_its_name() -> None:
    """The same shard on every machine, run and Python version: keys must not move."""
    from airflow_export_provider.engine.keys import shard_of

    # Pinned: a change here renames every sharded file of every user.
    assert [shard_of(name, 4) for name in ("App Launched", "Charged", "Viewed Product", "")] == [3, 2, 3, 0]
    assert [shard_of(name, 7) for name in ("App Launched", "Charged")] == [3, 1]
    assert shard_of(None, 4) == 0 and shard_of("anything", 1) == 0
