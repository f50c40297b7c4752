"""Filters over a case's inventory by content-scan results, for ``case files`` and exports.

``FILE_FILTER_OPTIONS`` are click options (apply them with :func:`file_filter_options`);
:func:`file_filter_sql` turns their values into a WHERE fragment over ``files`` aliased ``f``::

    sql, params = file_filter_sql(type="image/jpeg", mismatch=True, yara=("mimikatz_strings",),
                                  known_bad=True, hide_known=False)
    db.execute(f"SELECT f.path FROM files f WHERE {sql}", params)

Per-file flags for timelines and exports are in the view ``file_scan`` (file_id, mime,
description, mismatch, yara_rules, known_bad, known_good).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

import click

FILE_FILTER_OPTIONS: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
    click.option("--type", "type", metavar="MIME",
                 help="Only files whose libmagic MIME type is MIME (e.g. image/jpeg; image/* for a family)."),
    click.option("--mismatch", is_flag=True,
                 help="Only files whose name extension disagrees with their content type."),
    click.option("--yara", "yara", metavar="RULE", multiple=True,
                 help="Only files matched by YARA rule RULE (or NAMESPACE:RULE); repeat for any of several."),
    click.option("--known-bad", "known_bad", is_flag=True, help="Only files found in a known-bad hash set."),
    click.option("--hide-known", "hide_known", is_flag=True,
                 help="Hide files found in a known-good hash set (unless also in a known-bad one)."),
]


def file_filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a click command with every option of :data:`FILE_FILTER_OPTIONS`."""
    for option in reversed(FILE_FILTER_OPTIONS):
        func = option(func)
    return func


def _type_clause(mime: str) -> tuple[str, list[Any]]:
    if mime.endswith("/*") or mime.endswith("*"):
        return ("EXISTS (SELECT 1 FROM file_types t WHERE t.file_id = f.id AND t.mime LIKE ? ESCAPE '\\')",
                [mime.rstrip("*").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"])
    return "EXISTS (SELECT 1 FROM file_types t WHERE t.file_id = f.id AND t.mime = ?)", [mime]


def _yara_clause(rules: Iterable[str]) -> tuple[str, list[Any]]:
    parts, params = [], []
    for rule in rules:
        namespace, sep, name = rule.rpartition(":")
        if sep:
            parts.append("(y.namespace = ? AND y.rule = ?)")
            params += [namespace, name]
        else:
            parts.append("y.rule = ?")
            params.append(rule)
    return f"EXISTS (SELECT 1 FROM yara_matches y WHERE y.file_id = f.id AND ({' OR '.join(parts)}))", params


def file_filter_sql(type: str | None = None, mismatch: bool = False, yara: Iterable[str] | str | None = None,
                    known_bad: bool = False, hide_known: bool = False, **_: Any) -> tuple[str, list[Any]]:
    """WHERE fragment (``"1"`` when nothing is asked) over ``files f`` and its parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    if type:
        sql, p = _type_clause(type)
        clauses.append(sql)
        params += p
    if mismatch:
        clauses.append("EXISTS (SELECT 1 FROM file_types t WHERE t.file_id = f.id AND t.mismatch = 1)")
    rules = (yara,) if isinstance(yara, str) else tuple(yara or ())
    if rules:
        sql, p = _yara_clause(rules)
        clauses.append(sql)
        params += p
    bad = "EXISTS (SELECT 1 FROM hashset_hits h WHERE h.file_id = f.id AND h.kind = 'known-bad')"
    if known_bad:
        clauses.append(bad)
    if hide_known:
        clauses.append("(NOT EXISTS (SELECT 1 FROM hashset_hits g WHERE g.file_id = f.id AND g.kind = 'known-good')"
                       f" OR {bad})")
    return (" AND ".join(clauses) or "1"), params


def scan_flags(db: sqlite3.Connection, exhibit: str | None = None) -> dict[int, dict[str, Any]]:
    """``files.id`` -> {mime, description, mismatch, yara_rules, known_bad, known_good} for files
    with any scan result: the attributes timelines and exports attach to a file's rows."""
    sql = ("SELECT s.file_id, s.mime, s.description, s.mismatch, s.yara_rules, s.known_bad, s.known_good "
           "FROM file_scan s JOIN files f ON f.id = s.file_id WHERE (s.mime IS NOT NULL OR s.yara_rules IS NOT NULL "
           "OR s.known_bad OR s.known_good)")
    params: list[Any] = []
    if exhibit is not None:
        sql += " AND f.exhibit = ?"
        params.append(exhibit)
    out: dict[int, dict[str, Any]] = {}
    for fid, mime, desc, mismatch, rules, bad, good in db.execute(sql, params):
        out[fid] = {"mime": mime, "description": desc, "mismatch": None if mismatch is None else bool(mismatch),
                    "yara_rules": rules.split(",") if rules else [], "known_bad": bool(bad), "known_good": bool(good)}
    return out
