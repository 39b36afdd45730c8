"""Every export definition shown in the docs validates, so a copied example works."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.spec.definition_files import load_text
from tests.conftest import REPO

DOCUMENTED = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)


def definitions(page: Path) -> list[str]:
    """The YAML blocks of ``page`` that are whole definitions (they start with ``export_id:``)."""
    return [block for block in YAML_BLOCK.findall(page.read_text()) if block.startswith("export_id:")]


@pytest.mark.parametrize("page", DOCUMENTED, ids=lambda page: str(page.relative_to(REPO)))
def test_documented_definitions_validate(page: Path) -> None:
    for block in definitions(page):  # read as a definition file is, by the loader's reader
        ExportSpec.from_mapping(load_text(block.encode(), str(page)))


def test_every_use_case_page_shows_a_definition() -> None:
    pages = [page for page in (REPO / "docs" / "use-cases").glob("*.md") if page.name != "README.md"]
    assert len(pages) >= 4
    assert all(definitions(page) for page in pages), [page.name for page in pages if not definitions(page)]
