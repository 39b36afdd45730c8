from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_export_provider.engine.keys import (
    KeyValues,
    ObjectLayout,
    decode_event_name,
    encode_event_name,
)

VALUES = KeyValues(
    account_id="acme", export_id="daily", date="2025-03-01", timestamp=1740787200, instance_id=0
)


def layout(folder: str = "events/{date}", file: str | None = None, prefix: str = "root/x") -> ObjectLayout:
    return ObjectLayout(
        prefix=prefix, folder_template=folder, file_template=file, extension="csv.gz", values=VALUES
    )


def test_default_key_pattern() -> None:
    key = layout().object_key("App Launched", 3)
    assert key == "root/x/events/2025-03-01/App%20Launched-2025-03-01-acme-daily-1740787200-0-0003.csv.gz"


def test_custom_file_names_get_event_timestamp_instance_and_index_appended() -> None:
    key = layout(folder="{export_id}", file="{{AccountID}}_data").object_key("Charged", 0)
    assert key == "root/x/daily/acme_data-Charged-1740787200-0-0000.csv.gz"


def test_event_name_is_not_appended_when_folders_split_by_event() -> None:
    key = layout(folder="{event_name}/{date}", file="part").object_key("Charged", 1)
    assert key == "root/x/Charged/2025-03-01/part-1740787200-0-0001.csv.gz"


def test_bucket_root_layout() -> None:
    assert (
        layout(folder="", prefix="").object_key("a", 0) == "a-2025-03-01-acme-daily-1740787200-0-0000.csv.gz"
    )


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("../../etc/passwd", "%2E.%2F..%2Fetc%2Fpasswd"),
        ("..", "%2E."),
        (".hidden", "%2Ehidden"),
        ("page/view", "page%2Fview"),
        ("100% done", "100%25%20done"),
        ("Café", "Caf%C3%A9"),
        ("", "%empty"),
        (None, "%null"),
        ("tab\there", "tab%09here"),
    ],
)
def test_hostile_event_names_become_one_safe_segment(name: str | None, encoded: str) -> None:
    assert encode_event_name(name) == encoded
    assert decode_event_name(encoded) == name


def test_very_long_names_are_cut_with_a_hash() -> None:
    first, second = encode_event_name("é" * 300), encode_event_name("é" * 301)
    assert len(first) <= 100 and first != second and "~" in first
    assert not re.search(r"%.?~", first), "a %XX sequence must not be cut in half"


@given(st.text(max_size=40))
def test_any_event_name_round_trips_and_stays_one_safe_segment(name: str) -> None:
    encoded = encode_event_name(name)
    assert "/" not in encoded and not encoded.startswith(".")
    assert re.fullmatch(r"[A-Za-z0-9._%~-]+|%empty", encoded) and len(encoded) <= 100
    if "~" in encoded:
        with pytest.raises(ValueError, match="the manifest lists each file's original event name"):
            decode_event_name(encoded)
    else:
        assert decode_event_name(encoded) == name


@given(st.lists(st.text(min_size=0, max_size=30), min_size=2, max_size=5, unique=True))
def test_different_names_never_share_a_key(names: list[str]) -> None:
    keys = {layout().object_key(name, 0) for name in names}
    assert len(keys) == len(names)


@pytest.mark.parametrize(
    "folder",
    ["events/{date}", "{event_name}/{date}", "{export_id}/{event_name}", "", "x_{date}/{event_name}_y"],
)
def test_key_pattern_finds_every_key_of_the_window_and_nothing_of_other_windows(folder: str) -> None:
    window_layout = layout(folder=folder)
    prefix, pattern = window_layout.key_pattern()
    keys = [
        window_layout.object_key(name, index) for name in ["a", "../b", "c d", "", None] for index in (0, 12)
    ]
    for key in keys:
        assert key.startswith(prefix) and pattern.fullmatch(key), key
    other = ObjectLayout(
        prefix="root/x",
        folder_template=folder,
        file_template=None,
        extension="csv.gz",
        values=KeyValues("acme", "daily", "2025-03-02", 1740873600, 0),
    )
    assert not pattern.fullmatch(other.object_key("a", 0))
    assert not pattern.fullmatch(window_layout.manifest_key())


def test_bookkeeping_keys_are_per_window_and_only_manifests_match_a_manifest_glob() -> None:
    assert layout().manifest_key() == "root/x/_manifests/daily/2025-03-01/1740787200-0.json"
    assert layout().lease_key() == "root/x/_leases/daily/2025-03-01/1740787200-0.lease"
    assert layout().journal_key() == "root/x/_commits/daily/2025-03-01/1740787200-0.commit"
    manifest_glob = re.compile(r"root/x/_manifests/.*\.json")
    assert [
        key for key in (layout().lease_key(), layout().journal_key()) if manifest_glob.fullmatch(key)
    ] == []
    assert not any(key.endswith(".json") for key in (layout().lease_key(), layout().journal_key()))
