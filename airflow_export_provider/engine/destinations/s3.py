"""An S3 bucket, written with streamed multipart uploads through a boto3 S3 client.

No object is ever held whole: bytes are buffered up to one part (``multipart_part_size``,
8 MiB by default) and sent. The part being filled stays in memory up to 256 KiB and is
spooled to a temporary file beyond that, because a window split by event name has one
open upload per event: 40 events would otherwise hold up to 320 MiB of parts in memory.

Every data file is a multipart upload, even one smaller than a part (a single last part
may be any size): S3 shows nothing under the key until ``CompleteMultipartUpload``, which
the commit protocol calls only once the whole window is ready (Hadoop's S3A "magic"
committer works the same way). The object's metadata names the run that completed it, so
a later run can tell a completed upload from a lost one. Server-side encryption from the
spec is requested on every write. A failed upload is aborted so no upload is left open.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from airflow_export_provider.engine.destinations.base import ConcurrentUpdate, PendingUpload, UploadLost
from airflow_export_provider.exceptions import DestinationError
from airflow_export_provider.spec import S3DestinationSpec


def _describe(error: Exception, action: str, bucket: str, key: str = "") -> DestinationError:
    where = f"s3://{bucket}/{key}" if key else f"bucket {bucket!r}"
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        message = error.response.get("Error", {}).get("Message", "")
        return DestinationError(f"{action} {where} failed: {code}: {message}")
    return DestinationError(f"{action} {where} failed: {error}")


PART_IN_MEMORY_BYTES = 256 * 1024
# Object metadata naming the run whose commit completed the object (``x-amz-meta-export-run``).
RUN_METADATA = "export-run"
# Error codes of a conditional request that lost: 412 another writer came first, 409 one is in flight.
_LOST_RACE = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")
_MISSING = ("NoSuchKey", "404", "NotFound")


def _part_buffer() -> tempfile.SpooledTemporaryFile[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=PART_IN_MEMORY_BYTES, prefix="export-part-")


class S3Upload:
    def __init__(
        self, client: Any, bucket: str, key: str, part_size: int, extra: dict[str, Any], run_id: str
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._part_size = part_size
        self._extra = {**extra, "Metadata": {RUN_METADATA: run_id}}
        self._run_id = run_id
        self._buffer = _part_buffer()
        self._buffered = 0
        self._upload_id: str | None = None
        self._parts: list[tuple[int, str]] = []

    def write(self, data: bytes) -> None:
        self._buffer.write(data)
        self._buffered += len(data)
        if self._buffered >= self._part_size:
            self._send_part()

    def _rewound(self) -> tempfile.SpooledTemporaryFile[bytes]:
        self._buffer.seek(0)
        return self._buffer

    def _start_next_part(self) -> None:
        self._buffer.close()
        self._buffer = _part_buffer()
        self._buffered = 0

    def _send_part(self) -> None:
        try:
            if self._upload_id is None:
                created = self._client.create_multipart_upload(
                    Bucket=self._bucket, Key=self._key, **self._extra
                )
                self._upload_id = created["UploadId"]
            number = len(self._parts) + 1
            sent = self._client.upload_part(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=self._rewound(),
            )
        except (ClientError, BotoCoreError) as error:
            raise _describe(error, "uploading a part of", self._bucket, self._key) from error
        self._parts.append((number, str(sent["ETag"])))
        self._start_next_part()

    def finish(self) -> PendingUpload:
        if self._buffered or not self._parts:
            self._send_part()
        self._buffer.close()
        assert self._upload_id is not None  # _send_part created it
        return PendingUpload(self._key, self._upload_id, self._run_id, tuple(self._parts))

    def abort(self) -> None:
        self._start_next_part()
        if self._upload_id is not None:
            _abort(self._client, self._bucket, self._key, self._upload_id)
            self._upload_id = None


def _abort(client: Any, bucket: str, key: str, upload_id: str) -> None:
    try:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchUpload":
            raise _describe(error, "aborting the upload of", bucket, key) from error


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Destination:
    """The spec's bucket through ``client`` (in Airflow: the amazon provider's ``S3Hook`` client)."""

    def __init__(self, spec: S3DestinationSpec, client: Any) -> None:
        self._spec = spec
        self.client = client
        self._bucket = spec.bucket

    def _extra(self, content_type: str) -> dict[str, Any]:
        extra: dict[str, Any] = {"ContentType": content_type}
        if self._spec.encryption is not None:
            extra["ServerSideEncryption"] = self._spec.encryption.type
            if self._spec.encryption.kms_key_id:
                extra["SSEKMSKeyId"] = self._spec.encryption.kms_key_id
        return extra

    def start_upload(self, key: str, content_type: str, run_id: str) -> S3Upload:
        return S3Upload(
            self.client, self._bucket, key, self._spec.multipart_part_size, self._extra(content_type), run_id
        )

    def complete_upload(self, pending: PendingUpload) -> None:
        parts = [{"PartNumber": number, "ETag": etag} for number, etag in pending.parts]
        try:
            self.client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=pending.key,
                UploadId=pending.upload_id,
                MultipartUpload={"Parts": parts},
            )
            return
        except ClientError as error:
            if _code(error) != "NoSuchUpload":
                raise _describe(error, "completing", self._bucket, pending.key) from error
        except BotoCoreError as error:
            raise _describe(error, "completing", self._bucket, pending.key) from error
        if self._completed_by(pending.key) != pending.run_id:
            raise UploadLost(
                f"the upload of {self.url(pending.key)} by run {pending.run_id} is gone and was never "
                "completed (aborted, or expired by a bucket lifecycle rule)"
            )

    def _completed_by(self, key: str) -> str | None:
        try:
            head = self.client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if _code(error) in _MISSING:
                return None
            raise _describe(error, "reading", self._bucket, key) from error
        run: str | None = head.get("Metadata", {}).get(RUN_METADATA)
        return run

    def abort_upload(self, pending: PendingUpload) -> None:
        _abort(self.client, self._bucket, pending.key, pending.upload_id)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self.client.put_object(Bucket=self._bucket, Key=key, Body=data, **self._extra(content_type))
        except (ClientError, BotoCoreError) as error:
            raise _describe(error, "writing", self._bucket, key) from error

    def get_bytes(self, key: str) -> bytes | None:
        try:
            body: bytes = self.client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
            return body
        except ClientError as error:
            if _code(error) in _MISSING:
                return None
            raise _describe(error, "reading", self._bucket, key) from error

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        try:
            answer = self.client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if _code(error) in _MISSING:
                return None, None
            raise _describe(error, "reading", self._bucket, key) from error
        body: bytes = answer["Body"].read()
        return body, str(answer["ETag"])

    def put_if(self, key: str, data: bytes, content_type: str, version: str | None) -> str:
        # S3 conditional writes: If-None-Match "*" creates only, If-Match replaces only the
        # version that was read.
        condition = {"IfNoneMatch": "*"} if version is None else {"IfMatch": version}
        try:
            answer = self.client.put_object(
                Bucket=self._bucket, Key=key, Body=data, **condition, **self._extra(content_type)
            )
        except ClientError as error:
            if _code(error) in _LOST_RACE or (version is not None and _code(error) in _MISSING):
                raise ConcurrentUpdate(key) from error
            raise _describe(error, "writing", self._bucket, key) from error
        except BotoCoreError as error:
            raise _describe(error, "writing", self._bucket, key) from error
        return str(answer["ETag"])

    def delete_if(self, key: str, version: str) -> None:
        try:
            self.client.delete_object(Bucket=self._bucket, Key=key, IfMatch=version)
        except ClientError as error:
            if _code(error) in (*_LOST_RACE, *_MISSING):
                raise ConcurrentUpdate(key) from error
            raise _describe(error, "deleting", self._bucket, key) from error
        except BotoCoreError as error:
            raise _describe(error, "deleting", self._bucket, key) from error

    def delete(self, keys: Iterable[str]) -> None:
        pending = list(keys)
        for start in range(0, len(pending), 1000):
            chunk = [{"Key": key} for key in pending[start : start + 1000]]
            try:
                answer = self.client.delete_objects(
                    Bucket=self._bucket, Delete={"Objects": chunk, "Quiet": True}
                )
            except (ClientError, BotoCoreError) as error:
                raise _describe(error, "deleting objects in", self._bucket) from error
            if answer.get("Errors"):
                first = answer["Errors"][0]
                where = f"s3://{self._bucket}/{first['Key']}"
                raise DestinationError(
                    f"deleting {where} failed: {first['Code']}: {first.get('Message', '')}"
                )

    def list_keys(self, prefix: str) -> Iterator[str]:
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=prefix
            ):
                for item in page.get("Contents", []):
                    yield item["Key"]
        except (ClientError, BotoCoreError) as error:
            raise _describe(error, "listing", self._bucket, prefix) from error

    def abort_unfinished_uploads(
        self, prefix: str, matching: re.Pattern[str], keep: frozenset[str] = frozenset()
    ) -> list[str]:
        aborted = []
        try:
            paginator = self.client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
                for upload in page.get("Uploads", []):
                    if matching.fullmatch(upload["Key"]) and upload["UploadId"] not in keep:
                        _abort(self.client, self._bucket, upload["Key"], upload["UploadId"])
                        aborted.append(upload["Key"])
        except (ClientError, BotoCoreError) as error:
            raise _describe(error, "cleaning up unfinished uploads in", self._bucket, prefix) from error
        return aborted

    def url(self, key: str) -> str:
        return f"s3://{self._bucket}/{key}"
