"""Presets reproduce the names commercial exports use, byte for byte; event names never meet."""

from __future__ import annotations

from typing import Any

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_export_provider.engine.keys import COLLISION_MARK, event_name_segments, spell_event_name
from airflow_export_provider.engine.run import layout_for
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.exceptions import ExportSpecError
from airflow_export_provider.spec import ExportSpec


def spec(layout: dict[str, Any], *, fmt: str = "csv", every: str = "24h", **top: Any) -> ExportSpec:
    return ExportSpec.from_mapping(
        {
            "export_id": top.pop("export_id", "daily"),
            "account_id": top.pop("account_id", "acme"),
            "source": {"path": "/tmp/lake"},
            "destination": {"bucket": "exports", "prefix": top.pop("prefix", "")},
            "layout": layout,
            "format": {"type": fmt, **top.pop("format", {})},
            "schedule": {"every": every},
        }
    )


def test_clevertap_names_as_clevertap_writes_them_with_the_window_start_as_timestamp() -> None:
    export = spec({"preset": "clevertap"}, account_id="1517477760", export_id="1776150812")
    window = Window(pendulum.datetime(2026, 4, 14), pendulum.datetime(2026, 4, 15))
    key = layout_for(export, window).object_key("App Launched", 0)
    # CleverTap's documented name, with its run-clock timestamp 1776150812 replaced by the
    # window start (1776124800), which keeps re-runs on the same keys.
    documented = "App-Launched-2026-04-14-1517477760-1776150812-1776150812-0-0.csv.gz"
    assert key == "events/2026-04-14/" + documented.replace("-1776150812-0-0", "-1776124800-0-0")
    assert layout_for(export, window).object_key("App Launched", 11).endswith("-1776124800-0-11.csv.gz")


def test_amplitude_names_hourly_files_of_every_event() -> None:
    export = spec({"preset": "amplitude"}, fmt="jsonl", every="1h", account_id="187520")
    window = Window(pendulum.datetime(2020, 1, 25, 17), pendulum.datetime(2020, 1, 25, 18))
    layout = layout_for(export, window)
    assert layout.object_key("Charged", 0) == "187520_2020-01-25_17#1.json.gz"
    assert layout.object_key("Search", 0) == "187520_2020-01-25_17#1.json.gz", "one series for all events"
    assert layout.object_key(None, 1) == "187520_2020-01-25_17#2.json.gz"
    morning = Window(pendulum.datetime(2020, 1, 25, 7), pendulum.datetime(2020, 1, 25, 8))
    assert layout_for(export, morning).object_key(None, 0) == "187520_2020-01-25_7#1.json.gz"


def test_adapty_writes_one_csv_series_per_day_in_the_destinations_folder() -> None:
    export = spec({"preset": "adapty"}, prefix="adapty-events/com.sample-app", format={"compression": "none"})
    window = Window(pendulum.datetime(2026, 3, 7), pendulum.datetime(2026, 3, 8))
    assert (
        layout_for(export, window).object_key("trial_started", 0)
        == "adapty-events/com.sample-app/2026-03-07-0.csv"
    )


@pytest.mark.parametrize(
    ("every", "folder"), [("24h", "date=2026-12-01/"), ("4h", "date=2026-12-01/hour=08/")]
)
def test_hive_folders_are_key_value_partitions(every: str, folder: str) -> None:
    export = spec({"preset": "hive"}, fmt="parquet", every=every, prefix="lake")
    start = pendulum.datetime(2026, 12, 1, 8 if every == "4h" else 0)
    window = Window(start, start.add(hours=int(every[:-1])))
    key = layout_for(export, window).object_key("App Launched: iOS", 0)
    assert key.startswith(f"lake/{folder}event_name=App%20Launched%3A%20iOS/")
    assert ":" not in key


def test_a_preset_with_its_own_keys_names_the_conflict() -> None:
    with pytest.raises(ExportSpecError, match="preset 'amplitude' decides file_template"):
        spec({"preset": "amplitude", "file_template": "{date}"}, fmt="jsonl")


def test_the_json_extension_is_for_json_lines_only() -> None:
    with pytest.raises(ExportSpecError, match=r"layout\.extension 'json' is for JSON Lines"):
        spec({"extension": "json"}, fmt="csv")


def test_split_window_refuses_the_event_name_in_keys() -> None:
    with pytest.raises(ExportSpecError, match="split: window"):
        spec({"split": "window", "folders": ["event_name"]})


@pytest.mark.parametrize(
    ("layout", "key"),
    [
        # unique on its own (window, series, index): used as written, no instance
        (
            {"split": "window", "file_template": "{date}_{HH}#{file_index}", "folders": []},
            "2026-12-01_08#0000.csv",
        ),
        # no index: every missing part is appended, as before
        ({"split": "window", "file_template": "{date}", "folders": []}, "2026-12-01-1796112000-0-0000.csv"),
        (
            {"file_template": "{event_name}_{timestamp}_{file_index}", "folders": []},
            "Charged_1796112000_0000.csv",
        ),
    ],
)
def test_templates_are_completed_only_when_not_unique_on_their_own(layout: dict[str, Any], key: str) -> None:
    export = spec({**layout, "file_index": {"digits": 4}}, every="4h", format={"compression": "none"})
    window = Window(pendulum.datetime(2026, 12, 1, 8), pendulum.datetime(2026, 12, 1, 12))
    assert layout_for(export, window).object_key("Charged", 0) == key


def test_without_an_instance_in_the_keys_only_instance_zero_writes() -> None:
    export = spec({"preset": "amplitude"}, fmt="jsonl", every="1h")
    window = Window(pendulum.datetime(2026, 12, 1, 8), pendulum.datetime(2026, 12, 1, 9))
    with pytest.raises(ValueError, match="instance 2 cannot write"):
        layout_for(export, window, instance_id=2)


def test_hyphenated_names_that_meet_are_told_apart_and_the_name_spelled_as_itself_keeps_its_key() -> None:
    segments = event_name_segments(["App Launched", "App-Launched", "Charged"], "hyphenated")
    assert segments["App-Launched"] == "App-Launched"
    assert segments["App Launched"].startswith("App-Launched" + COLLISION_MARK)
    assert segments["Charged"] == "Charged"


NAMES = st.one_of(
    st.none(),
    st.lists(
        st.sampled_from(["a", "A", " ", "-", "_", ".", "%", "~", "/", ":", "é", "%20", "%2F", " -", "%~"]),
        max_size=8,
    ).map("".join),
    st.text(max_size=150),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(NAMES, max_size=12, unique=True), st.sampled_from(["encoded", "hyphenated"]))
def test_no_two_distinct_event_names_share_a_key_segment(names: list[str | None], style: Any) -> None:
    segments = event_name_segments(names, style)
    assert set(segments) == set(names)
    assert len(set(segments.values())) == len(names)
    for name, segment in segments.items():
        assert "/" not in segment and not segment.startswith(".") and segment
        assert segment == spell_event_name(name, style) or COLLISION_MARK in segment
