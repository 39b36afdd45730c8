"""Source data that is wrong in ordinary ways: every row is exported, or counted with a reason, or the
window fails with a message naming the file, and nothing is published. Real files written by
pyarrow, the loopback S3 API, outputs read back with gzip + json."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pendulum
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_export_provider.engine.events import EventSchemaError
from airflow_export_provider.engine.run import export_window
from airflow_export_provider.engine.sources.event_time import EventTimeError
from airflow_export_provider.engine.sources.lake import LakeFileError
from airflow_export_provider.engine.sources.rejections import RejectedRows
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.hooks.connections import destination_for, source_for
from airflow_export_provider.spec import ExportSpec

pytestmark = pytest.mark.integration
BUCKET = "exports"
DAY = dt.date(2025, 3, 1)
WINDOW = Window(pendulum.datetime(2025, 3, 1), pendulum.datetime(2025, 3, 2))
BASE = dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc)
MOMENTS = [BASE + dt.timedelta(minutes=7 * i, microseconds=i) for i in range(100)]
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def micros(moment: dt.datetime) -> int:
    """Exact epoch microseconds (``timestamp()`` is a float and can be one off)."""
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


def empty_bucket(s3: Any) -> None:
    if not s3.list_buckets()["Buckets"]:
        s3.create_bucket(Bucket=BUCKET)
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    if listed:
        s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": item["Key"]} for item in listed]})


def write_lake(root: Path, times: pa.Array, *, column: str = "event_time", day: dt.date = DAY) -> Path:
    folder = root / f"date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table({"event_name": [f"E{i % 3}" for i in range(len(times))], column: times,
                      "user_id": [f"u{i}" for i in range(len(times))]})  # fmt: skip
    pq.write_table(table, folder / "part-00000.parquet")
    return root


def spec(lake: Path, schedule: dict[str, Any] | None = None, **source: Any) -> ExportSpec:
    return ExportSpec.from_mapping({
        "export_id": "bad", "account_id": "acme", "source": {"path": str(lake), **source},
        "destination": {"bucket": BUCKET, "prefix": "p"}, "format": {"type": "jsonl"},
        "schedule": {"every": "24h", **(schedule or {})},
    })  # fmt: skip


def export(definition: ExportSpec, window: Window = WINDOW) -> Any:
    return export_window(
        definition, window, source=source_for(definition.source, definition.schedule.grid),
        destination=destination_for(definition.destination),
    )  # fmt: skip


def exported_times(s3: Any, result: Any) -> list[dt.datetime]:
    times = []
    for file in result.files:
        body = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=file.key)["Body"].read())
        times += [
            dt.datetime.fromisoformat(json.loads(line)["eventTime"]) for line in body.decode().splitlines()
        ]
    return sorted(times)


def manifest(s3: Any, result: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        s3.get_object(Bucket=BUCKET, Key=result.manifest_url.split(f"{BUCKET}/")[1])["Body"].read()
    )
    return loaded


def nothing_published(s3: Any) -> bool:
    return not s3.list_objects_v2(Bucket=BUCKET).get("Contents") and not s3.list_multipart_uploads(
        Bucket=BUCKET
    ).get("Uploads")


@pytest.mark.parametrize(
    ("unit", "values"),
    [
        ("s", [micros(m) // 1_000_000 for m in MOMENTS]),
        ("ms", [micros(m) // 1_000 for m in MOMENTS]),
        ("us", [micros(m) for m in MOMENTS]),
        ("ns", [micros(m) * 1_000 + 999 for m in MOMENTS]),
        ("s", [micros(m) / 1_000_000 for m in MOMENTS]),  # decimal seconds
    ],
)
def test_epoch_numbers_in_their_declared_unit_are_all_exported(
    s3: Any, tmp_path: Path, unit: str, values: list[float]
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    lake = write_lake(tmp_path, pa.array(values), column="ts")
    result = export(spec(lake, event_time={"column": "ts", "unit": unit}))
    step = {"s": 1_000_000, "ms": 1_000}.get(unit, 1) if isinstance(values[0], int) else 1
    tolerance = dt.timedelta(microseconds=step if isinstance(values[0], int) else 2)
    got = exported_times(s3, result)
    assert len(got) == 100
    for exported, moment in zip(got, MOMENTS, strict=True):
        assert dt.timedelta(0) <= moment - exported < tolerance


def test_an_epoch_number_without_a_unit_fails_naming_file_column_and_fix(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    lake = write_lake(tmp_path, pa.array([micros(m) // 1_000_000 for m in MOMENTS]))
    with pytest.raises(EventTimeError) as failed:
        export(spec(lake))
    message = str(failed.value)
    assert "part-00000.parquet" in message and "'event_time' holds int64 numbers" in message
    assert "unit: s}" in message and nothing_published(s3)


def test_a_unit_that_puts_the_data_in_another_century_is_refused(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    lake = write_lake(tmp_path, pa.array([micros(m) // 1_000_000 for m in MOMENTS]))
    with pytest.raises(
        EventTimeError, match=r"read as epoch ms gives times from 1970-01-21 .* unit is probably wrong"
    ):
        export(spec(lake, event_time={"unit": "ms"}))
    assert nothing_published(s3)


@pytest.mark.parametrize(
    "times",
    [
        pa.array(MOMENTS, pa.timestamp("us", "UTC")),
        pa.array([m.replace(tzinfo=None) for m in MOMENTS], pa.timestamp("us")),  # no zone: UTC
        pa.array([micros(m) * 1000 + 999 for m in MOMENTS], pa.timestamp("ns")),
        pa.array(
            [m.astimezone(dt.timezone(dt.timedelta(hours=5))) for m in MOMENTS], pa.timestamp("ms", "+05:00")
        ),
        pa.array([m.isoformat().replace("+00:00", "Z") for m in MOMENTS]),
        pa.array([m.replace(tzinfo=None).isoformat(sep=" ") for m in MOMENTS]),
    ],
    ids=["us-utc", "naive", "ns", "ms-offset", "iso-z", "iso-naive"],
)
def test_timestamps_of_any_unit_and_zone_and_iso_text_are_understood(
    s3: Any, tmp_path: Path, times: pa.Array
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    result = export(spec(write_lake(tmp_path, times)))
    got = exported_times(s3, result)
    precision = "ms" if times.type == pa.timestamp("ms", "+05:00") else "us"
    expected = [
        m.replace(microsecond=m.microsecond // 1000 * 1000) if precision == "ms" else m for m in MOMENTS
    ]
    assert got == expected


def test_null_event_times_fail_the_window_with_counts_and_a_sample(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    lake = write_lake(tmp_path, pa.array([None if i % 10 == 0 else m for i, m in enumerate(MOMENTS)]))
    with pytest.raises(RejectedRows) as failed:
        export(spec(lake))
    message = str(failed.value)
    assert "10 of 100 rows scanned cannot be exported" in message and "10 rows with no event time" in message
    assert "part-00000.parquet: event_name='E0', event_time=null" in message
    assert "source.rejected_rows: {null_event_time: count}" in message and nothing_published(s3)


def test_counted_rejections_add_up_to_the_rows_scanned(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    texts = [
        None if i % 10 == 0 else "not a time" if i % 10 == 1 else m.isoformat() for i, m in enumerate(MOMENTS)
    ]
    result = export(spec(write_lake(tmp_path, pa.array(texts)), rejected_rows="count"))
    source = manifest(s3, result)["source"]
    assert source["rows_rejected"] == {"null_event_time": 10, "unreadable_event_time": 10}
    assert result.records == 80 == source["rows_in_window"]
    assert source["rows_scanned"] == source["rows_in_window"] + source["rows_outside_window"] + 20


def test_rows_filed_under_the_wrong_day_are_counted_once_over_the_days_windows(
    s3: Any, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    misfiled = [m + dt.timedelta(days=4) if i < 5 else m for i, m in enumerate(MOMENTS)]
    lake = write_lake(tmp_path, pa.array(misfiled, pa.timestamp("us", "UTC")))
    with pytest.raises(RejectedRows, match="5 rows filed under a date= folder that no window containing"):
        export(
            spec(lake, {"every": "8h"}),
            Window(pendulum.datetime(2025, 3, 1), pendulum.datetime(2025, 3, 1, 8)),
        )
    counting = spec(lake, {"every": "8h"}, rejected_rows={"outside_partition": "count"})
    rejected, exported = 0, 0
    for start in (0, 8, 16):
        window = Window(
            pendulum.datetime(2025, 3, 1, start), pendulum.datetime(2025, 3, 1, start).add(hours=8)
        )
        result = export(counting, window)
        rejected += manifest(s3, result)["source"]["rows_rejected"].get("outside_partition", 0)
        exported += result.records
    assert (rejected, exported) == (5, 95)


def test_a_window_crossing_utc_midnight_keeps_rows_of_its_next_utc_day(s3: Any, tmp_path: Path) -> None:
    """Berlin days start at 23:00 UTC: the folder of 1 March holds the first hour of Berlin's 2 March."""
    s3.create_bucket(Bucket=BUCKET)
    late = [BASE + dt.timedelta(hours=23, minutes=i) for i in range(30)]
    lake = write_lake(tmp_path, pa.array(late, pa.timestamp("us", "UTC")))
    berlin = spec(lake, {"timezone": "Europe/Berlin"})
    result = export(berlin, Window(pendulum.datetime(2025, 3, 1, 23), pendulum.datetime(2025, 3, 2, 23)))
    assert result.records == 30 and manifest(s3, result)["source"]["rows_rejected"] == {}


