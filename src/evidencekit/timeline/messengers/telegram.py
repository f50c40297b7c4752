"""Telegram for Android: ``cache4.db`` (``messages_v2``, older ``messages``; ``users``, ``chats``).

A row keeps the dialog (``uid``: a user id, or a negative chat id), ``date`` (Unix seconds),
``out`` and the message itself as a TL-serialised ``data`` blob. In every ``message`` constructor
of the public TL schema ``date:int`` is followed directly by ``message:string``, so the text is
the TL string after the first 4-byte-aligned copy of the row's date: this needs no table of
constructor layouts, which change with each API layer. A blob without that pair gives no text
(an unknown layout) and the event says so.

The fields before ``date`` are read by constructor (``tl.py``, the public schema): the sender of
a group message (``from_id``; its name from ``users``, a channel's from ``chats``) and, for a
service message, the action after ``date``: a phone call (``messageActionPhoneCall``: video,
duration, why it ended) is a call event. A constructor the schema does not list keeps the text
found from the date and is one recorded warning per constructor (with the number of rows).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from evidencekit.timeline.events import TimelineEvent
from evidencekit.timeline.messengers import Message, UnknownSchema, events, require, tables, tl

APP = "Telegram"


def tl_text_after_date(blob: bytes, date: int, start: int = 0) -> str | None:
    """The TL string that follows the int ``date`` in ``blob`` (from ``start``); None when there is none."""
    for pos in tl.date_offsets(blob, date, start):
        text = _tl_string(blob, pos + 4)
        if text is not None:
            return text
    return None


def _tl_string(blob: bytes, pos: int) -> str | None:
    if pos >= len(blob):
        return None
    length, start = blob[pos], pos + 1
    if length == 254:
        if pos + 4 > len(blob):
            return None
        length, start = int.from_bytes(blob[pos + 1:pos + 4], "little"), pos + 4
    elif length == 255:
        return None
    if start + length > len(blob):
        return None
    try:
        return blob[start:start + length].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _names(db: sqlite3.Connection) -> dict[int, str]:
    names: dict[int, str] = {}
    have = tables(db)
    if "users" in have:
        names.update((uid, (name or "").split(";;;")[0]) for uid, name in db.execute("SELECT uid, name FROM users"))
    if "chats" in have:
        names.update((-uid, name or "") for uid, name in db.execute("SELECT uid, name FROM chats"))
    return names


def _who(peer: tl.Peer | None, names: dict[int, str]) -> str:
    if peer is None:
        return ""
    key = peer.id if peer.kind == "user" else -peer.id
    name = names.get(key, "")
    return f"{key} ({name})" if name else str(key)


def _row(mid: int, uid: int, date: int, data: bytes, out: bool, chat: str, names: dict[int, str],
         unknown: dict[str, int]) -> Message:
    way = "outgoing" if out else "incoming"
    try:
        head: tl.Header | None = tl.header(data)
    except tl.TLError as err:
        head = None
        unknown[str(err)] = unknown.get(str(err), 0) + 1
    sender = "me" if out else (_who(head.from_id, names) if head and head.from_id else (chat if uid > 0 else ""))
    time = date * 1_000_000_000
    if head is not None and head.service:
        for pos in tl.date_offsets(data, date, head.end):
            try:
                call = tl.call_action(data, pos + 4)
            except tl.TLError:
                continue
            if call is not None:
                what = ("video call" if call.video else "voice call") + (f", {call.reason}" if call.reason else "")
                return Message(time, 0, "call", chat, sender, way, what, None, mid,
                               float(call.duration) if call.duration is not None else None)
        return Message(time, 0, "message", chat, sender, way, "(service message)", None, mid)
    found = tl_text_after_date(data, date, head.end if head else 0)
    return Message(time, 0, "message", chat, sender, way,
                   found if found is not None else "(no text: service message or unknown layout)", None, mid)


def _items(db: sqlite3.Connection, warnings: list[str]) -> Iterator[Message]:
    have = tables(db)
    table = "messages_v2" if "messages_v2" in have else "messages" if "messages" in have else None
    if table is None:
        raise UnknownSchema("Telegram cache4.db: unknown schema (no messages_v2 or messages table)")
    require(db, "Telegram cache4.db", {table: {"mid", "uid", "date", "data", "out"}})
    names = _names(db)
    unknown: dict[str, int] = {}
    for mid, uid, date, data, out in db.execute(
            f"SELECT mid, uid, date, data, out FROM {table} WHERE date > 0 ORDER BY date, mid"):
        who = names.get(uid, "")
        chat = f"{uid} ({who})" if who else str(uid)
        yield _row(mid, uid, int(date), bytes(data or b""), bool(out), chat, names, unknown)
    warnings.extend(f"{table}: {why} in {n} row(s): text found from the date, sender and calls not read"
                    for why, n in sorted(unknown.items()))


def android(db: sqlite3.Connection, found: Any, exhibit: str, warnings: list[str] | None = None) -> Iterator[TimelineEvent]:
    yield from events(_items(db, warnings if warnings is not None else []), found, exhibit, APP, "telegram_android")
