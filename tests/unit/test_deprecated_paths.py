"""Import paths users had before the engine/ and dags.py layout keep working, with a warning."""

from __future__ import annotations

import importlib

import pytest

from airflow_export_provider.exceptions import ExportProviderDeprecationWarning


@pytest.mark.parametrize(
    ("old", "name", "new"),
    [
        ("airflow_export_provider.layout", "decode_event_name", "airflow_export_provider.engine.keys"),
        ("airflow_export_provider.layout", "encode_event_name", "airflow_export_provider.engine.keys"),
        ("airflow_export_provider.dag_factory", "load_export_dags", "airflow_export_provider.dags"),
        ("airflow_export_provider.dag_factory", "export_timetable", "airflow_export_provider.dags"),
    ],
)
def test_an_old_path_gives_the_same_object_and_names_the_new_one(old: str, name: str, new: str) -> None:
    with pytest.warns(ExportProviderDeprecationWarning, match=f"{old}.{name} moved to {new}.{name}"):
        value = getattr(importlib.import_module(old), name)
    assert value is getattr(importlib.import_module(new), name)


def test_the_spec_path_is_the_package_itself_without_a_warning(recwarn: pytest.WarningsRecorder) -> None:
    from airflow_export_provider.spec import ExportSpec, FormatSpec, S3DestinationSpec

    assert {ExportSpec.__module__, FormatSpec.__module__, S3DestinationSpec.__module__} == {
        "airflow_export_provider.spec.export",
        "airflow_export_provider.spec.format",
        "airflow_export_provider.spec.destination",
    }
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_a_name_that_never_existed_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        importlib.import_module("airflow_export_provider.layout").no_such_name  # noqa: B018
