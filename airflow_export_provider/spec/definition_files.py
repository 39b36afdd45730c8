"""Reading export definitions from YAML files, safely.

A definition file is parsed by every DAG processor, often from a folder many teams write
to, so its reader refuses what a definition never needs and what can hurt the processor:

- anchors and aliases (``&name`` / ``*name``): a few hundred bytes of nested aliases
  ("billion laughs") expand to gigabytes and stall the processor for hours;
- duplicate keys: YAML's last-one-wins would silently drop the first value
  (``export_id: a`` … ``export_id: b`` is not a definition of ``b``);
- files over :data:`MAX_BYTES`, and text that is not UTF-8 (named by byte offset).

Every problem is an :class:`~airflow_export_provider.exceptions.ExportSpecError` naming
the file and the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from airflow_export_provider.exceptions import ExportSpecError

MAX_BYTES = 1024 * 1024


class _Refused(yaml.MarkedYAMLError):
    """A construct the definition reader does not accept, with its place in the file."""


_SafeBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DefinitionLoader(yaml.composer.Composer, _SafeBase):  # type: ignore[misc]
    """PyYAML's safe loader without anchors, aliases or duplicate keys.

    The scanner and parser are libyaml's where PyYAML has it (a thousand definitions are
    parsed by every DAG processor: PyYAML's own parser took 0.7 ms of the 1 ms a
    definition cost); composing stays PyYAML's Python composer, ahead of the C one in
    the method order, so that the anchor check below sees every node.
    """

    def __init__(self, stream: str) -> None:
        _SafeBase.__init__(self, stream)
        yaml.composer.Composer.__init__(self)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        written = (
            f"*{event.anchor}" if isinstance(event, yaml.AliasEvent) else f"&{getattr(event, 'anchor', '')}"
        )
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(
                problem=f"{written}: anchors and aliases are not allowed in export definitions; "
                "write the value out",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise _Refused(problem="a key must be a plain value", problem_mark=key_node.start_mark)
            if key in seen:
                first = seen[key]
                raise _Refused(
                    problem=f"duplicate key {key!r} (first at line {first.line + 1}); a key may appear once",
                    problem_mark=key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _booleans_of_yaml_1_2(loader: type[yaml.SafeLoader]) -> None:
    """Read ``on``, ``off``, ``yes``, ``no``, ``y`` and ``n`` as the words they are, as YAML 1.2 does.

    PyYAML follows YAML 1.1, where ``on: [stopped, failed]`` is the key ``True``: the
    ``alerts.*.on`` key of every definition would be refused. PyYAML picks resolvers by a
    value's first character; dropping the boolean resolver from ``o y n`` (either case)
    leaves only ``true``/``false`` as booleans. Flags such as ``enabled: yes`` still
    validate: pydantic reads "yes" as true.
    """
    resolvers = {first: list(found) for first, found in loader.yaml_implicit_resolvers.items()}
    for first in "oOyYnN":
        resolvers[first] = [
            (tag, regexp) for tag, regexp in resolvers.get(first, []) if tag != "tag:yaml.org,2002:bool"
        ]
    loader.yaml_implicit_resolvers = resolvers


_booleans_of_yaml_1_2(_DefinitionLoader)


def load_definition(path: str | Path) -> Any:
    """The YAML document in ``path`` as plain Python data; :class:`ExportSpecError` on any problem."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ExportSpecError(
                [f"file is {size:,} bytes; an export definition may be at most {MAX_BYTES:,} bytes"],
                str(path),
            )
        raw = path.read_bytes()
    except OSError as error:
        raise ExportSpecError([f"cannot read file: {error.strerror}"], str(path)) from None
    return load_text(raw, str(path))


def load_text(raw: bytes, source: str) -> Any:
    """Parse one definition's bytes (``source`` names it in messages)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ExportSpecError(
            [f"not UTF-8 text: byte 0x{raw[error.start]:02x} at offset {error.start} (line {line}); "
             "save the file as UTF-8"], source,
        ) from None  # fmt: skip
    try:
        return yaml.load(text, Loader=_DefinitionLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ExportSpecError([f"not valid YAML{where}: {problem}"], source) from None
