"""Viber for Android: ``viber_messages`` (``messages``, ``conversations``, ``participants``,
``participants_info``) and the call log in ``viber_data`` (``calls``). Times are Unix ms;
``send_type`` 1 is sent, 0 received; a call's ``type`` 2 is outgoing (Android call-log values).
Viber for iOS: ``Contacts.data`` (below)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from evidencekit.timeline.events import TimelineEvent
from evidencekit.timeline.messengers import Message, cocoa_ns, events, require, tables

APP = "Viber"


def _messages(db: sqlite3.Connection) -> Iterator[Message]:
    require(db, "Viber viber_messages", {
        "messages": {"conversation_id", "participant_id", "date", "send_type", "body", "extra_uri"},
        "participants": {"participant_info_id"}, "participants_info": {"number", "display_name"}})
    for pk, date, sent, body, uri, number, name, conv in db.execute(
            "SELECT m._id, m.date, m.send_type, m.body, m.extra_uri, pi.number, pi.display_name, m.conversation_id "
            "FROM messages m LEFT JOIN participants p ON p._id = m.participant_id "
            "LEFT JOIN participants_info pi ON pi._id = p.participant_info_id WHERE m.date > 0 ORDER BY m.date, m._id"):
        who = f"{number} ({name})" if name else (number or "")
        yield Message(int(date) * 1_000_000, 3, "message", f"conversation {conv}", "me" if sent else who,
                      "outgoing" if sent else "incoming", body or "", uri or None, pk)


def messages(db: sqlite3.Connection, found: Any, exhibit: str) -> Iterator[TimelineEvent]:
    yield from events(_messages(db), found, exhibit, APP, "viber_android")


def _calls(db: sqlite3.Connection) -> Iterator[Message]:
    require(db, "Viber viber_data", {"calls": {"number", "date", "duration", "type"}})
    for pk, number, date, duration, kind in db.execute(
            "SELECT _id, number, date, duration, type FROM calls WHERE date > 0 ORDER BY date, _id"):
        way = "outgoing" if kind == 2 else "incoming"
        yield Message(int(date) * 1_000_000, 3, "call", number or "", "me" if way == "outgoing" else (number or ""),
                      way, record=pk, duration=float(duration or 0))


def calls(db: sqlite3.Connection, found: Any, exhibit: str) -> Iterator[TimelineEvent]:
    yield from events(_calls(db), found, exhibit, APP, "viber_calls")


# Viber for iOS: Core Data store ``com.viber/database/Contacts.data`` in the app group container
# (layout as iLEAPP's Viber module reads it): ZVIBERMESSAGE (ZCONVERSATION, ZPHONENUMINDEX -> the
# sending ZMEMBER, ZSTATEDATE creation time, ZDATE state-change time, ZSTATE send/delivered/received,
# ZTEXT, ZATTACHMENT), ZCONVERSATION (ZNAME, ZINTERLOCUTOR), ZMEMBER (ZDISPLAYFULLNAME),
# ZPHONENUMBER (ZMEMBER, ZPHONE), ZATTACHMENT (ZNAME) and the call list ZRECENT (ZDATE,
# ZCALLTYPE, ZDURATION, ZRECENTSLINE -> ZRECENTSLINE.ZPHONENUMBER). Times: Core Data seconds.
IOS_OUTGOING = {"send", "delivered", "sent", "seen"}
IOS_CALL_TYPES = {"missed": ("incoming", "missed voice call"), "missed_with_video": ("incoming", "missed video call"),
                  "incoming": ("incoming", "voice call"), "incoming_with_video": ("incoming", "video call"),
                  "outgoing_viber": ("outgoing", "voice call"), "outgoing_viber_with_video": ("outgoing", "video call")}


def _ios_messages(db: sqlite3.Connection) -> Iterator[Message]:
    require(db, "Viber Contacts.data", {
        "ZVIBERMESSAGE": {"ZCONVERSATION", "ZPHONENUMINDEX", "ZSTATEDATE", "ZDATE", "ZSTATE", "ZTEXT", "ZATTACHMENT"},
        "ZCONVERSATION": {"ZNAME", "ZINTERLOCUTOR"}, "ZMEMBER": {"ZDISPLAYFULLNAME"},
        "ZPHONENUMBER": {"ZMEMBER", "ZPHONE"}, "ZATTACHMENT": {"ZNAME"}})
    phone = "(SELECT ZPHONE FROM ZPHONENUMBER WHERE ZMEMBER = {} ORDER BY Z_PK LIMIT 1)"
    for pk, when, state, text, conv, title, peer, peer_phone, name, number, attachment in db.execute(
            "SELECT m.Z_PK, coalesce(m.ZSTATEDATE, m.ZDATE), m.ZSTATE, m.ZTEXT, m.ZCONVERSATION, c.ZNAME, "
            f"p.ZDISPLAYFULLNAME, {phone.format('c.ZINTERLOCUTOR')}, s.ZDISPLAYFULLNAME, "
            f"{phone.format('m.ZPHONENUMINDEX')}, a.ZNAME FROM ZVIBERMESSAGE m "
            "LEFT JOIN ZCONVERSATION c ON c.Z_PK = m.ZCONVERSATION LEFT JOIN ZMEMBER p ON p.Z_PK = c.ZINTERLOCUTOR "
            "LEFT JOIN ZMEMBER s ON s.Z_PK = m.ZPHONENUMINDEX LEFT JOIN ZATTACHMENT a ON a.Z_PK = m.ZATTACHMENT "
            "WHERE coalesce(m.ZSTATEDATE, m.ZDATE) IS NOT NULL ORDER BY 2, m.Z_PK"):
        chat = title or (f"{peer_phone} ({peer})" if peer else (peer_phone or f"conversation {conv}"))
        out = (state or "") in IOS_OUTGOING
        sender = "me" if out else (f"{number} ({name})" if name else (number or ""))
        yield Message(cocoa_ns(when), 6, "message", chat, sender, "outgoing" if out else "incoming", text or "",
                      attachment or None, pk)


def _ios_calls(db: sqlite3.Connection) -> Iterator[Message]:
    if "ZRECENT" not in tables(db):
        return
    require(db, "Viber Contacts.data", {"ZRECENT": {"ZDATE", "ZCALLTYPE", "ZDURATION", "ZRECENTSLINE"},
                                        "ZRECENTSLINE": {"ZPHONENUMBER"}})
    for pk, when, kind, duration, number in db.execute(
            "SELECT r.Z_PK, r.ZDATE, r.ZCALLTYPE, r.ZDURATION, l.ZPHONENUMBER FROM ZRECENT r "
            "LEFT JOIN ZRECENTSLINE l ON l.Z_PK = r.ZRECENTSLINE WHERE r.ZDATE IS NOT NULL ORDER BY r.ZDATE, r.Z_PK"):
        way, what = IOS_CALL_TYPES.get(kind or "", ("incoming", f"call ({kind})"))
        yield Message(cocoa_ns(when), 6, "call", number or "", "me" if way == "outgoing" else (number or ""), way,
                      what, record=pk, duration=float(duration or 0))


def ios(db: sqlite3.Connection, found: Any, exhibit: str) -> Iterator[TimelineEvent]:
    yield from events(_ios_messages(db), found, exhibit, APP, "viber_ios")
    yield from events(_ios_calls(db), found, exhibit, APP, "viber_ios")
