"""What a bucket-access check can find wrong, each kind its own error, and what it verified.

Each :class:`BucketAccessError` names the bucket, the region, the masked key id, the
request that failed and the fix; the secret is never part of any of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from airflow_export_provider.exceptions import ExportError


def mask_key_id(key_id: str | None) -> str:
    """``AKIAIOSFODNN7EXAMPLE`` → ``AKIA…MPLE``: enough to tell keys apart, not to use one."""
    if not key_id:
        return "(no key id: credentials come from the environment or a role)"
    return f"{key_id[:4]}…{key_id[-4:]}" if len(key_id) > 8 else "…"


@dataclass(frozen=True)
class AccessContext:
    """What a message may say about where the check looked; never the secret."""

    bucket: str
    prefix: str
    region: str | None
    key_id: str
    conn_id: str

    def where(self) -> str:
        region = self.region or "the connection's default region"
        return f"bucket {self.bucket!r} (region {region}), key id {self.key_id}, connection {self.conn_id!r}"


class BucketAccessError(ExportError):
    """The destination cannot be used as the export needs; the subclass says why.

    ``title`` is the short name of the failure class (used in alerts and the status),
    ``action`` the request that failed, ``fix`` what to do.
    """

    title = "no access to the bucket"
    waits_for_fix = True

    def __init__(self, context: AccessContext, action: str, detail: str, fix: str, code: str = "") -> None:
        self.context = context
        self.action = action
        self.detail = detail
        self.fix = fix
        self.code = code
        super().__init__(f"{self.title}: {detail} ({context.where()}; request {action}). Fix: {fix}")

    def as_dict(self) -> dict[str, str]:
        return {"class": type(self).__name__, "title": self.title, "action": self.action,
                "code": self.code, "message": str(self)}  # fmt: skip


class WrongAccessKeyId(BucketAccessError):
    title = "wrong access key id"


class WrongSecretKey(BucketAccessError):
    title = "wrong secret access key"


class SessionTokenInvalid(BucketAccessError):
    title = "expired or invalid session token"


class AccessDisabled(BucketAccessError):
    title = "access disabled or explicitly denied"


class BucketNotFound(BucketAccessError):
    title = "bucket does not exist"


class WrongRegion(BucketAccessError):
    title = "bucket is in another region"


class MissingPermission(BucketAccessError):
    title = "missing permission"


class EncryptionRequired(BucketAccessError):
    title = "bucket policy requires server-side encryption"


class KmsKeyProblem(BucketAccessError):
    title = "KMS key not usable"


class DestinationUnreachable(BucketAccessError):
    """The endpoint did not answer: network, DNS or endpoint_url. Retried like any failure."""

    title = "S3 endpoint unreachable"
    waits_for_fix = False


@dataclass
class AccessReport:
    """What a successful check verified, for the log and the CLI."""

    context: AccessContext
    bucket_region: str
    verified: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"access ok: {self.context.where()}; bucket region {self.bucket_region}; "
            f"verified {', '.join(self.verified)}"
        )
