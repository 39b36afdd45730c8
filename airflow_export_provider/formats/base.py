"""The encoder protocol and the choice of encoder for a spec."""

from __future__ import annotations

from typing import BinaryIO, Protocol

import pyarrow as pa

from airflow_export_provider.spec import FormatSpec


class RecordEncoder(Protocol):
    """Turns record batches of one schema into the bytes of one file.

    ``begin`` writes any header, ``write`` appends records, ``finish`` writes any trailer.
    Encoders never close ``sink``: the caller owns compression and upload.
    """

    def begin(self, sink: BinaryIO, schema: pa.Schema) -> None: ...

    def write(self, batch: pa.RecordBatch) -> None: ...

    def finish(self) -> None: ...

    def held_bytes(self) -> int:
        """Bytes of records accepted but not yet encoded (Parquet holds rows for row groups)."""
        ...

    def flush(self) -> None:
        """Encode what is held now, e.g. when the window writer's memory budget is reached."""
        ...


def encoder_for(spec: FormatSpec) -> RecordEncoder:
    """A fresh encoder for one file of the given format."""
    # Imported here so that loading the spec never pulls in every encoder.
    from airflow_export_provider.formats.csv import CsvEncoder
    from airflow_export_provider.formats.jsonl import JsonLinesEncoder
    from airflow_export_provider.formats.parquet import ParquetEncoder
    from airflow_export_provider.formats.xml import XmlEncoder

    if spec.type == "parquet":
        return ParquetEncoder(compression=spec.parquet_compression)
    text_encoders: dict[str, type[RecordEncoder]] = {
        "csv": CsvEncoder,
        "jsonl": JsonLinesEncoder,
        "xml": XmlEncoder,
    }
    return text_encoders[spec.type]()
