"""The ``format:`` section: file format, compression and roll-over limits."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from airflow_export_provider.spec.base import SpecModel


class FormatSpec(SpecModel):
    """File format, compression and roll-over limits."""

    type: Literal["csv", "jsonl", "xml", "parquet"] = "csv"
    compression: Literal["gzip", "none"] | None = None
    compression_level: int = Field(default=1, ge=1, le=9)
    parquet_compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    max_records_per_file: int = Field(default=10_000_000, ge=1)
    max_bytes_per_file: int = Field(default=100 * 1000 * 1000, ge=1024)

    @property
    def outer_compression(self) -> Literal["gzip", "none"]:
        """gzip by default for text formats; Parquet compresses inside the file instead."""
        if self.compression is not None:
            return self.compression
        return "none" if self.type == "parquet" else "gzip"
