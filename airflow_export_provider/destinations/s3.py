"""An S3 bucket, written with streamed multipart uploads through the amazon provider's S3Hook.

No object is ever held whole: bytes are buffered up to one part (``multipart_part_size``,
8 MiB by default) and sent. The part being filled stays in memory up to 256 KiB and is
spooled to a temporary file beyond that, because a window split by event name has one
open upload per event: 40 events would otherwise hold up to 320 MiB of parts in memory.
An object smaller than one part is sent with a single ``PutObject``. Server-side
encryption from the spec is requested on every write. A failed upload is aborted so no
multipart upload is left open.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from airflow_export_provider.destinations.base import ConcurrentUpdate
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


def _part_buffer() -> tempfile.SpooledTemporaryFile[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=PART_IN_MEMORY_BYTES, prefix="export-part-")


class S3Upload:
    def __init__(self, client: Any, bucket: str, key: str, part_size: int, extra: dict[str, str]) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._part_size = part_size
        self._extra = extra
        self._buffer = _part_buffer()
        self._buffered = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

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
        self._parts.append({"ETag": sent["ETag"], "PartNumber": number})
        self._start_next_part()

    def commit(self) -> None:
        try:
            if self._upload_id is None:
                self._client.put_object(
                    Bucket=self._bucket, Key=self._key, Body=self._rewound(), **self._extra
                )
                return
            if self._buffered:
                self._send_part()
            self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        except (ClientError, BotoCoreError) as error:
            raise _describe(error, "writing", self._bucket, self._key) from error
        finally:
            self._start_next_part()

    def abort(self) -> None:
        self._start_next_part()
        if self._upload_id is not None:
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
            self._upload_id = None


class S3Destination:
    def __init__(self, spec: S3DestinationSpec) -> None:
        # Imported here: the amazon provider is heavy and the spec/CLI paths don't need it.
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        self._spec = spec
        self._hook = S3Hook(aws_conn_id=spec.aws_conn_id, region_name=spec.region)
        self._bucket = spec.bucket

    @property
    def client(self) -> Any:
        return self._hook.get_conn()

    def _extra(self, content_type: str) -> dict[str, str]:
        extra = {"ContentType": content_type}
        if self._spec.encryption is not None:
            extra["ServerSideEncryption"] = self._spec.encryption.type
            if self._spec.encryption.kms_key_id:
                extra["SSEKMSKeyId"] = self._spec.encryption.kms_key_id
        return extra

    def start_upload(self, key: str, content_type: str) -> S3Upload:
        return S3Upload(
            self.client, self._bucket, key, self._spec.multipart_part_size, self._extra(content_type)
        )

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
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise _describe(error, "reading", self._bucket, key) from error

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        try:
            answer = self.client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None, None
            raise _describe(error, "reading", self._bucket, key) from error
        body: bytes = answer["Body"].read()
        return body, str(answer["ETag"])

    def put_if(self, key: str, data: bytes, content_type: str, version: str | None) -> None:
        # S3 conditional writes (2024): If-None-Match "*" creates only, If-Match replaces only
        # the version that was read. 412 means another writer came first; 409 that one is in flight.
        condition = {"IfNoneMatch": "*"} if version is None else {"IfMatch": version}
        try:
            self.client.put_object(
                Bucket=self._bucket, Key=key, Body=data, **condition, **self._extra(content_type)
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
                raise ConcurrentUpdate(key) from error
            raise _describe(error, "writing", self._bucket, key) from error
        except BotoCoreError as error:
            raise _describe(error, "writing", self._bucket, key) from error

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

    def abort_unfinished_uploads(self, prefix: str, matching: re.Pattern[str]) -> list[str]:
        aborted = []
        try:
            paginator = self.client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
                for upload in page.get("Uploads", []):
                    if matching.fullmatch(upload["Key"]):
                        self.client.abort_multipart_upload(
                            Bucket=self._bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        aborted.append(upload["Key"])
        except (ClientError, BotoCoreError) as error:
            raise _describe(error, "cleaning up unfinished uploads in", self._bucket, prefix) from error
        return aborted

    def url(self, key: str) -> str:
        return f"s3://{self._bucket}/{key}"
