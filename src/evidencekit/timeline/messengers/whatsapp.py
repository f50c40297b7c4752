"""WhatsApp: Android ``msgstore.db`` (the ``message``/``chat``/``jid`` layout of 2021 on, and the
older ``messages`` table) and iOS ``ChatStorage.sqlite`` (Core Data ``ZWAMESSAGE``).

Android times are Unix milliseconds; iOS times are Core Data seconds since 2001 (a float: kept to
the microsecond).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from evidencekit.timeline.events import TimelineEvent
from evidencekit.timeline.messengers import Message, UnknownSchema, events, require, tables

COCOA_EPOCH = 978_307_200
APP = "WhatsApp"


def _way(from_me: Any) -> str:
    return "outgoing" if from_me else "incoming"


def _android_modern(db: sqlite3.Connection) -> Iterator[Message]:
    require(db, "WhatsApp msgstore.db", {"message": {"chat_row_id", "from_me", "sender_jid_row_id", "timestamp",
                                                     "text_data"}, "chat": {"jid_row_id"}, "jid": {"raw_string"}})
    media = "message_media" in tables(db)
    sql = ("SELECT m._id, m.timestamp, m.from_me, cj.raw_string, sj.raw_string, m.text_data, "
           + ("mm.file_path" if media else "NULL") + " FROM message m JOIN chat c ON c._id = m.chat_row_id "
           "LEFT JOIN jid cj ON cj._id = c.jid_row_id LEFT JOIN jid sj ON sj._id = m.sender_jid_row_id "
           + ("LEFT JOIN message_media mm ON mm.message_row_id = m._id " if media else "")
           + "WHERE m.timestamp > 0 ORDER BY m.timestamp, m._id")
    for pk, ts, from_me, chat, sender, text, path in db.execute(sql):
        yield Message(int(ts) * 1_000_000, 3, "message", chat or "", "me" if from_me else (sender or chat or ""),
                      _way(from_me), text or "", path, pk)
    if "call_log" in tables(db):
        for pk, ts, from_me, chat, duration in db.execute(
                "SELECT cl._id, cl.timestamp, cl.from_me, j.raw_string, cl.duration FROM call_log cl "
                "LEFT JOIN jid j ON j._id = cl.jid_row_id WHERE cl.timestamp > 0 ORDER BY cl.timestamp"):
            yield Message(int(ts) * 1_000_000, 3, "call", chat or "", "me" if from_me else (chat or ""),
                          _way(from_me), record=pk, duration=float(duration or 0))


def _android_legacy(db: sqlite3.Connection) -> Iterator[Message]:
    require(db, "WhatsApp msgstore.db", {"messages": {"key_remote_jid", "key_from_me", "timestamp", "data",
                                                      "remote_resource", "media_name"}})
    for pk, ts, chat, from_me, text, resource, media in db.execute(
            "SELECT _id, timestamp, key_remote_jid, key_from_me, data, remote_resource, media_name FROM messages "
            "WHERE timestamp > 0 AND key_remote_jid != '-1' ORDER BY timestamp, _id"):
        sender = "me" if from_me else (resource or chat or "")
        yield Message(int(ts) * 1_000_000, 3, "message", chat or "", sender, _way(from_me), text or "", media, pk)


def android(db: sqlite3.Connection, found: Any, exhibit: str) -> Iterator[TimelineEvent]:
    have = tables(db)
    if "message" in have:
        items = _android_modern(db)
    elif "messages" in have:
        items = _android_legacy(db)
    else:
        raise UnknownSchema("WhatsApp msgstore.db: unknown schema (neither a message nor a messages table)")
    yield from events(items, found, exhibit, APP, "whatsapp_android")


def _cocoa(value: Any) -> int:
    return int((Decimal(repr(float(value))) + COCOA_EPOCH) * 1_000_000_000)


def _ios_items(db: sqlite3.Connection) -> Iterator[Message]:
    require(db, "WhatsApp ChatStorage.sqlite", {
        "ZWAMESSAGE": {"ZISFROMME", "ZCHATSESSION", "ZMESSAGEDATE", "ZFROMJID", "ZTEXT", "ZMEDIAITEM"},
        "ZWACHATSESSION": {"ZCONTACTJID", "ZPARTNERNAME"}, "ZWAMEDIAITEM": {"ZMEDIALOCALPATH"}})
    for pk, date, from_me, jid, partner, from_jid, text, path in db.execute(
            "SELECT m.Z_PK, m.ZMESSAGEDATE, m.ZISFROMME, s.ZCONTACTJID, s.ZPARTNERNAME, m.ZFROMJID, m.ZTEXT, "
            "mi.ZMEDIALOCALPATH FROM ZWAMESSAGE m LEFT JOIN ZWACHATSESSION s ON s.Z_PK = m.ZCHATSESSION "
            "LEFT JOIN ZWAMEDIAITEM mi ON mi.Z_PK = m.ZMEDIAITEM WHERE m.ZMESSAGEDATE IS NOT NULL "
            "ORDER BY m.ZMESSAGEDATE, m.Z_PK"):
        chat = f"{jid} ({partner})" if partner else (jid or "")
        yield Message(_cocoa(date), 6, "message", chat, "me" if from_me else (from_jid or jid or ""),
                      _way(from_me), text or "", path, pk)


def ios(db: sqlite3.Connection, found: Any, exhibit: str) -> Iterator[TimelineEvent]:
    yield from events(_ios_items(db), found, exhibit, APP, "whatsapp_ios")
