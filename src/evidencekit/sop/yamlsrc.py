"""YAML with line numbers: parse once into nodes (each with its ``start_mark``) and plain data.

Every validation problem is reported as ``file:line:column: where: what`` by finding the node a
pydantic error location (or a cross-reference check) points at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError as PydanticError

from evidencekit.errors import ValidationError
from evidencekit.yamlsafe import YamlError, compose_yaml, construct, duplicate_keys

STEP_KINDS = ("automated", "attestation", "review")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, at a line and column (both 1-based)."""

    file: str
    line: int
    column: int
    where: str
    message: str

    def __str__(self) -> str:
        where = f" {self.where}:" if self.where else ""
        return f"{self.file}:{self.line}:{self.column}:{where} {self.message}"


class SopValidationError(ValidationError):
    """One or more problems in an SOP or answers file; ``str()`` is the first, ``problems`` all."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        if len(self.problems) == 1:
            super().__init__("{problem}", problem=str(self.problems[0]))
        else:  # English says "problems" for one more too; the catalogue has the plural forms
            super().__init__("{problem} (and {n} more problems)", plural="{problem} (and {n} more problems)",
                             problem=str(self.problems[0]), n=len(self.problems) - 1)


@dataclass
class Source:
    """A parsed YAML document: its data, its root node and the name used in messages."""

    name: str
    data: Any
    root: yaml.Node

    def problem(self, loc: Sequence[str | int], message: str, offset: int = 0) -> Problem:
        """A Problem located at the node ``loc`` leads to (as far as it exists)."""
        node, parts = locate(self.root, loc)
        mark = node.start_mark
        column = mark.column + 1 + offset
        return Problem(self.name, mark.line + 1, column, render_loc(parts), message)


def parse_yaml(text: str, name: str) -> Source:
    """Parse ``text``; malformed YAML, duplicate keys, an empty file or aliases that expand beyond
    ``yamlsafe.MAX_ALIAS_NODES`` raise SopValidationError (read by ``evidencekit.yamlsafe``)."""
    try:
        root, loader = compose_yaml(text, name, check_duplicates=False)
    except YamlError as err:
        raise SopValidationError([Problem(name, err.line, err.column, "", err.reason)]) from None
    try:
        if root is None:
            raise SopValidationError([Problem(name, 1, 1, "", "empty file")])
        dupes = [Problem(name, mark.line + 1, mark.column + 1, "", f"duplicate key {key!r}")
                 for mark, key in duplicate_keys(root)]
        if dupes:
            raise SopValidationError(dupes)
        data = construct(loader, root, name)
    except YamlError as err:
        raise SopValidationError([Problem(name, err.line, err.column, "", err.reason)]) from None
    finally:
        loader.dispose()
    return Source(name, data, root)


def locate(root: yaml.Node, loc: Sequence[str | int]) -> tuple[yaml.Node, list[str | int]]:
    """Follow ``loc`` (keys and indices) from ``root``; stop at the deepest node that exists.

    Discriminator tags that pydantic puts in locations (``steps.0.automated.action``) are skipped.
    Returns the node and the parts that were followed or named (for the message).
    """
    node, parts = root, []
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = _child(node, part)
            if child is None:
                if part in STEP_KINDS and _child(node, "kind") is not None:
                    continue
                parts.append(part)  # a missing key: point at the mapping, name the key
                break
            node = child[1]
            parts.append(part)
            continue
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            parts.append(part)
            continue
        parts.append(part)
        break
    return node, parts


def key_node(root: yaml.Node, loc: Sequence[str | int]) -> yaml.Node:
    """The key node of the last part of ``loc`` (for "unknown field" messages)."""
    parent, _ = locate(root, loc[:-1])
    child = _child(parent, loc[-1]) if isinstance(parent, yaml.MappingNode) else None
    return child[0] if isinstance(child, tuple) else parent


def _child(node: yaml.MappingNode, key: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == str(key):
            return k, v
    return None


def render_loc(parts: Sequence[str | int]) -> str:
    """``['steps', 2, 'action']`` -> ``steps[2].action``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def pydantic_problems(src: Source, err: PydanticError) -> list[Problem]:
    """Turn a pydantic error into Problems with lines and plain words."""
    problems = []
    for item in err.errors():
        loc = [p for p in item["loc"] if not (isinstance(p, str) and p in STEP_KINDS)]
        problems.append(_one_problem(src, loc, item))
    problems.sort(key=lambda p: (p.line, p.column))
    return problems


def _one_problem(src: Source, loc: list[str | int], item: Any) -> Problem:
    kind, value = item["type"], item.get("input")
    if kind == "missing":
        return src.problem(loc, f"missing required field {loc[-1]!r}")
    if kind == "extra_forbidden":
        node = key_node(src.root, loc)
        mark = node.start_mark
        return Problem(src.name, mark.line + 1, mark.column + 1, render_loc(loc), f"unknown field {loc[-1]!r}")
    if kind == "union_tag_invalid":
        return src.problem([*loc, "kind"], f"unknown step kind {value.get('kind')!r} "
                           f"(expected one of: {', '.join(STEP_KINDS)})")
    if kind == "union_tag_not_found":
        return src.problem([*loc, "kind"], f"missing required field 'kind' (one of: {', '.join(STEP_KINDS)})")
    got = f" (got {type(value).__name__} {value!r})" if not isinstance(value, dict | list) else ""
    return src.problem(loc, f"{item['msg']}{got}")
