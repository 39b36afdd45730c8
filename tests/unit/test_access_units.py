"""Status mapping, policies and the access spec, without servers."""

from __future__ import annotations

import pytest

from airflow_export_provider.cli.status import run_status
from airflow_export_provider.engine.access_errors import mask_key_id
from airflow_export_provider.engine.policy import bucket_policy, user_policy
from airflow_export_provider.spec import S3DestinationSpec
from tests.unit.test_spec import problems, valid


@pytest.mark.parametrize(
    ("run_state", "tasks", "status"),
    [
        ("queued", {}, "pending"),
        ("running", {"check_access": "scheduled"}, "pending"),
        ("running", {"check_access": "deferred"}, "waiting_for_access"),
        ("running", {"check_access": "up_for_reschedule"}, "waiting_for_access"),
        ("running", {"check_access": "running"}, "running"),
        ("running", {"check_access": "success", "export_window": "running"}, "running"),
        ("running", {"check_access": "success", "export_window": "up_for_retry"}, "running"),
        ("success", {"check_access": "success", "export_window": "success"}, "done"),
        ("failed", {"check_access": "failed", "export_window": "upstream_failed"}, "stopped"),
        ("failed", {"check_access": "success", "export_window": "failed"}, "failed"),
    ],
)
def test_airflow_states_map_to_export_status(run_state: str, tasks: dict[str, str], status: str) -> None:
    assert run_status(run_state, tasks) == status


def test_key_ids_are_masked() -> None:
    assert mask_key_id("AKIAIOSFODNN7EXAMPLE") == "AKIA…MPLE"
    assert mask_key_id("short") == "…"
    assert "environment" in mask_key_id(None)


def test_policies_grant_only_the_prefix_and_the_key() -> None:
    destination = S3DestinationSpec.model_validate(
        {"bucket": "acme-exports", "prefix": "team/events",
         "encryption": {"type": "aws:kms", "kms_key_id": "arn:aws:kms:eu-west-1:111122223333:key/abc"}}
    )  # fmt: skip
    statements = {s["Sid"]: s for s in user_policy(destination)["Statement"]}
    assert statements["WriteExportObjects"]["Resource"] == "arn:aws:s3:::acme-exports/team/events/*"
    assert statements["ListTheExportPrefix"]["Condition"]["StringLike"]["s3:prefix"] == [
        "team/events/*", "team/events",
    ]  # fmt: skip
    assert statements["EncryptWithTheExportKey"]["Resource"].endswith(":key/abc")
    cross = bucket_policy(destination, "arn:aws:iam::444455556666:role/exporter")["Statement"]
    assert all(s["Principal"] == {"AWS": "arn:aws:iam::444455556666:role/exporter"} for s in cross)
    assert not any(
        a.startswith("kms:")
        for s in cross
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"access": {"alert_after": ["0s", "4d"], "grace": "3d"}},
            "every alert_after must come before the grace",
        ),
        ({"access": {"alert_after": ["1d", "0s"]}}, "alert_after must be increasing"),
        ({"access": {"check_every": "0s"}}, "check_every must be between 1s and 1d"),
        (
            {"alerts": {"webhook": {"conn_id": "h", "on": ["finished"]}}},
            "alerts.webhook.on[0]: 'finished' is not allowed",
        ),
        ({"alerts": {"email": {"to": []}}}, "alerts.email.to"),
    ],
)
def test_access_and_alert_mistakes_are_named(section: dict[str, object], message: str) -> None:
    assert message in problems(valid(**section))


@pytest.mark.parametrize(
    ("code", "title"),
    [
        ("ExpiredToken", "expired or invalid session token"),
        ("InvalidToken", "expired or invalid session token"),
        ("AccountProblem", "access disabled or explicitly denied"),
        ("PermanentRedirect", "bucket is in another region"),
    ],
)
def test_codes_moto_cannot_produce_are_classified_from_the_answer(code: str, title: str) -> None:
    """Session tokens and redirects cannot be made to fail in moto; their codes are mapped the same way."""
    from botocore.exceptions import ClientError

    from airflow_export_provider.engine.bucket_access import BucketAccessChecker

    destination = S3DestinationSpec.model_validate({"bucket": "acme-exports", "region": "eu-west-1"})
    checker = BucketAccessChecker(destination, "daily", clients=lambda service: None,
                                  key_id="ASIAIOSFODNN7EXAMPLE", region=None)  # fmt: skip
    answer: dict[str, object] = {"Error": {"Code": code, "Message": "answer from S3"}}
    error = checker.classify(ClientError(answer, "GetBucketLocation"), "s3:GetBucketLocation")  # type: ignore[arg-type]
    assert error.title == title
    assert "ASIA…MPLE" in str(error) and "ASIAIOSFODNN7EXAMPLE" not in str(error)


def test_a_failed_window_older_than_a_delivered_one_is_a_gap() -> None:
    from airflow_export_provider.cli.status import RunRow, mark_gaps

    rows = [  # newest first, as the API lists them
        RunRow("r4", "2026-12-04", "2026-12-05", "failed", None),
        RunRow("r3", "2026-12-03", "2026-12-04", "done", 10),
        RunRow("r2", "2026-12-02", "2026-12-03", "failed", None),
        RunRow("r1", "2026-12-01", "2026-12-02", "done", 12),
    ]
    assert [row.status for row in mark_gaps(rows)] == ["failed", "done", "gap", "done"]
