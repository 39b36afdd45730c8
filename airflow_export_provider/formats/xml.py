"""XML: one ``<Event>`` element per record inside ``<Events>``.

Scalar fields are elements (``<eventName>``); each group is a map of
``<entry><key/><value/></entry>`` so that any property name is representable. Characters
XML 1.0 cannot carry at all (most control characters) are replaced by U+FFFD.
"""

from __future__ import annotations

import re
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

import pyarrow as pa

from airflow_export_provider.formats.values import python_rows, scalar_text

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    return escape(_NOT_XML.sub("\ufffd", scalar_text(value)))


class XmlEncoder:
    def __init__(self) -> None:
        self._sink: BinaryIO | None = None

    def begin(self, sink: BinaryIO, schema: pa.Schema) -> None:
        self._sink = sink
        sink.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<Events>\n')

    def write(self, batch: pa.RecordBatch) -> None:
        assert self._sink is not None, "begin() first"
        for rows in python_rows(batch):
            self._sink.write(self._elements(rows).encode("utf-8"))

    @staticmethod
    def _elements(rows: list[dict[str, Any]]) -> str:
        parts: list[str] = []
        for record in rows:
            parts.append("<Event>")
            for name, value in record.items():
                if isinstance(value, dict):
                    entries = "".join(
                        f"<entry><key>{_text(key)}</key><value>{_text(item)}</value></entry>"
                        for key, item in value.items()
                        if item is not None
                    )
                    parts.append(f"<{name}>{entries}</{name}>")
                elif value is not None:
                    parts.append(f"<{name}>{_text(value)}</{name}>")
            parts.append("</Event>\n")
        return "".join(parts)

    def finish(self) -> None:
        assert self._sink is not None, "begin() first"
        self._sink.write(b"</Events>\n")

    def held_bytes(self) -> int:
        return 0

    def flush(self) -> None:
        """Every record is encoded as it is written; nothing is held."""
