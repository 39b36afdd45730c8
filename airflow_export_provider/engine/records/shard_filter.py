"""One shard's rows of a batch: the rows whose event name hashes to the shard (``keys.shard_of``).

A shard of a sharded window reads the whole window from the source and keeps its own
events' rows (``engine/shards.py``). The filter runs on each unit *after* the source's
batches are cut into routing units, so each event's rows reach its files in exactly the
pieces they would in a one-task export of the window: the files come out byte for byte
the same whichever way the window was exported.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from airflow_export_provider.engine.keys import shard_of


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index} does not exist: the window has {self.count} shards")

    def rows_of(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The rows of ``batch`` this shard exports (the batch itself when all of them are)."""
        encoded = pc.dictionary_encode(batch.column("event_name"), null_encoding="encode")
        owned = [shard_of(name, self.count) == self.index for name in encoded.dictionary.to_pylist()]
        if all(owned):
            return batch
        if not any(owned):
            return batch.slice(0, 0)
        return batch.filter(pc.take(pa.array(owned, pa.bool_()), encoded.indices))
