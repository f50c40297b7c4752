"""The one YAML reader for files a user hands in: SOPs, answer sheets, manifests.

PyYAML's safe loader builds no objects, but it expands aliases without limit: a "billion laughs"
file (nine levels of ``&a [*b, *b, ...]``, 420 bytes) stands for 10^9 nodes, and whatever walks
the result (duplicate-key checks, validation, rendering) spins for minutes. This loader counts,
while composing, how many nodes each alias stands for and refuses the file with its name and the
alias's line once aliases stand for more than :data:`MAX_ALIAS_NODES` nodes in all; an alias to a
collection that is still open (a recursive structure) is refused too. Duplicate keys are refused
(the last would silently win). Nesting deeper than Python's recursion allows is one clear error.

    data = load_yaml(text, "sops/intake.yaml")           # plain data (SafeLoader types)
    root = compose_yaml(text, "answers.yaml")             # the node tree, for line numbers
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from evidencekit.errors import ValidationError

MAX_ALIAS_NODES = 10_000  # nodes all aliases of one document may stand for together


class YamlError(ValidationError):
    """A YAML file that cannot be read: ``source:line:column: reason``; the parts are attributes."""

    def __init__(self, source: str, line: int, column: int, reason: str):
        self.source, self.line, self.column, self.reason = source, line, column, reason
        super().__init__(f"{source}:{line}:{column}: {reason}")


def _bounded(base: type) -> type:
    class Bounded(base):  # type: ignore[misc, valid-type]
        """``base`` with alias expansion counted and bounded while composing."""

        def __init__(self, stream: str, source: str = "<yaml>"):
            super().__init__(stream)
            self.source = source
            self._expanded = 0
            self._sizes: dict[int, int] = {}
            self._open: set[str] = set()

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent):
                self._count(event)
                return super().compose_node(parent, index)
            anchor = getattr(event, "anchor", None)
            if anchor is None or isinstance(event, yaml.ScalarEvent):
                return super().compose_node(parent, index)
            self._open.add(anchor)
            try:
                return super().compose_node(parent, index)
            finally:
                self._open.discard(anchor)

        def _count(self, event: yaml.AliasEvent) -> None:
            line, column = (event.start_mark.line + 1, event.start_mark.column + 1) if event.start_mark else (1, 1)
            if event.anchor in self._open:
                raise YamlError(self.source, line, column,
                                f"alias *{event.anchor} refers to a collection that contains it (recursive)")
            target = self.anchors.get(event.anchor)
            if target is None:
                return  # PyYAML reports the undefined alias
            self._expanded += _size(target, self._sizes)
            if self._expanded > MAX_ALIAS_NODES:
                raise YamlError(self.source, line, column,
                                f"aliases expand to more than {MAX_ALIAS_NODES} nodes (a 'billion laughs' "
                                "file?); refused")

    return Bounded


def _size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Nodes under ``node``, shared ones counted each time they appear (memoised: linear time)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    if isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total = 1 + sum(_size(k, sizes) + _size(v, sizes) for k, v in node.value)
    else:
        total = 1
    sizes[id(node)] = total
    return total


SafeBoundedLoader = _bounded(yaml.SafeLoader)
BaseBoundedLoader = _bounded(yaml.BaseLoader)


def compose_yaml(text: str, source_name: str, plain_strings: bool = False,
                 check_duplicates: bool = True) -> tuple[yaml.Node | None, Any]:
    """The single document's root node (None for an empty file) and a loader that can construct
    it (call ``loader.dispose()`` after). ``plain_strings`` reads every scalar as text (PyYAML's
    BaseLoader), as answer sheets need; without ``check_duplicates`` the caller lists them itself.
    """
    make = BaseBoundedLoader if plain_strings else SafeBoundedLoader
    try:
        loader = make(text, source_name)
    except yaml.reader.ReaderError as err:  # a control character: PyYAML checks the text first
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        raise YamlError(source_name, line, column, f"character {err.character:#x} is not allowed in YAML") from None
    try:
        root = _guarded(loader.get_single_node, source_name)
        if root is not None and check_duplicates:
            for mark, key in duplicate_keys(root):
                raise YamlError(source_name, mark.line + 1, mark.column + 1, f"duplicate key {key!r}")
        return root, loader
    except BaseException:
        loader.dispose()
        raise


def load_yaml(text: str, source_name: str, plain_strings: bool = False) -> Any:
    """The data of a single-document YAML text (None when empty); YamlError naming file and line."""
    root, loader = compose_yaml(text, source_name, plain_strings)
    try:
        return None if root is None else construct(loader, root, source_name)
    finally:
        loader.dispose()


def construct(loader: Any, root: yaml.Node, source_name: str) -> Any:
    """The data of a node tree ``compose_yaml`` returned, errors as YamlError."""
    return _guarded(lambda: loader.construct_document(root), source_name)


def _guarded(step: Any, source_name: str) -> Any:
    try:
        return step()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(x for x in (err.context, err.problem) if x)
        raise YamlError(source_name, line, col, f"malformed YAML: {what}") from None
    except yaml.YAMLError as err:
        raise YamlError(source_name, 1, 1, f"malformed YAML: {err}") from None
    except RecursionError:
        raise YamlError(source_name, 1, 1, "nested too deeply to read") from None


def duplicate_keys(node: yaml.Node) -> Iterator[tuple[yaml.Mark, str]]:
    """(mark, key) of every scalar key that repeats one before it in the same mapping, in document order."""
    stack, seen = [node], set()
    while stack:
        current = stack.pop()
        if id(current) in seen:  # an alias: its keys were checked where it was defined
            continue
        seen.add(id(current))
        if isinstance(current, yaml.MappingNode):
            keys: set[str] = set()
            for key, _value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in keys:
                        yield key.start_mark, key.value
                    keys.add(key.value)
            stack.extend(reversed([value for _key, value in current.value]))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(reversed(current.value))
