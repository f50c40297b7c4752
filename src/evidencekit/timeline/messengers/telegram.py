"""Telegram for Android: ``cache4.db`` (``messages_v2``, older ``messages``; ``users``, ``chats``).

A row keeps the dialog (``uid``: a user id, or a negative chat id), ``date`` (Unix seconds),
``out`` and the message itself as a TL-serialised ``data`` blob. In every ``message`` constructor
of the public TL schema ``date:int`` is followed directly by ``message:string``, so the text is
the TL string after the first 4-byte-aligned copy of the row's date: this needs no table of
constructor layouts, which change with each API layer. A blob without that pair gives no text
(a service message, or an unknown layout) and the event says so.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator
from typing import Any

from evidencekit.timeline.events import TimelineEvent
from evidencekit.timeline.messengers import Message, UnknownSchema, events, require, tables

APP = "Telegram"


def tl_text_after_date(blob: bytes, date: int) -> str | None:
    """The TL string that follows the int ``date`` in ``blob``; None when there is none."""
    needle = struct.pack("<i", date)
    pos = 0
    while (pos := blob.find(needle, pos)) >= 0:
        if pos % 4 == 0:
            text = _tl_string(blob, pos + 4)
            if text is not None:
                return text
        pos += 1
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


def _items(db: sqlite3.Connection) -> Iterator[Message]:
    have = tables(db)
    table = "messages_v2" if "messages_v2" in have else "messages" if "messages" in have else None
    if table is None:
        raise UnknownSchema("Telegram cache4.db: unknown schema (no messages_v2 or messages table)")
    require(db, "Telegram cache4.db", {table: {"mid", "uid", "date", "data", "out"}})
    names = _names(db)
    for mid, uid, date, data, out in db.execute(
            f"SELECT mid, uid, date, data, out FROM {table} WHERE date > 0 ORDER BY date, mid"):
        who = names.get(uid, "")
        chat = f"{uid} ({who})" if who else str(uid)
        text = tl_text_after_date(bytes(data or b""), int(date))
        sender = "me" if out else (chat if uid > 0 else "")
        yield Message(int(date) * 1_000_000_000, 0, "message", chat, sender, "outgoing" if out else "incoming",
                      text if text is not None else "(no text: service message or unknown layout)", None, mid)


def android(db: sqlite3.Connection, found: Any, exhibit: str) -> Iterator[TimelineEvent]:
    yield from events(_items(db), found, exhibit, APP, "telegram_android")
