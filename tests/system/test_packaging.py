"""The wheel and sdist as a user gets them: built, checked, installed where the repository is out of reach.

The installed provider must register with Airflow (triggers, notifiers), and the
quickstart's CLI steps must work from the wheel alone: init, validate, and an access
check with a connection stored by ``airflow connections add``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_export_provider.testing.loopback_s3 import LoopbackS3
from airflow_export_provider.version import __version__

pytestmark = pytest.mark.system
REPO = Path(__file__).resolve().parents[2]
UV = str(Path(sys.executable).with_name("uv"))
BUCKET = "wheel-bucket"
NOT_SOURCE = (
    ".git",
    ".venv*",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    ".test-artifacts",
    "build",
)


def run(
    command: list[str], *, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{command}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The wheel installed into a fresh virtualenv, run from a folder outside the repository."""
    work = tmp_path_factory.mktemp("packaging")
    # Built from a copy: setuptools writes <name>.egg-info into the tree it builds, and in the
    # repository that would make every later Airflow process see the plugin twice.
    source = work / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    run([UV, "build", "--quiet", "--wheel", "--sdist", "-o", str(work / "dist"), str(source)], cwd=work)
    wheel = next((work / "dist").glob("*.whl"))
    sdist = next((work / "dist").glob("*.tar.gz"))
    run([UV, "venv", "--quiet", "-p", sys.executable, str(work / "venv")], cwd=work)
    python = str(work / "venv" / "bin" / "python")
    constraints = str(REPO / ".ci" / "constraints.txt")
    run([UV, "pip", "install", "--quiet", "-p", python, "-c", constraints, str(wheel)], cwd=work)
    home = work / "home"
    env = {
        "PATH": f"{work / 'venv' / 'bin'}:{os.environ['PATH']}",
        "HOME": str(work),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    return {"work": work, "bin": work / "venv" / "bin", "env": env, "wheel": wheel, "sdist": sdist}


def test_the_distributions_pass_twine_check_strict(installed: dict[str, Any]) -> None:
    work: Path = installed["work"]
    run([UV, "venv", "--quiet", "-p", sys.executable, str(work / "twine")], cwd=work)
    twine_python = str(work / "twine" / "bin" / "python")
    run([UV, "pip", "install", "--quiet", "-p", twine_python, "twine>=6,<8"], cwd=work)
    distributions = [str(installed["wheel"]), str(installed["sdist"])]
    done = run([twine_python, "-m", "twine", "check", "--strict", *distributions], cwd=work)
    assert done.stdout.count("PASSED") == 2, done.stdout


def test_airflow_lists_the_installed_provider_with_its_triggers_and_notifiers(
    installed: dict[str, Any],
) -> None:
    airflow, env, work = str(installed["bin"] / "airflow"), installed["env"], installed["work"]
    providers = run([airflow, "providers", "list", "-o", "json"], cwd=work, env=env).stdout
    listed = {p["package_name"]: p["version"] for p in json.loads(providers[providers.index("[") :])}
    assert listed["airflow-export-provider"] == __version__
    triggers = run([airflow, "providers", "triggers", "-o", "json"], cwd=work, env=env).stdout
    assert "airflow_export_provider.triggers.bucket_access" in triggers
    notifiers = run([airflow, "providers", "notifications", "-o", "json"], cwd=work, env=env).stdout
    assert "airflow_export_provider.notifications.webhook.ExportWebhookNotifier" in notifiers


def test_the_quickstart_from_the_wheel_with_a_db_stored_connection(
    installed: dict[str, Any], s3_server: LoopbackS3, s3: Any
) -> None:
    bin_dir, env, work = installed["bin"], installed["env"], installed["work"]
    cli = str(bin_dir / "airflow-export")
    assert run([cli, "--version"], cwd=work, env=env).stdout.strip() == f"airflow-export {__version__}"
    run([str(bin_dir / "airflow"), "db", "migrate"], cwd=work, env=env)
    add = ["connections", "add", "aws_default", "--conn-json", s3_server.connection_uri()]
    run([str(bin_dir / "airflow"), *add], cwd=work, env=env)

    dags = work / "dags"
    run([cli, "init", str(dags)], cwd=work, env=env)
    template = dags / "exports" / "my_first_export.yaml.example"
    definition = template.with_suffix("")
    definition.write_text(
        template.read_text()
        .replace("EDIT-your-event-lake", "wheel-lake")
        .replace("EDIT-your-export-bucket", BUCKET)
    )
    template.unlink()
    assert (
        "ok — DAG export__my_first_export"
        in run([cli, "validate", str(definition)], cwd=work, env=env).stdout
    )

    s3.create_bucket(Bucket=BUCKET)
    checked = run([cli, "check", str(definition)], cwd=work, env=env)
    assert "access ok" in checked.stdout, checked.stderr[-2000:]
