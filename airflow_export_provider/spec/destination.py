"""The ``destination:`` section: an S3 bucket, or a local folder for development."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from airflow_export_provider.spec.base import SAFE_PREFIX, MiB, SpecModel, clean_prefix, type_or
from airflow_export_provider.spec.bucket_names import bucket_name_problem


class EncryptionSpec(SpecModel):
    """Server-side encryption requested on every object the export writes."""

    type: Literal["AES256", "aws:kms"]
    kms_key_id: str | None = None

    @model_validator(mode="after")
    def _key_matches_type(self) -> EncryptionSpec:
        if self.type == "aws:kms" and not self.kms_key_id:
            raise ValueError("type 'aws:kms' needs kms_key_id (a key id, alias or ARN)")
        if self.type == "AES256" and self.kms_key_id:
            raise ValueError("kms_key_id is only used with type 'aws:kms'; remove it or change the type")
        return self


class S3DestinationSpec(SpecModel):
    """An S3 (or S3-compatible) bucket reached through an Airflow ``aws`` connection."""

    type: Literal["s3"] = "s3"
    aws_conn_id: str = "aws_default"
    bucket: str
    prefix: Annotated[str, Field(pattern=SAFE_PREFIX)] = ""
    region: str | None = None
    encryption: EncryptionSpec | None = None
    multipart_part_size: int = Field(default=8 * MiB, ge=5 * MiB, le=512 * MiB)

    @field_validator("bucket")
    @classmethod
    def _a_name_s3_accepts(cls, bucket: str) -> str:
        problem = bucket_name_problem(bucket)
        if problem is not None:
            raise ValueError(f"{bucket!r} is not a valid S3 bucket name: it {problem}")
        return bucket

    @field_validator("prefix")
    @classmethod
    def _normalise_prefix(cls, prefix: str) -> str:
        return clean_prefix(prefix)


class LocalDestinationSpec(SpecModel):
    """A local directory; for development and tests, written with the same keys as S3."""

    type: Literal["local"]
    path: str = Field(min_length=1)
    prefix: Annotated[str, Field(pattern=SAFE_PREFIX)] = ""
    shared: bool = False
    """``path`` is a folder every worker mounts (NFS, EFS): allowed under a distributed executor."""

    @field_validator("prefix")
    @classmethod
    def _normalise_prefix(cls, prefix: str) -> str:
        return clean_prefix(prefix)


DestinationSpec = Annotated[
    Annotated[S3DestinationSpec, Tag("s3")] | Annotated[LocalDestinationSpec, Tag("local")],
    Discriminator(type_or("s3")),
]
