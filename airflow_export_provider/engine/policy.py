"""The least-privilege policies an export needs, ready to paste (``airflow-export policy``).

They grant exactly the requests the access check makes (see ``access.py``), on the
export's bucket and prefix only: listing is limited to the prefix, object actions to
keys under it, KMS (when the spec uses ``aws:kms``) to generating and decrypting data
keys of the export's key.
"""

from __future__ import annotations

import json
from typing import Any

from airflow_export_provider.spec import S3DestinationSpec

OBJECT_ACTIONS = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
BUCKET_ACTIONS = ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
KMS_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"]


def _statements(destination: S3DestinationSpec, principal: str | None) -> list[dict[str, Any]]:
    bucket_arn = f"arn:aws:s3:::{destination.bucket}"
    objects_arn = f"{bucket_arn}/{destination.prefix}/*" if destination.prefix else f"{bucket_arn}/*"
    listing: dict[str, Any] = {"Sid": "ListTheExportPrefix", "Effect": "Allow", "Action": "s3:ListBucket",
                               "Resource": bucket_arn}  # fmt: skip
    if destination.prefix:
        listing["Condition"] = {"StringLike": {"s3:prefix": [f"{destination.prefix}/*", destination.prefix]}}
    statements: list[dict[str, Any]] = [
        {"Sid": "FindTheBucket", "Effect": "Allow", "Action": BUCKET_ACTIONS, "Resource": bucket_arn},
        listing,
        {"Sid": "WriteExportObjects", "Effect": "Allow", "Action": OBJECT_ACTIONS, "Resource": objects_arn},
    ]
    if principal is not None:
        for statement in statements:
            statement["Principal"] = {"AWS": principal}
    return statements


def user_policy(destination: S3DestinationSpec) -> dict[str, Any]:
    """An IAM identity policy for the user or role of the export's ``aws`` connection."""
    statements = _statements(destination, principal=None)
    encryption = destination.encryption
    if encryption is not None and encryption.type == "aws:kms" and encryption.kms_key_id:
        key = encryption.kms_key_id
        statements.append({"Sid": "EncryptWithTheExportKey", "Effect": "Allow", "Action": KMS_ACTIONS,
                           "Resource": key if key.startswith("arn:") else "*"})  # fmt: skip
    return {"Version": "2012-10-17", "Statement": statements}


def bucket_policy(destination: S3DestinationSpec, principal: str) -> dict[str, Any]:
    """A bucket policy granting a (cross-account) principal what the export needs."""
    return {"Version": "2012-10-17", "Statement": _statements(destination, principal)}


def render(destination: S3DestinationSpec, export_id: str, principal: str | None) -> str:
    lines = [
        f"# IAM policy for the identity of connection {destination.aws_conn_id!r} (export {export_id}):",
        json.dumps(user_policy(destination), indent=2),
    ]
    encryption = destination.encryption
    if (
        encryption is not None
        and encryption.type == "aws:kms"
        and not str(encryption.kms_key_id).startswith("arn:")
    ):
        lines.append(
            f"# KMS key {encryption.kms_key_id!r} is not an ARN: the KMS statement uses Resource '*'. "
            "Replace it with the key's ARN to narrow it."
        )
    if principal is None:
        lines.append(
            "# For a bucket in another account, add --principal <role or user ARN> for its bucket policy."
        )
    else:
        lines += [
            f"# Bucket policy for s3://{destination.bucket} granting {principal}:",
            json.dumps(bucket_policy(destination, principal), indent=2),
        ]
        if encryption is not None and encryption.type == "aws:kms":
            lines.append(
                f"# The key policy of {encryption.kms_key_id!r} must also allow {principal} "
                f"{' and '.join(KMS_ACTIONS)}."
            )
    return "\n".join(lines) + "\n"
