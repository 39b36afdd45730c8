"""JSON text of whole records built by Arrow kernels: no Python object per row.

Turning every row into Python dicts and calling ``json.dumps`` cost ~50 µs a record and
held the GIL; JSON Lines ran at a tenth of the CSV rate. Here each column becomes the
JSON text of its values in one kernel call (strings escaped, numbers and booleans cast,
timestamps as ISO 8601, structs recursively, lists of strings, integers and booleans
joined), and the members of a record are concatenated column-wise. The spelling follows
:func:`airflow_export_provider.engine.formats.values.json_text`:

- null members are left out (at every depth); null list elements stay ``null``;
- non-finite floats are left out, like nulls (JSON has no NaN);
- strings keep unicode as is and escape ``"``, ``\\`` and control characters as
  ``json.dumps`` does (``\\n``, ``\\u0001``);
- numbers are Arrow's shortest round-trip spelling (``2`` for 2.0, ``1e-7``), which
  JSON readers read as the same number.

Values the kernels do not spell (lists of structs or floats, maps, binary) are written by
``json_text`` per row, for that column only.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from airflow_export_provider.engine.formats.values import json_text, timestamps_as_text

_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def json_string(texts: pa.Array) -> pa.Array:
    """Strings as JSON string literals (quoted and escaped); null stays null."""
    return concat('"', json_escaped(texts), '"')


def json_escaped(texts: pa.Array) -> pa.Array:
    """The inside of each JSON string literal: ``\\``, ``"`` and control characters escaped.

    Each replacement is a pass that copies the column, and most columns (ids, e-mails,
    device fields) hold none of these characters: only the ones present are replaced.
    Backslashes go first, since the other escapes add backslashes of their own.
    """
    found = bytes_found(texts, b'\\"', below=0x20)
    escaped = texts
    for code in sorted(found, key=lambda code: code != ord("\\")):
        character = chr(code)
        escaped = pc.replace_substring(escaped, character, _ESCAPES.get(character, f"\\u{code:04x}"))
    return escaped


def bytes_found(texts: pa.Array, candidates: bytes, below: int = 0) -> bytes:
    """Which of ``candidates``, and of the bytes below ``below``, the values' text holds.

    Looking at the values' bytes is many times cheaper than a replacement or a regex
    search over the strings (16k e-mails: ~50 µs against ~330 µs per replacement,
    docs/performance.md "JSON Lines"): the smallest byte by Arrow's ``min``, each
    candidate by ``bytes.__contains__`` (memchr). Bytes below 0x80 are ASCII characters
    in UTF-8: no other character's encoding holds them. A null slot's leftover bytes can
    only make a character look present, never absent, which costs a replacement that
    changes nothing.
    """
    buffer = text_buffer(texts)
    if not buffer.size:
        return b""
    found = bytearray()
    if below:
        data = pa.Array.from_buffers(pa.uint8(), buffer.size, [None, buffer])
        if pc.min(data).as_py() < below:
            low = pc.filter(data, pc.less(data, pa.scalar(below, pa.uint8())))
            found += bytes(sorted(pc.unique(low).to_pylist()))
    text = buffer.to_pybytes()
    found += bytes(code for code in candidates if code >= below and bytes((code,)) in text)
    return bytes(found)


def json_values(array: pa.Array) -> pa.Array:
    """The JSON text of each value; null where the member is to be left out."""
    kind = array.type
    if pa.types.is_struct(kind):
        return _object_texts(array, "{")
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return json_string(array.cast(pa.string()))
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_time(kind):
        return json_string(timestamps_as_text(array).cast(pa.string()))
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        return array.cast(pa.string())
    if pa.types.is_floating(kind):
        finite = pc.is_finite(array)  # NaN and infinities are left out, as nulls are
        return pc.if_else(finite, array.cast(pa.string()), pa.scalar(None, pa.string()))
    if pa.types.is_null(kind):
        return pa.nulls(len(array), pa.string())
    return nested_as_json_text(array)


def json_members(members: list[tuple[str, pa.Array]]) -> list[pa.Array]:
    """Each member as ``,"name":value`` per row; null where the member is left out."""
    return [json_member(member_prefix(name), values) for name, values in members]


def member_prefix(name: str) -> str:
    """``,"name":``, what every member's text starts with (``json_objects_of`` drops the first comma)."""
    return "," + json_text(name) + ":"


