"""Each committed window becomes an asset event with the window's facts and partition key."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pendulum

from airflow_export_provider.assets import export_asset, record_asset_events
from airflow_export_provider.engine.run import WindowResult
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.engine.writer import ExportedFile
from airflow_export_provider.spec import ExportSpec

SPEC = ExportSpec.from_mapping(
    {
        "export_id": "daily",
        "account_id": "acme",
        "source": {"path": "/tmp/lake"},
        "destination": {"bucket": "exports", "prefix": "team/events"},
        "schedule": {"every": "12h"},
    }
)


def result(day: int, hour: int, records: int) -> WindowResult:
    window = Window(
        pendulum.datetime(2026, 12, day, hour), pendulum.datetime(2026, 12, day, hour).add(hours=12)
    )
    files = [ExportedFile("k", "Charged", records, 10 * records, "0" * 64, ("Charged",))]
    return WindowResult(window, files, f"s3://exports/m{day}{hour}.json", records, 1.0)


class Accessor:
    def __init__(self) -> None:
        self.extra: dict[str, Any] = {}
        self.partition_keys: set[str] = set()

    def add_partitions(self, keys: list[str]) -> None:
        self.partition_keys.update(keys)


def test_the_asset_is_the_exports_manifest_folder() -> None:
    asset = export_asset(SPEC)
    assert (asset.name, asset.uri) == ("export__daily", "s3://exports/team/events/_manifests/daily")


def test_one_window_gives_its_facts_and_its_partition_key() -> None:
    accessor = Accessor()
    record_asset_events(SPEC, [result(1, 12, 5)], {export_asset(SPEC): accessor}, 0)
    assert accessor.extra == {
        "export_id": "daily",
        "window_start": "2026-12-01T12:00:00+00:00",
        "window_end": "2026-12-02T00:00:00+00:00",
        "manifest": "s3://exports/m112.json",
        "manifest_key": "team/events/_manifests/daily/2026-12-01/1796126400-0.json",
        "records": 5,
        "files": 1,
        "bytes": 50,
    }
    assert accessor.partition_keys == {"2026-12-01T12:00:00+00:00/2026-12-02T00:00:00+00:00"}


def test_several_windows_are_listed_and_each_is_a_partition() -> None:
    accessor = Accessor()
    record_asset_events(SPEC, [result(1, 0, 3), result(1, 12, 4)], {export_asset(SPEC): accessor}, 0)
    assert [w["records"] for w in accessor.extra["windows"]] == [3, 4]
    assert len(accessor.partition_keys) == 2


def test_before_airflow_3_2_there_are_no_partition_keys() -> None:
    accessor = SimpleNamespace(extra={})
    record_asset_events(SPEC, [result(1, 0, 3)], {export_asset(SPEC): accessor}, 0)
    assert accessor.extra["records"] == 3
