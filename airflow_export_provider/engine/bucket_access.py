"""Bucket-access checks that say exactly what is wrong and how to fix it.

The check does, in order, every kind of request an export makes, with the export's own
credentials, bucket, prefix and encryption, on one probe object
(``<prefix>/_access_check/<export_id>.probe``) that it removes again:

=====================================  =========================================
request                                why the export needs it
=====================================  =========================================
``GetBucketLocation``                  the bucket exists, and is in the configured region
``ListBucket`` (prefix)                find what a run of an earlier version left
``ListBucketMultipartUploads``         abort uploads a killed run left open
``PutObject`` (with the spec's SSE)    write files, manifests, the lease and the journal
``GetObject``                          read the manifest, lease and journal; check completions
``CreateMultipartUpload`` + ``Abort``  stream files, completed at commit; abort on failure
``DeleteObject``                       remove stale files, the journal and the lease
KMS ``GenerateDataKey`` + ``Decrypt``  SSE-KMS objects (multipart needs both)
=====================================  =========================================

The first failure is classified by its error code, the request that failed and what
else is known (the bucket policy when it can be read), into one :class:`BucketAccessError`
subclass whose message names the bucket, the region, the masked key id, the request,
and the fix. When the only fact is "403 on X", the message says exactly that.
Secrets never appear: the key id is masked and the secret is never read into a message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from airflow_export_provider.engine.access_errors import (
    AccessContext,
    AccessDisabled,
    AccessReport,
    BucketAccessError,
    BucketNotFound,
    DestinationUnreachable,
    EncryptionRequired,
    KmsKeyProblem,
    MissingPermission,
    SessionTokenInvalid,
    WrongAccessKeyId,
    WrongRegion,
    WrongSecretKey,
    mask_key_id,
)
from airflow_export_provider.spec import S3DestinationSpec

logger = logging.getLogger(__name__)
PROBE_FOLDER = "_access_check"


_CREDENTIAL_CODES: dict[str, tuple[type[BucketAccessError], str, str]] = {
    "InvalidAccessKeyId": (
        WrongAccessKeyId,
        "AWS does not know this access key id (deleted, mistyped, or from another account or partition)",
        "put the current access key id in the connection's login (or its extra 'aws_access_key_id')",
    ),
    "InvalidClientTokenId": (
        WrongAccessKeyId,
        "AWS does not know this access key id",
        "put the current access key id in the connection's login",
    ),
    "SignatureDoesNotMatch": (
        WrongSecretKey,
        "the request signature does not match: the secret access key does not belong to this key id",
        "put the secret issued with this key id in the connection's password; rotate the key if it is lost",
    ),
    "ExpiredToken": (
        SessionTokenInvalid,
        "the session token has expired",
        "refresh the temporary credentials (or use a role_arn in the connection so Airflow renews them)",
    ),
    "ExpiredTokenException": (
        SessionTokenInvalid,
        "the session token has expired",
        "refresh the temporary credentials (or use a role_arn in the connection so Airflow renews them)",
    ),
    "TokenRefreshRequired": (
        SessionTokenInvalid,
        "the session token must be refreshed",
        "refresh the temporary credentials (or use a role_arn in the connection so Airflow renews them)",
    ),
    "InvalidToken": (
        SessionTokenInvalid,
        "the session token is malformed or does not belong to these credentials",
        "set the session token that was issued with this key id, or remove it for a long-term key",
    ),
    "AccountProblem": (
        AccessDisabled,
        "AWS reports a problem with the account (suspended or not fully set up)",
        "check the account's status in the AWS console",
    ),
    "AllAccessDisabled": (
        AccessDisabled,
        "all access to this object or bucket has been disabled by AWS",
        "contact AWS support for the account",
    ),
}
_DENIED = {"AccessDenied", "Forbidden", "403", "AccessDeniedException", "AuthorizationHeaderMalformed"}
_REGION_CODES = {
    "PermanentRedirect",
    "301",
    "IllegalLocationConstraintException",
    "AuthorizationHeaderMalformed",
}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "") or error.response.get(
        "ResponseMetadata", {}).get("HTTPStatusCode", ""))  # fmt: skip


def _aws_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


class BucketAccessChecker:
    """Runs the check for one destination with one set of credentials.

    ``clients`` gives a boto3 client per service (``s3``, ``kms``): the amazon provider's
    hooks in Airflow (``hooks.connections.access_checker_for``), any client in tests.
    Nothing here reads or logs the secret.
    """

    def __init__(
        self,
        destination: S3DestinationSpec,
        export_id: str,
        *,
        clients: Callable[[str], Any],
        key_id: str | None,
        region: str | None,
    ) -> None:
        self._spec = destination
        self._export_id = export_id
        self._client = clients
        self.context = AccessContext(
            bucket=destination.bucket,
            prefix=destination.prefix,
            region=destination.region or region,
            key_id=mask_key_id(key_id),
            conn_id=destination.aws_conn_id,
        )

    @property
    def probe_key(self) -> str:
        name = f"{PROBE_FOLDER}/{self._export_id}.probe"
        return f"{self._spec.prefix}/{name}" if self._spec.prefix else name

    def check(self) -> AccessReport:
        """Every request the export makes, in order; raises the first failure, classified."""
        s3 = self._client("s3")
        bucket, key = self._spec.bucket, self.probe_key
        listing_prefix = f"{self._spec.prefix}/" if self._spec.prefix else ""
        report = AccessReport(self.context, bucket_region="")

        location = self._call("s3:GetBucketLocation", lambda: s3.get_bucket_location(Bucket=bucket))
        report.bucket_region = location.get("LocationConstraint") or "us-east-1"
        if report.bucket_region == "EU":
            report.bucket_region = "eu-west-1"
        configured = self.context.region
        if configured and configured != report.bucket_region:
            raise WrongRegion(
                self.context,
                "s3:GetBucketLocation",
                f"the bucket is in {report.bucket_region}, the export is configured for {configured}",
                f"set destination.region to {report.bucket_region} (or the connection's region_name)",
            )
        report.verified.append("s3:GetBucketLocation")
        self._call(
            "s3:ListBucket", lambda: s3.list_objects_v2(Bucket=bucket, Prefix=listing_prefix, MaxKeys=1)
        )
        report.verified.append("s3:ListBucket")
        self._call(
            "s3:ListBucketMultipartUploads",
            lambda: s3.list_multipart_uploads(Bucket=bucket, Prefix=listing_prefix, MaxUploads=1),
        )
        report.verified.append("s3:ListBucketMultipartUploads")
        if self._spec.encryption is not None and self._spec.encryption.type == "aws:kms":
            self._check_kms()
            report.verified += ["kms:GenerateDataKey", "kms:Decrypt"]
        extra = self._encryption_arguments()
        body = json.dumps({"export_id": self._export_id, "purpose": "airflow-export access check"}).encode()
        self._call("s3:PutObject", lambda: s3.put_object(Bucket=bucket, Key=key, Body=body, **extra))
        report.verified.append("s3:PutObject")
        self._call("s3:GetObject", lambda: s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        report.verified.append("s3:GetObject")
        upload = self._call(
            "s3:PutObject (CreateMultipartUpload)",
            lambda: s3.create_multipart_upload(Bucket=bucket, Key=key, **extra),
        )
        self._call(
            "s3:AbortMultipartUpload",
            lambda: s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"]),
        )
        report.verified.append("s3:AbortMultipartUpload")
        self._call("s3:DeleteObject", lambda: s3.delete_object(Bucket=bucket, Key=key))
        report.verified.append("s3:DeleteObject")
        return report

    def _encryption_arguments(self) -> dict[str, str]:
        encryption = self._spec.encryption
        if encryption is None:
            return {}
        extra: dict[str, str] = {"ServerSideEncryption": encryption.type}
        if encryption.kms_key_id:
            extra["SSEKMSKeyId"] = encryption.kms_key_id
        return extra

    def _check_kms(self) -> None:
        assert self._spec.encryption is not None and self._spec.encryption.kms_key_id
        kms = self._client("kms")
        key_id = self._spec.encryption.kms_key_id
        data_key = self._call(
            "kms:GenerateDataKey",
            lambda: kms.generate_data_key(KeyId=key_id, KeySpec="AES_256"),
            kms_key=key_id,
        )
        self._call(
            "kms:Decrypt", lambda: kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"]), kms_key=key_id
        )

    def _call(self, action: str, request: Callable[[], Any], kms_key: str | None = None) -> Any:
        try:
            return request()
        except ClientError as error:
            raise self.classify(error, action, kms_key) from None
        except NoCredentialsError:
            raise WrongAccessKeyId(
                self.context, action, "no credentials were found for the connection",
                "set login/password (or a role_arn) on the aws connection",
            ) from None  # fmt: skip
        except EndpointConnectionError as error:
            raise DestinationUnreachable(
                self.context, action, f"no answer from {error.kwargs.get('endpoint_url', 'the endpoint')}",
                "check the network, DNS and the connection's endpoint_url",
            ) from None  # fmt: skip
        except BotoCoreError as error:
            raise DestinationUnreachable(
                self.context, action, f"the request failed before S3 answered: {type(error).__name__}",
                "check the network and the connection's endpoint_url",
            ) from None  # fmt: skip

    def classify(self, error: ClientError, action: str, kms_key: str | None = None) -> BucketAccessError:
        code = _code(error)
        if code in _CREDENTIAL_CODES:
            kind, detail, fix = _CREDENTIAL_CODES[code]
            return kind(self.context, action, detail, fix, code)
        if code in ("NoSuchBucket", "404") and action.startswith("s3:"):
            return BucketNotFound(
                self.context, action, f"there is no bucket named {self._spec.bucket!r}",
                "create the bucket, or correct destination.bucket (names are global, case-sensitive)", code,
            )  # fmt: skip
        if code in _REGION_CODES and (
            code != "AuthorizationHeaderMalformed" or "region" in _aws_message(error)
        ):
            return WrongRegion(
                self.context, action, f"S3 answered {code}: {_aws_message(error) or 'bucket elsewhere'}",
                "set destination.region (or the connection's region_name) to the bucket's region", code,
            )  # fmt: skip
        if kms_key is not None:
            return self._classify_kms(error, action, kms_key, code)
        if code in _DENIED:
            return self._classify_denied(action, code)
        return BucketAccessError(
            self.context, action, f"S3 answered {code}: {_aws_message(error)}",
            "see the AWS error code above; docs/troubleshooting.md lists the common ones", code,
        )  # fmt: skip

    def _classify_kms(self, error: ClientError, action: str, key: str, code: str) -> BucketAccessError:
        if code in ("NotFoundException", "KMSInvalidStateException", "DisabledException"):
            return KmsKeyProblem(
                self.context, action, f"KMS key {key!r} answered {code}: {_aws_message(error)}",
                "check destination.encryption.kms_key_id and that the key is enabled in that region", code,
            )  # fmt: skip
        return MissingPermission(
            self.context, action, f"KMS refused {action} on key {key!r} ({code})",
            f"allow {action} on the key for this identity, in the IAM policy and the key policy "
            "(`airflow-export policy` prints it)", code,
        )  # fmt: skip

    def _classify_denied(self, action: str, code: str) -> BucketAccessError:
        if action == "s3:GetBucketLocation" and not self._listing_allowed():
            # The two cheapest requests are refused: nothing more can be told apart from here.
            return AccessDisabled(
                self.context, action,
                f"even {action} and s3:ListBucket are refused ({code}): the key is inactive, "
                "an explicit Deny applies "
                "(IAM policy, bucket policy, SCP or permissions boundary), or the identity has no S3 access",
                "check the key's status and the Deny statements that apply to this identity and bucket", code,
            )  # fmt: skip
        if (
            action.startswith("s3:PutObject")
            and self._spec.encryption is None
            and self._policy_requires_sse()
        ):
            return EncryptionRequired(
                self.context, action,
                "the bucket policy denies uploads without server-side encryption, and the export sets none",
                "set destination.encryption (AES256, or aws:kms + kms_key_id) as the policy requires", code,
            )  # fmt: skip
        fix = f"allow {action.split(' ')[0]} on this bucket and prefix (`airflow-export policy` prints it)"
        if code in ("Forbidden", "403"):
            detail = f"S3 answered 403 to {action} without saying why (often a bucket policy Deny)"
        else:
            detail = f"{action.split(' ')[0]} is not allowed ({code})"
        return MissingPermission(self.context, action, detail, fix, code)

    def _listing_allowed(self) -> bool:
        try:
            self._client("s3").list_objects_v2(Bucket=self._spec.bucket, Prefix=self._spec.prefix, MaxKeys=1)
        except (ClientError, BotoCoreError):
            return False
        return True

    def _policy_requires_sse(self) -> bool:
        """Whether a readable bucket policy denies PutObject on a server-side-encryption condition."""
        try:
            policy = json.loads(self._client("s3").get_bucket_policy(Bucket=self._spec.bucket)["Policy"])
        except (ClientError, BotoCoreError, ValueError, KeyError):
            return False
        statements = policy.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            denies_put = statement.get("Effect") == "Deny" and any(
                a in ("s3:PutObject", "s3:*", "*") for a in actions
            )
            if denies_put and "server-side-encryption" in json.dumps(statement.get("Condition", {})):
                return True
        return False