def test_a_truncated_parquet_file_fails_naming_the_file(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    lake = write_lake(tmp_path, pa.array(MOMENTS, pa.timestamp("us", "UTC")))
    path = lake / f"date={DAY}" / "part-00000.parquet"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(LakeFileError) as failed:
        export(spec(lake))
    assert str(path) in str(failed.value) and "cannot be read as parquet" in str(failed.value)
    assert "replace the file" in str(failed.value) and nothing_published(s3)


def test_a_broken_json_lines_file_fails_naming_the_file(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    folder = tmp_path / f"date={DAY}"
    folder.mkdir()
    (folder / "part-00000.jsonl").write_text(
        '{"event_name": "E", "event_time": "2025-03-01T00:00:00Z"}\n{"event_name": \n'
    )
    with pytest.raises(LakeFileError, match=r"part-00000\.jsonl cannot be read as jsonl"):
        export(spec(tmp_path, file_format="jsonl"))
    assert nothing_published(s3)


def test_a_declared_time_column_that_is_missing_is_named(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    lake = write_lake(tmp_path, pa.array(MOMENTS, pa.timestamp("us", "UTC")))
    with pytest.raises(EventSchemaError, match=r"no column 'occurred_at' \(source.event_time.column\)"):
        export(spec(lake, event_time={"column": "occurred_at"}))


REPRESENTATIONS = [
    "s",
    "ms",
    "us",
    "ns",
    "float_s",
    "ts_ns",
    "ts_ms_zone",
    "ts_naive",
    "iso_z",
    "iso_offset",
    "bool",
]


@st.composite
def time_columns(draw: Any) -> tuple[str, pa.Array, list[dt.datetime | None]]:
    """A time column in a random representation, with some nulls, and the instants it means."""
    kind = draw(st.sampled_from(REPRESENTATIONS))
    offsets = draw(st.lists(st.integers(0, 86_399_999_999), min_size=1, max_size=60))
    nulls = draw(st.lists(st.booleans(), min_size=len(offsets), max_size=len(offsets)))
    moments = [
        None if null else BASE + dt.timedelta(microseconds=o) for o, null in zip(offsets, nulls, strict=True)
    ]

    def each(spell: Any) -> list[Any]:
        return [None if m is None else spell(m) for m in moments]

    epoch = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
    if kind in epoch:
        values = pa.array(each(lambda m: micros(m) * epoch[kind] // 1_000_000), pa.int64())
    elif kind == "float_s":
        values = pa.array(each(lambda m: micros(m) / 1_000_000), pa.float64())
    elif kind == "ts_ns":
        values = pa.array(each(lambda m: m), pa.timestamp("us", "UTC")).cast(pa.timestamp("ns", "UTC"))
    elif kind == "ts_ms_zone":
        values = pa.array(each(lambda m: m), pa.timestamp("us", "UTC")).cast(
            pa.timestamp("ms", "UTC"), safe=False
        )
    elif kind == "ts_naive":
        values = pa.array(each(lambda m: m.replace(tzinfo=None)), pa.timestamp("us"))
    elif kind == "iso_z":
        values = pa.array(each(lambda m: m.isoformat().replace("+00:00", "Z")))
    elif kind == "iso_offset":
        values = pa.array(each(lambda m: m.astimezone(dt.timezone(dt.timedelta(hours=-3))).isoformat()))
    else:
        values = pa.array(each(lambda m: True), pa.bool_())
    return kind, values, moments


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(time_columns())
def test_any_time_representation_gives_a_clear_error_or_every_row_accounted_for(
    s3: Any, tmp_path_factory: pytest.TempPathFactory, column: tuple[str, pa.Array, list[dt.datetime | None]]
) -> None:
    kind, values, moments = column
    empty_bucket(s3)
    lake = write_lake(tmp_path_factory.mktemp("lake"), values, column="t")
    unit = kind if kind in ("s", "ms", "us", "ns") else "s" if kind == "float_s" else None
    definition = spec(lake, event_time={"column": "t", "unit": unit}, rejected_rows="count")
    try:
        result = export(definition)
    except (EventTimeError, RejectedRows) as error:
        assert kind == "bool" and "has type bool, which is not a time" in str(error)
        assert nothing_published(s3)
        return
    source = manifest(s3, result)["source"]
    present = [m for m in moments if m is not None]
    assert source["rows_scanned"] == len(moments)
    assert source["rows_rejected"].get("null_event_time", 0) == len(moments) - len(present)
    assert source["rows_in_window"] == result.records == len(present)
    precision = {"s": 1_000_000, "ms": 1_000, "ts_ms_zone": 1_000}.get(kind, 1)
    tolerance = dt.timedelta(microseconds=precision if kind != "float_s" else 2)
    for got, want in zip(exported_times(s3, result), sorted(present), strict=True):
        assert dt.timedelta(0) <= want - got < tolerance


def test_quarantined_rows_are_published_with_their_window_and_leave_with_it(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    texts = [
        None if i % 10 == 0 else "not a time" if i % 10 == 1 else m.isoformat() for i, m in enumerate(MOMENTS)
    ]
    lake = write_lake(tmp_path, pa.array(texts))
    result = export(spec(lake, rejected_rows="quarantine"))
    published = manifest(s3, result)
    entry = published["rejected_file"]
    assert entry["key"] == "p/_rejected/bad/2025-03-01/1740787200-0.jsonl.gz"
    assert entry["records"] == 20 and entry["by_reason"] == {
        "null_event_time": 10,
        "unreadable_event_time": 10,
    }
    stored = s3.get_object(Bucket=BUCKET, Key=entry["key"])["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == entry["sha256"] and len(stored) == entry["bytes"]
    rows = [json.loads(line) for line in gzip.decompress(stored).decode().splitlines()]
    unreadable = [row for row in rows if row["reason"] == "unreadable_event_time"]
    assert len(unreadable) == 10 and {row["event_time_as_stored"] for row in unreadable} == {"not a time"}
    assert {row["event"]["user_id"] for row in rows} == {f"u{i}" for i in range(100) if i % 10 in (0, 1)}
    assert all(row["source_file"].endswith("part-00000.parquet") for row in rows)
    assert result.records == 80 and entry["key"] not in {f.key for f in result.files}

    fixed = write_lake(tmp_path / "fixed", pa.array(MOMENTS, pa.timestamp("us", "UTC")))
    again = export(spec(fixed, rejected_rows="quarantine"))
    assert manifest(s3, again)["rejected_file"] is None and entry["key"] in again.stale_deleted
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert entry["key"] not in keys


def test_a_failing_window_leaves_no_quarantine_file(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    misfiled = [None if i < 5 else m + dt.timedelta(days=3) if i < 10 else m for i, m in enumerate(MOMENTS)]
    lake = write_lake(tmp_path, pa.array(misfiled, pa.timestamp("us", "UTC")))
    with pytest.raises(RejectedRows, match="5 rows filed under a date= folder"):
        export(spec(lake, rejected_rows={"null_event_time": "quarantine", "outside_partition": "fail"}))
    assert nothing_published(s3)


def test_a_nan_epoch_is_an_unreadable_time_not_a_crash(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    seconds = [float("nan") if i % 10 == 0 else micros(m) / 1_000_000 for i, m in enumerate(MOMENTS)]
    lake = write_lake(tmp_path, pa.array(seconds, pa.float64()))
    with pytest.raises(RejectedRows, match="10 rows whose event time is not a time"):
        export(spec(lake, event_time={"unit": "s"}))
    result = export(spec(lake, event_time={"unit": "s"}, rejected_rows="count"))
    assert result.records == 90 and manifest(s3, result)["source"]["rows_rejected"] == {
        "unreadable_event_time": 10
    }
