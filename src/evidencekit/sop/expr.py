"""The ``when:`` language: a tiny, safe condition language (parsed here, never ``eval``-ed).

Grammar::

    expr    := and ('or' and)*
    and     := not ('and' not)*
    not     := 'not' not | compare
    compare := operand (('=='|'!='|'<'|'<='|'>'|'>='|'in'|'not in') operand)?
    operand := NAME | STRING | NUMBER | true | false | null | '[' operand (',' operand)* ']' | '(' expr ')'

A dotted name starting with ``exhibit`` or ``steps`` reads a value (``exhibit.kind``,
``steps.verify.result``, ``steps.seal.values.seal_intact``); any other bare word is a string
(``disk_image``, ``passed``), so ``exhibit.kind in [disk_image, storage_media]`` reads naturally.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ROOTS = ("exhibit", "steps")
_TOKEN = re.compile(
    r"""\s*(?:(?P<num>-?\d+)(?![\w.])|(?P<str>'[^']*'|"[^"]*")|(?P<op>==|!=|<=|>=|<|>|[()\[\],])"""
    r"""|(?P<name>[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*))"""
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
_CONSTS: dict[str, Any] = {"true": True, "false": False, "null": None}


class ExprError(ValueError):
    """A ``when:`` expression does not parse; ``pos`` is the character offset of the problem."""

    def __init__(self, message: str, pos: int):
        super().__init__(message)
        self.pos = pos


@dataclass(frozen=True)
class Node:
    op: str  # const, var, list, not, and, or, ==, !=, <, <=, >, >=, in, not in
    args: tuple[Any, ...]
    pos: int


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            bad = len(text) - len(text[pos:].lstrip())
            raise ExprError(f"unexpected character {text[bad]!r}", bad)
        kind = match.lastgroup or ""
        value = match.group(kind)
        start = match.start(kind)
        if kind == "name" and value in _KEYWORDS:
            kind = "kw"
        tokens.append((kind, value, start))
        pos = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        if value is not None and tok[1] != value:
            found = tok[1] or "end of expression"
            raise ExprError(f"expected {value!r}, found {found!r}", tok[2])
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.or_()
        kind, value, pos = self.peek()
        if kind != "end":
            raise ExprError(f"unexpected {value!r}", pos)
        return node

    def _chain(self, word: str, sub: Any) -> Node:
        items = [sub()]
        pos = self.peek()[2]
        while self.peek()[1] == word and self.peek()[0] == "kw":
            self.take()
            items.append(sub())
        return items[0] if len(items) == 1 else Node(word, tuple(items), pos)

    def or_(self) -> Node:
        return self._chain("or", self.and_)

    def and_(self) -> Node:
        return self._chain("and", self.not_)

    def not_(self) -> Node:
        kind, value, pos = self.peek()
        if kind == "kw" and value == "not":
            self.take()
            return Node("not", (self.not_(),), pos)
        return self.compare()

    def compare(self) -> Node:
        left = self.operand()
        kind, value, pos = self.peek()
        if kind == "op" and value in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            return Node(value, (left, self.operand()), pos)
        if kind == "kw" and value == "in":
            self.take()
            return Node("in", (left, self.operand()), pos)
        if kind == "kw" and value == "not" and self.tokens[self.i + 1][1] == "in":
            self.i += 2
            return Node("not in", (left, self.operand()), pos)
        return left

    def operand(self) -> Node:
        kind, value, pos = self.take()
        if kind == "num":
            return Node("const", (int(value),), pos)
        if kind == "str":
            return Node("const", (value[1:-1],), pos)
        if kind == "kw" and value in _CONSTS:
            return Node("const", (_CONSTS[value],), pos)
        if kind == "name":
            return _name(value, pos)
        if value == "(":
            node = self.or_()
            self.take(")")
            return node
        if value == "[":
            return self.list_(pos)
        raise ExprError(f"expected a value, found {value or 'end of expression'!r}", pos)

    def list_(self, pos: int) -> Node:
        items = [self.operand()]
        while self.peek()[1] == ",":
            self.take()
            items.append(self.operand())
        self.take("]")
        return Node("list", tuple(items), pos)


def _name(value: str, pos: int) -> Node:
    parts = tuple(value.split("."))
    if parts[0] in ROOTS:
        if len(parts) == 1:
            raise ExprError(f"{value!r} needs an attribute, e.g. exhibit.kind or steps.ID.result", pos)
        return Node("var", parts, pos)
    if len(parts) > 1:
        raise ExprError(f"unknown name {value!r}: a dotted name must start with exhibit. or steps.", pos)
    return Node("const", (value,), pos)


class Expression:
    """A parsed ``when:`` expression: ``Expression(text).evaluate(env)``."""

    def __init__(self, text: str):
        self.text = text
        self.tree = _Parser(text).parse()

    def variables(self) -> list[tuple[tuple[str, ...], int]]:
        """Every variable path read, with its character offset (for validation)."""
        found: list[tuple[tuple[str, ...], int]] = []

        def walk(node: Node) -> None:
            if node.op == "var":
                found.append((node.args, node.pos))
            elif node.op != "const":
                for arg in node.args:
                    walk(arg)

        walk(self.tree)
        return found

    def evaluate(self, env: Mapping[str, Any]) -> bool:
        """True or False for ``env`` ({"exhibit": {...}, "steps": {id: {"result": ..., "values": {...}}}})."""
        return bool(_eval(self.tree, env))


def _lookup(path: tuple[str, ...], env: Mapping[str, Any]) -> Any:
    value: Any = env
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _eval(node: Node, env: Mapping[str, Any]) -> Any:
    op, args = node.op, node.args
    if op == "const":
        return args[0]
    if op == "var":
        return _lookup(args, env)
    if op == "list":
        return [_eval(a, env) for a in args]
    if op == "not":
        return not _eval(args[0], env)
    if op == "and":
        return all(_eval(a, env) for a in args)
    if op == "or":
        return any(_eval(a, env) for a in args)
    return _compare(op, _eval(args[0], env), _eval(args[1], env))


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("in", "not in"):
        inside = left in right if isinstance(right, list | str | tuple) else False
        return inside if op == "in" else not inside
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if not isinstance(left, int) or not isinstance(right, int):
        return False  # an ordering of a missing or non-numeric value is false, never an error
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