def json_member(prefix: str, values: pa.Array) -> pa.Array:
    """``prefix`` and each value's JSON text; a string's quotes join the prefix in the same call.

    Routing spells every event's members apart, so kernel calls, not rows, set the speed
    of JSON Lines: one concatenation per string member instead of two.
    """
    kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return concat(prefix + '"', json_escaped(values.cast(pa.string())), '"')
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_time(kind):
        return concat(prefix + '"', json_escaped(timestamps_as_text(values).cast(pa.string())), '"')
    if pa.types.is_struct(kind):
        return _object_texts(values, prefix + "{")  # the prefix joins the object, not a copy of it
    return concat(prefix, json_values(values))


def _object_texts(struct: pa.StructArray, start: str) -> pa.Array:
    """``start`` and each row's object; null where the struct is null (a mask, a copy of the
    text, only when it has nulls)."""
    members = [(field.name, child) for field, child in zip(struct.type, struct.flatten(), strict=True)]
    objects = json_objects(members, start)
    if not struct.null_count:
        return objects
    return pc.if_else(struct.is_valid(), objects, pa.scalar(None, pa.string()))


def json_objects_of(member_texts: list[pa.Array], end: str = "", start: str = "{") -> pa.Array:
    """Objects from :func:`json_members` columns (any grouping of them): ``start`` (which ends
    with the object's ``{``), the members, ``}`` and ``end``."""
    # Each present member is `,"name":value`; absent ones are empty, and the comma of each
    # row's first present member must go. When the first column is present in every row (an
    # event's name, a group), its commas are cut from that short column alone. Otherwise the
    # one comma after `start` is replaced, a second pass over the whole objects; a row is
    # `start` followed by a comma or by nothing but `}` and `end`, so the first match is
    # that comma. (binary_join_element_wise's null_handling="skip" drops rows whose inputs
    # are all null in pyarrow 26, so it is not used.)
    first, rest = member_texts[0], member_texts[1:]
    if first.null_count == 0:
        return join_present([start, pc.utf8_slice_codeunits(first, 1), *rest, "}" + end])
    joined = join_present([start, *member_texts, "}" + end])
    return pc.replace_substring(joined, start + ",", start, max_replacements=1)


def join_present(pieces: list[str | pa.Array]) -> pa.Array:
    """Element-wise concatenation, absent (null) pieces contributing nothing."""
    return pc.binary_join_element_wise(*pieces, "", null_handling="replace", null_replacement="")


def json_objects(members: list[tuple[str, pa.Array]], start: str = "{") -> pa.Array:
    """One JSON object per row from named columns, null members left out; never null itself."""
    if not members:
        raise ValueError("an object needs at least one member column")
    objects = json_objects_of(json_members(members), start=start)
    assert len(objects) == len(members[0][1])
    return objects


def nested_as_json_text(array: pa.Array) -> pa.Array:
    """A nested column (a CSV cell) as JSON text: kernels for common lists, ``json_text`` otherwise."""
    listed = _list_values(array)
    if listed is not None:
        return listed
    return pa.array([None if value is None else json_text(value) for value in array.to_pylist()], pa.string())


def _list_values(array: pa.Array) -> pa.Array | None:
    if not pa.types.is_list(array.type):
        return None
    values = array.flatten()
    item = values.type
    if pa.types.is_string(item):
        texts = json_string(values)
    elif pa.types.is_integer(item) or pa.types.is_boolean(item):
        texts = values.cast(pa.string())
    else:
        return None
    offsets = pc.subtract(array.offsets, array.offsets[0])
    lists = pa.ListArray.from_arrays(offsets, pc.fill_null(texts, "null"), mask=array.is_null())
    return concat("[", pc.binary_join(lists, ","), "]")


def concat(*pieces: str | pa.Array) -> pa.Array:
    """Element-wise concatenation; null if any array piece is null."""
    return pc.binary_join_element_wise(*pieces, "")


def text_buffer(lines: pa.Array) -> pa.Buffer:
    """The values of a string array back to back, as one buffer (no copy, no Python per row)."""
    lines = lines.cast(pa.string())
    _, offset_buffer, value_buffer = lines.buffers()
    if not len(lines) or value_buffer is None:
        return pa.py_buffer(b"")
    offsets = pa.Array.from_buffers(pa.int32(), len(lines) + 1, [None, offset_buffer], offset=lines.offset)
    first, last = offsets[0].as_py(), offsets[len(lines)].as_py()
    return value_buffer[first:last]
