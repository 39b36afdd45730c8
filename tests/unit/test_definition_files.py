"""Definition files are read safely: no aliases, no duplicate keys, bounded size, UTF-8 named by offset."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_export_provider.exceptions import ExportSpecError
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.spec.bucket_names import bucket_name_problem
from airflow_export_provider.spec.definition_files import MAX_BYTES, load_definition, load_text

KEYS = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)
SCALARS = st.one_of(st.integers(-1000, 1000), st.booleans(), st.text(alphabet="xyz 123", max_size=8))


@st.composite
def documents(draw: Any) -> tuple[str, str | None]:
    """YAML text for a random nested mapping, and what (if anything) was injected that must be refused."""
    mapping = draw(st.dictionaries(KEYS, st.one_of(SCALARS, st.dictionaries(KEYS, SCALARS, max_size=4)),
                                   min_size=1, max_size=6))  # fmt: skip
    lines = yaml.safe_dump(mapping, sort_keys=False).splitlines()
    injected = draw(st.sampled_from([None, "duplicate", "alias", "anchor"]))
    top_level = [i for i, line in enumerate(lines) if not line.startswith(" ")]
    if injected == "duplicate":
        first = lines[draw(st.sampled_from(top_level))]
        lines.append(first.split(":", 1)[0] + ": 1")
    elif injected == "alias":
        lines += ["shared_value: &v 1", "again: *v"]
    elif injected == "anchor":
        lines.append("anchored: &only [1, 2]")
    return "\n".join(lines) + "\n", injected


@settings(max_examples=200, deadline=None)
@given(documents())
def test_duplicates_and_aliases_are_refused_anything_else_reads_as_yaml_does(
    case: tuple[str, str | None],
) -> None:
    text, injected = case
    if injected is None:
        assert load_text(text.encode(), "x.yaml") == yaml.safe_load(text)
        return
    with pytest.raises(ExportSpecError) as refused:
        load_text(text.encode(), "x.yaml")
    expected = "duplicate key" if injected == "duplicate" else "anchors and aliases are not allowed"
    assert expected in str(refused.value) and "x.yaml" in str(refused.value) and "line" in str(refused.value)


def test_on_off_yes_and_no_are_words_only_true_and_false_are_booleans(tmp_path: Path) -> None:
    """YAML 1.1 (PyYAML) reads ``on:`` as ``True:``; the alerts' ``on`` key must stay a key."""
    assert load_text(b"on: [stopped]\noff: 1\nyes: no\nY: n\nflag: true\nother: False\n", "x.yaml") == {
        "on": ["stopped"], "off": 1, "yes": "no", "Y": "n", "flag": True, "other": False,
    }  # fmt: skip
    path = tmp_path / "alerts.yaml"
    path.write_text(
        "export_id: alerted\naccount_id: acme\nsource: {type: lake, path: /tmp/lake}\n"
        "destination: {bucket: acme-exports}\nschedule: {every: 24h}\n"
        "alerts:\n  email: {to: [data@acme.example], on: [stopped, failed]}\n"
        "one_time: {enabled: yes}\n"
    )
    spec = ExportSpec.from_yaml(path)
    assert spec.alerts.email is not None and set(spec.alerts.email.on) == {"stopped", "failed"}
    assert spec.one_time.enabled is True


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_give_data_or_one_clear_error(raw: bytes) -> None:
    try:
        load_text(raw, "x.yaml")
    except ExportSpecError as error:
        assert "x.yaml" in str(error)


def test_a_billion_laughs_is_refused_at_once(tmp_path: Path) -> None:
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    rows += [f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(rows) + "\n")
    started = time.monotonic()
    with pytest.raises(ExportSpecError, match="anchors and aliases are not allowed"):
        ExportSpec.from_yaml(bomb)
    assert time.monotonic() - started < 5, "refused before any expansion"


def test_a_duplicate_export_id_names_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text("export_id: a\naccount_id: x\nexport_id: b\n")
    with pytest.raises(
        ExportSpecError, match=r"line 3, column 1: duplicate key 'export_id' \(first at line 1\)"
    ):
        ExportSpec.from_yaml(path)


def test_non_utf8_and_oversized_files_are_named_clearly(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"export_id: x\ndescription: caf\xe9\n")
    with pytest.raises(ExportSpecError, match=r"not UTF-8 text: byte 0xe9 at offset 29 \(line 2\)"):
        load_definition(latin)
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"#" * (MAX_BYTES + 1))
    with pytest.raises(ExportSpecError, match="may be at most 1,048,576 bytes"):
        load_definition(huge)
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbfexport_id: x\n")
    assert load_definition(bom) == {"export_id": "x"}


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("192.168.1.1", "IP address"),
        ("acme..exports", "two adjacent dots"),
        ("xn--acme", "'xn--'"),
        ("sthree-acme", "'sthree-'"),
        ("amzn-s3-demo-acme", "'amzn-s3-demo-'"),
        ("acme-s3alias", "'-s3alias'"),
        ("acme--ol-s3", "'--ol-s3'"),
        ("acme.mrap", "'.mrap'"),
        ("acme--x-s3", "'--x-s3'"),
        ("acme--table-s3", "'--table-s3'"),
        ("ab", "3 to 63 characters"),
        ("a" * 64, "3 to 63 characters"),
        ("Acme", "lowercase letters"),
        ("acme_exports", "lowercase letters"),
        ("-acme", "begin and end"),
        ("acme.", "begin and end"),
    ],
)
def test_bucket_names_aws_refuses_fail_with_the_rule_named(name: str, rule: str) -> None:
    problem = bucket_name_problem(name)
    assert problem is not None and rule in problem
    spec = {"export_id": "x", "account_id": "y", "source": {"path": "/lake"},
            "destination": {"bucket": name}, "schedule": {"every": "24h"}}  # fmt: skip
    with pytest.raises(ExportSpecError, match=r"destination\.bucket: .* is not a valid S3 bucket name: it"):
        ExportSpec.from_mapping(spec)


@pytest.mark.parametrize(
    "name", ["abc", "acme-exports", "a.b.c", "acme.exports-2025", "1bucket", "a" * 63, "192.168.1"]
)
def test_bucket_names_aws_accepts_pass(name: str) -> None:
    assert bucket_name_problem(name) is None
