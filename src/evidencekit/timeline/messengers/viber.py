"""Viber for Android: ``viber_messages`` (``messages``, ``conversations``, ``participants``,
``participants_info``) and the call log in ``viber_data`` (``calls``). Times are Unix ms;
``send_type`` 1 is sent, 0 received; a call's ``type`` 2 is outgoing (Android call-log values)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from evidencekit.timeline.events import TimelineEvent
from evidencekit.timeline.messengers import Message, events, require

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
