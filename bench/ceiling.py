"""The ceiling: a minimal pure-pyarrow pipeline, read batches → encode → gzip → multipart upload.

Run as a child process by ``bench/run.py`` (one format per process, so peak RSS is its
own). It does what a hand-written single-purpose exporter would do for the same records,
and nothing more: one file for the whole window, no projection, no split by event, no
schema decisions, no manifest, no checks. Text formats use the same compressor as the
export's default (ISA-L igzip level 1 on a compression thread); Parquet uses zstd inside
the file, as the export does. CSV is pyarrow's writer. JSON Lines are spelled by DuckDB
(``SELECT to_json(t) FROM read_parquet(lake) t``, streamed as Arrow batches): an encoder
no one here wrote (it keeps null members as ``null``, where the export leaves them out).
XML has no such writer (pyarrow and DuckDB write none, and a per-row Python writer is a
floor, not a ceiling), so XML records are spelled by the export's own Arrow-kernel
functions (``formats.xml.event_elements``): for XML the ratio measures the pipeline
around the encoder.

    python bench/ceiling.py FORMAT LAKE_FILE ENDPOINT BUCKET KEY
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from isal import igzip_threaded
from peak import peak_rss_mb

from airflow_export_provider.engine.formats.json_kernels import text_buffer
from airflow_export_provider.engine.formats.xml import event_elements

PART_BYTES = 8 * 1024 * 1024
ROWS_PER_BATCH = 65_536


class MultipartSink:
    """A writable file that uploads 8 MiB parts as they fill (S3 multipart upload)."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self.client, self.bucket, self.key = client, bucket, key
        self.upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        self.parts: list[dict[str, Any]] = []
        self.buffer = bytearray()
        self.size = 0
        self.done = False

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.size += len(data)
        if len(self.buffer) >= PART_BYTES:
            self._send()
        return len(data)

    def flush(self) -> None:
        pass

    def _send(self) -> None:
        number = len(self.parts) + 1
        answer = self.client.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=bytes(self.buffer),
        )
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self.buffer.clear()

    def close(self) -> None:
        if self.done:  # writers may close their sink themselves
            return
        self.done = True
        if self.buffer or not self.parts:
            self._send()
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )

    @property
    def closed(self) -> bool:
        return self.done


def flat(batch: pa.RecordBatch) -> pa.Table:
    """Structs flattened to dotted columns, lists as JSON text (kernels only)."""
    table = pa.Table.from_batches([batch])
    while any(pa.types.is_struct(field.type) for field in table.schema):
        table = table.flatten()
    columns = [list_json(column.combine_chunks()) if pa.types.is_list(column.type) else column
               for column in table.columns]  # fmt: skip
    return pa.table(columns, names=table.column_names)


def list_json(array: pa.Array) -> pa.Array:
    values = array.flatten()
    if pa.types.is_string(values.type):
        quoted = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
        values = pc.binary_join_element_wise('"', quoted, '"', "")
    else:
        values = values.cast(pa.string())
    offsets = pc.subtract(array.offsets, array.offsets[0])
    lists = pa.ListArray.from_arrays(offsets, pc.fill_null(values, "null"), mask=array.is_null())
    return pc.binary_join_element_wise("[", pc.binary_join(lists, ","), "]", "")


def export(fmt: str, lake_file: str, sink: MultipartSink) -> int:
    reader = pq.ParquetFile(lake_file)
    rows = 0
    if fmt == "parquet":
        writer = pq.ParquetWriter(sink, reader.schema_arrow, compression="zstd")
        for batch in reader.iter_batches(batch_size=ROWS_PER_BATCH):
            writer.write_batch(batch)
            rows += batch.num_rows
        writer.close()
        return rows
    gz = igzip_threaded.open(sink, "wb", compresslevel=1, threads=1)
    if fmt == "jsonl":
        rows = _duckdb_json_lines(lake_file, gz)
        gz.close()
        return rows
    csv_writer = None
    if fmt == "xml":
        gz.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<Events>\n')
    for batch in reader.iter_batches(batch_size=ROWS_PER_BATCH):
        rows += batch.num_rows
        if fmt == "csv":
            table = flat(batch)
            if csv_writer is None:
                csv_writer = pacsv.CSVWriter(gz, table.schema)
            csv_writer.write_table(table)
        else:
            gz.write(text_buffer(event_elements(batch)))
    if csv_writer is not None:
        csv_writer.close()
    if fmt == "xml":
        gz.write(b"</Events>\n")
    gz.close()
    return rows


def _duckdb_json_lines(lake_file: str, gz: Any) -> int:
    """DuckDB spells every record; the lines are streamed through the same gzip and upload."""
    import duckdb

    result = duckdb.connect().sql(f"SELECT to_json(t) AS line FROM read_parquet('{lake_file}') t")
    rows = 0
    for batch in result.fetch_arrow_reader(ROWS_PER_BATCH):
        rows += batch.num_rows
        gz.write(text_buffer(pc.binary_join_element_wise(batch.column(0), "\n", "")))
    return rows


def main() -> None:
    fmt, lake_file, endpoint, bucket, key = sys.argv[1:6]
    with contextlib.suppress(ImportError):
        import pandas  # noqa: F401  # imported before the clock, as in bench/ours.py
    started, cpu_started = time.perf_counter(), time.process_time()
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")  # fmt: skip
    sink = MultipartSink(client, bucket, key)
    rows = export(fmt, lake_file, sink)
    sink.close()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = peak_rss_mb()
    print(json.dumps({"records": rows, "bytes": sink.size, "seconds": seconds, "cpu_seconds": cpu,
                      "peak_rss_mb": peak, "files": 1}))  # fmt: skip


if __name__ == "__main__":
    main()
