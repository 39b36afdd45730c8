"""Bucket-access checks against a real S3 API with IAM enforcement on (moto's server).

Each failure class is produced for real: users whose policy lacks one action, unknown
keys, wrong secrets, an explicit Deny, a missing bucket, a bucket in another region, a
bucket policy demanding encryption, a KMS key the user may not use. Each must map to its
class and a message naming bucket, region, masked key id and the fix, with no secret in
the message or any log line.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from airflow_export_provider.cli import main
from airflow_export_provider.engine import access_errors as access
from airflow_export_provider.engine.policy import user_policy
from airflow_export_provider.hooks.connections import access_checker_for
from airflow_export_provider.spec import S3DestinationSpec
from airflow_export_provider.testing.loopback_s3 import LoopbackS3, loopback_s3

pytestmark = pytest.mark.integration
BUCKET = "access-bucket"
WEST = "access-west"
SSE_ONLY = "access-sse-only"
PREFIX = "team/events"


@dataclass(frozen=True)
class Key:
    key_id: str
    secret: str


@dataclass
class IamWorld:
    server: LoopbackS3
    keys: dict[str, Key]
    kms_key: str

    def conn_id(self, user: str, monkeypatch: pytest.MonkeyPatch, *, secret: str | None = None,
                key_id: str | None = None) -> str:  # fmt: skip
        key = self.keys.get(user, Key("AKIAUNKNOWN000000000", "unknown"))
        conn_id = f"aws_{user}"
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({
            "conn_type": "aws", "login": key_id or key.key_id, "password": secret or key.secret,
            "extra": {"endpoint_url": self.server.endpoint_url, "region_name": "us-east-1"},
        }))  # fmt: skip
        return conn_id


def _admin(server: LoopbackS3, service: str, region: str = "us-east-1") -> Any:
    return boto3.client(service, endpoint_url=server.endpoint_url, region_name=region,
                        aws_access_key_id="admin", aws_secret_access_key="admin")  # fmt: skip


def _auth(server: LoopbackS3, mode: str) -> None:
    request = urllib.request.Request(f"{server.endpoint_url}/moto-api/reset-auth", data=mode.encode(),
                                     method="POST", headers={"Content-Type": "text/plain"})  # fmt: skip
    urllib.request.urlopen(request).read()


def destination(conn_id: str, **changes: Any) -> S3DestinationSpec:
    return S3DestinationSpec.model_validate(
        {"bucket": BUCKET, "prefix": PREFIX, "aws_conn_id": conn_id, **changes}
    )


def without(policy: dict[str, Any], action: str) -> dict[str, Any]:
    statements = []
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        kept = [a for a in actions if a != action]
        if kept:
            statements.append({**statement, "Action": kept})
    return {**policy, "Statement": statements}


@pytest.fixture(scope="module")
def iam() -> Iterator[IamWorld]:
    """A second moto server (IAM enforcement is server-wide) with users made while enforcement is off."""
    with loopback_s3(lifetime_seconds=1800) as server:
        s3, iam_client, kms = _admin(server, "s3"), _admin(server, "iam"), _admin(server, "kms")
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket=SSE_ONLY)
        s3.create_bucket(Bucket=WEST, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_bucket_policy(Bucket=SSE_ONLY, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "DenyUnencryptedUploads", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{SSE_ONLY}/*",
            "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}}]}))  # fmt: skip
        kms_key = kms.create_key()["KeyMetadata"]["KeyId"]
        keys: dict[str, Key] = {}

        def user(name: str, policy: dict[str, Any]) -> None:
            iam_client.create_user(UserName=name)
            iam_client.put_user_policy(UserName=name, PolicyName="export", PolicyDocument=json.dumps(policy))
            made = iam_client.create_access_key(UserName=name)["AccessKey"]
            keys[name] = Key(made["AccessKeyId"], made["SecretAccessKey"])

        allow_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "kms:*"],
                                                              "Resource": "*"}]}  # fmt: skip
        user("admin_like", allow_all)
        exact = user_policy(destination("x"))
        user("exporter", exact)
        for action in ("s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject", "s3:GetObject",
                       "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetBucketLocation"):  # fmt: skip
            user("lacks_" + action.split(":")[1], without(exact, action))
        user("denied", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "*", "Resource": "*"}]})  # fmt: skip
        user(
            "no_kms",
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
        )
        _auth(server, "0")
        try:
            yield IamWorld(server, keys, kms_key)
        finally:
            _auth(server, "inf")


def check(dest: S3DestinationSpec) -> access.AccessReport:
    return access_checker_for(dest, "daily").check()


def test_the_printed_policy_is_exactly_enough(iam: IamWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    report = check(destination(iam.conn_id("exporter", monkeypatch)))
    assert report.verified == [
        "s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject",
        "s3:GetObject", "s3:AbortMultipartUpload", "s3:DeleteObject",
    ]  # fmt: skip
    assert report.bucket_region == "us-east-1"
    admin_like = iam.keys["admin_like"]
    s3 = boto3.client(
        "s3",
        endpoint_url=iam.server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=admin_like.key_id,
        aws_secret_access_key=admin_like.secret,
    )
    probe = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/_access_check/")
    assert probe.get("KeyCount", 0) == 0, "the probe object is removed again"


@pytest.mark.parametrize(
    "action",
    ["s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject", "s3:GetObject",
     "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetBucketLocation"],
)  # fmt: skip
def test_each_missing_action_is_named(iam: IamWorld, monkeypatch: pytest.MonkeyPatch, action: str) -> None:
    user = "lacks_" + action.split(":")[1]
    with pytest.raises(access.MissingPermission) as raised:
        check(destination(iam.conn_id(user, monkeypatch)))
    error = raised.value
    assert error.action.split(" ")[0] == action
    assert f"allow {action} on this bucket and prefix" in str(error)
    assert f"bucket '{BUCKET}' (region us-east-1)" in str(error)
    assert access.mask_key_id(iam.keys[user].key_id) in str(error)


@pytest.mark.parametrize(
    ("case", "error_class", "words"),
    [
        ("unknown key id", access.WrongAccessKeyId, "AWS does not know this access key id"),
        ("wrong secret", access.WrongSecretKey, "the secret access key does not belong to this key id"),
        ("explicit deny", access.AccessDisabled, "an explicit Deny applies"),
        ("missing bucket", access.BucketNotFound, "there is no bucket named 'no-such-bucket'"),
        ("other region", access.WrongRegion, "in eu-west-1, the export is configured for us-east-1"),
        ("policy demands SSE", access.EncryptionRequired, "denies uploads without server-side encryption"),
        ("no kms permission", access.MissingPermission, "KMS refused kms:GenerateDataKey"),
        ("kms key missing", access.KmsKeyProblem, "answered NotFoundException"),
    ],
)  # fmt: skip
def test_each_failure_class_is_produced_for_real(
    iam: IamWorld, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    case: str, error_class: type[access.BucketAccessError], words: str,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    user, changes = {
        "unknown key id": ("nobody", {}),
        "wrong secret": ("exporter", {}),
        "explicit deny": ("denied", {}),
        "missing bucket": ("admin_like", {"bucket": "no-such-bucket"}),
        "other region": ("admin_like", {"bucket": WEST}),
        "policy demands SSE": ("admin_like", {"bucket": SSE_ONLY}),
        "no kms permission": ("no_kms", {"encryption": {"type": "aws:kms", "kms_key_id": iam.kms_key}}),
        "kms key missing": ("admin_like", {"encryption": {"type": "aws:kms", "kms_key_id": "alias/missing"}}),
    }[case]
    secret = "wrong-secret-value-123" if case == "wrong secret" else None
    conn_id = iam.conn_id(user, monkeypatch, secret=secret)
    with pytest.raises(error_class) as raised:
        check(destination(conn_id, **changes))
    message = str(raised.value)
    assert words in message and "Fix:" in message
    secrets = {key.secret for key in iam.keys.values()} | {"wrong-secret-value-123"}
    for text in [message, *(record.getMessage() for record in caplog.records)]:
        assert not any(s in text for s in secrets), "a secret reached a message or log line"
    full_ids = {key.key_id for key in iam.keys.values()}
    assert not any(key_id in message for key_id in full_ids), "key ids are masked in messages"


def test_the_check_command_explains_and_exits_non_zero(
    iam: IamWorld, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    conn_id = iam.conn_id("lacks_PutObject", monkeypatch)
    spec = tmp_path / "spec.yaml"
    spec.write_text(json.dumps({
        "export_id": "daily", "account_id": "acme", "source": {"path": "/lake"},
        "destination": {"bucket": BUCKET, "prefix": PREFIX, "aws_conn_id": conn_id},
        "schedule": "every 4h"}))  # fmt: skip
    assert main(["check", str(spec)]) == 3
    err = capsys.readouterr().err
    assert "missing permission: s3:PutObject is not allowed (AccessDenied)" in err
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.loads(json.dumps(
        {"conn_type": "aws", "login": iam.keys["exporter"].key_id, "password": iam.keys["exporter"].secret,
         "extra": {"endpoint_url": iam.server.endpoint_url, "region_name": "us-east-1"}})).__repr__()
        .replace("'", '"'))  # fmt: skip
    assert main(["check", str(spec)]) == 0
    assert "access ok" in capsys.readouterr().out
