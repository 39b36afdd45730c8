"""Canonical event batches → the records an export writes.

Output records are grouped the same way in every format: ``eventName``, ``eventTime``,
``identity{}``, ``profile{}``, ``deviceInfo{}``, ``commPrefs{}``, ``eventProps{}``. The
projection is vectorised: it rearranges Arrow arrays (no per-row Python) and keeps types,
so Parquet gets real timestamps, numbers and booleans, and text encoders decide how to
spell them.
"""

from __future__ import annotations

import pyarrow as pa

_GROUPS = (
    ("profile", "profile"),
    ("deviceInfo", "device"),
    ("commPrefs", "comm_prefs"),
    ("eventProps", "properties"),
)
_IDENTITY_COLUMNS = (("userId", "user_id"), ("identity", "identity"), ("email", "email"), ("phone", "phone"))


def project(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Rearrange one canonical batch into the output record shape."""
    names = ["eventName", "eventTime", "identity"]
    arrays: list[pa.Array] = [_column(batch, "event_name"), _column(batch, "event_time"), _identity(batch)]
    for output_name, canonical_name in _GROUPS:
        group = _column(batch, canonical_name)
        if group.type.num_fields:  # an empty struct carries nothing and Parquet cannot store it
            names.append(output_name)
            arrays.append(_without_top_level_nulls(group))
    return pa.RecordBatch.from_arrays(arrays, names=names)


def output_schema(canonical: pa.Schema) -> pa.Schema:
    """The schema :func:`project` produces for batches of ``canonical``; fixed per window."""
    empty = pa.RecordBatch.from_arrays([pa.array([], field.type) for field in canonical], schema=canonical)
    return project(empty).schema


def _column(batch: pa.RecordBatch, name: str) -> pa.Array:
    return batch.column(batch.schema.get_field_index(name))


def _identity(batch: pa.RecordBatch) -> pa.StructArray:
    """Every identifier the source has, stable user id first, custom identities last."""
    names = [output for output, _ in _IDENTITY_COLUMNS]
    arrays = [_column(batch, canonical) for _, canonical in _IDENTITY_COLUMNS]
    custom = _column(batch, "custom_identities")
    # flatten() (unlike field()) folds a null parent into its members.
    for child, values in zip(custom.type, custom.flatten(), strict=True):
        if child.name not in names:
            names.append(child.name)
            arrays.append(values)
    return pa.StructArray.from_arrays(arrays, names=names)


def _without_top_level_nulls(group: pa.StructArray) -> pa.StructArray:
    """A null group becomes a group of null members, so encoders see one shape for every row."""
    if group.null_count == 0:
        return group
    return pa.StructArray.from_arrays(group.flatten(), fields=list(group.type))
