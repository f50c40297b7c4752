"""Messenger databases with the apps' real table layouts (the columns the readers and other tools
use; trimmed of the many columns nothing reads), for training evidence and tests."""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

WHATSAPP_ANDROID = """
CREATE TABLE jid (_id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, server TEXT NOT NULL,
  agent INTEGER, device INTEGER, type INTEGER, raw_string TEXT);
CREATE TABLE chat (_id INTEGER PRIMARY KEY AUTOINCREMENT, jid_row_id INTEGER UNIQUE, hidden INTEGER,
  subject TEXT, created_timestamp INTEGER, display_message_row_id INTEGER, last_message_row_id INTEGER,
  sort_timestamp INTEGER);
CREATE TABLE message (_id INTEGER PRIMARY KEY AUTOINCREMENT, chat_row_id INTEGER NOT NULL, from_me INTEGER NOT NULL,
  key_id TEXT NOT NULL, sender_jid_row_id INTEGER, status INTEGER, broadcast INTEGER, recipient_count INTEGER,
  participant_hash TEXT, origination_flags INTEGER, origin INTEGER, timestamp INTEGER, received_timestamp INTEGER,
  receipt_server_timestamp INTEGER, message_type INTEGER, text_data TEXT, starred INTEGER, lookup_tables INTEGER,
  sort_id INTEGER NOT NULL DEFAULT 0);
CREATE TABLE message_media (message_row_id INTEGER PRIMARY KEY, chat_row_id INTEGER, file_path TEXT,
  file_size INTEGER, mime_type TEXT, media_name TEXT, file_hash TEXT, media_caption TEXT);
CREATE TABLE call_log (_id INTEGER PRIMARY KEY AUTOINCREMENT, jid_row_id INTEGER, from_me INTEGER, call_id TEXT,
  transaction_id INTEGER, timestamp INTEGER, video_call INTEGER, duration INTEGER, call_result INTEGER,
  bytes_transferred INTEGER, group_jid_row_id INTEGER NOT NULL DEFAULT 0);
PRAGMA user_version = 1;
"""


def _db(path: Path, schema: str) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=DELETE")
    con.executescript(schema)
    return con


def whatsapp_android(path: Path, chats: dict[str, list[tuple[int, bool, str, str | None]]],
                     calls: list[tuple[str, int, bool, int]] = ()) -> Path:  # type: ignore[assignment]
    """chats: jid -> [(ms, from_me, text, media path)]; calls: (jid, ms, from_me, seconds)."""
    con = _db(path, WHATSAPP_ANDROID)
    jids: dict[str, int] = {}

    def jid(raw: str) -> int:
        if raw not in jids:
            user, _, server = raw.partition("@")
            jids[raw] = con.execute("INSERT INTO jid (user, server, agent, device, type, raw_string) "
                                    "VALUES (?, ?, 0, 0, 0, ?)", (user, server, raw)).lastrowid or 0
        return jids[raw]

    for raw, messages in chats.items():
        chat = con.execute("INSERT INTO chat (jid_row_id, hidden, created_timestamp) VALUES (?, 0, ?)",
                           (jid(raw), messages[0][0])).lastrowid
        for n, (ms, from_me, text, media) in enumerate(messages):
            mid = con.execute(
                "INSERT INTO message (chat_row_id, from_me, key_id, sender_jid_row_id, status, timestamp, "
                "received_timestamp, message_type, text_data, sort_id) VALUES (?, ?, ?, ?, 13, ?, ?, ?, ?, ?)",
                (chat, int(from_me), f"3EB0{chat:04d}{n:06d}", 0 if from_me else jid(raw), ms, ms + 420,
                 1 if media else 0, text, n)).lastrowid
            if media:
                con.execute("INSERT INTO message_media (message_row_id, chat_row_id, file_path) VALUES (?, ?, ?)",
                            (mid, chat, media))
    for raw, ms, from_me, seconds in calls:
        con.execute("INSERT INTO call_log (jid_row_id, from_me, call_id, timestamp, video_call, duration, "
                    "call_result) VALUES (?, ?, ?, ?, 0, ?, 5)", (jid(raw), int(from_me), f"call{ms}", ms, seconds))
    con.close()
    return path


WHATSAPP_IOS = """
CREATE TABLE ZWACHATSESSION (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZCONTACTJID VARCHAR,
  ZPARTNERNAME VARCHAR, ZLASTMESSAGEDATE TIMESTAMP);
CREATE TABLE ZWAMEDIAITEM (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZMESSAGE INTEGER,
  ZMEDIALOCALPATH VARCHAR, ZTITLE VARCHAR);
CREATE TABLE ZWAMESSAGE (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZISFROMME INTEGER,
  ZMESSAGETYPE INTEGER, ZCHATSESSION INTEGER, ZMEDIAITEM INTEGER, ZMESSAGEDATE TIMESTAMP, ZSENTDATE TIMESTAMP,
  ZFROMJID VARCHAR, ZTOJID VARCHAR, ZTEXT VARCHAR, ZPUSHNAME VARCHAR);
"""


def whatsapp_ios(path: Path, jid: str, partner: str, messages: list[tuple[float, bool, str]]) -> Path:
    """messages: (Core Data seconds since 2001, from_me, text)."""
    con = _db(path, WHATSAPP_IOS)
    con.execute("INSERT INTO ZWACHATSESSION VALUES (1, 4, 1, ?, ?, ?)", (jid, partner, messages[-1][0]))
    for n, (when, from_me, text) in enumerate(messages, 1):
        con.execute("INSERT INTO ZWAMESSAGE VALUES (?, 9, 1, ?, 0, 1, NULL, ?, ?, ?, ?, ?, NULL)",
                    (n, int(from_me), when, when, None if from_me else jid, jid if from_me else None, text))
    con.close()
    return path


TELEGRAM = """
CREATE TABLE users (uid INTEGER PRIMARY KEY, name TEXT, status INTEGER, data BLOB);
CREATE TABLE chats (uid INTEGER PRIMARY KEY, name TEXT, data BLOB);
CREATE TABLE messages_v2 (mid INTEGER, uid INTEGER, read_state INTEGER, send_state INTEGER, date INTEGER, data BLOB,
  out INTEGER, ttl INTEGER, media INTEGER, replydata BLOB, imp INTEGER, mention INTEGER, forwards INTEGER,
  replies_data BLOB, thread_reply_id INTEGER, is_channel INTEGER, reply_to_message_id INTEGER,
  custom_params BLOB, group_id INTEGER, PRIMARY KEY(mid, uid));
"""
TL_MESSAGE = 0x94345242  # message#94345242 (API layer 169), flags-first layout


def tl_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    head = bytes([len(raw)]) if len(raw) < 254 else b"\xfe" + len(raw).to_bytes(3, "little")
    body = head + raw
    return body + b"\x00" * (-len(body) % 4)


def tl_message(mid: int, from_uid: int, peer_uid: int, date: int, text: str, out: bool) -> bytes:
    """A TL ``message`` as the public schema lays it out: flags, flags2, id, from_id, peer_id, date, message, ..."""
    flags = (1 << 1 if out else 0) | (1 << 8)
    peer_user = 0x59511722  # peerUser#59511722 user_id:long
    return (struct.pack("<IIIi", TL_MESSAGE, flags, 0, mid) + struct.pack("<Iq", peer_user, from_uid)
            + struct.pack("<Iq", peer_user, peer_uid) + struct.pack("<i", date) + tl_string(text))


def telegram(path: Path, me: int, users: dict[int, str], messages: list[tuple[int, int, int, bool, str]]) -> Path:
    """messages: (mid, dialog uid, unix date, out, text)."""
    con = _db(path, TELEGRAM)
    for uid, name in users.items():
        con.execute("INSERT INTO users VALUES (?, ?, 0, NULL)", (uid, name.lower() + ";;;"))
    for mid, uid, date, out, text in messages:
        blob = tl_message(mid, me if out else uid, uid, date, text, out)
        con.execute("INSERT INTO messages_v2 (mid, uid, read_state, send_state, date, data, out, ttl, media) "
                    "VALUES (?, ?, 3, 0, ?, ?, ?, 0, 0)", (mid, uid, date, blob, int(out)))
    con.close()
    return path


VIBER_MESSAGES = """
CREATE TABLE participants_info (_id INTEGER PRIMARY KEY, number TEXT, display_name TEXT, contact_name TEXT,
  viber_name TEXT, member_id TEXT);
CREATE TABLE conversations (_id INTEGER PRIMARY KEY, name TEXT, conversation_type INTEGER, date LONG);
CREATE TABLE participants (_id INTEGER PRIMARY KEY, conversation_id INTEGER, participant_info_id INTEGER);
CREATE TABLE messages (_id INTEGER PRIMARY KEY, msg_token LONG, conversation_id INTEGER, participant_id INTEGER,
  address TEXT, date LONG, send_type INTEGER, body TEXT, msg_info TEXT, extra_uri TEXT, extra_mime INTEGER);
"""


def viber(path: Path, number: str, name: str, messages: list[tuple[int, bool, str, str | None]]) -> Path:
    """messages: (ms, sent, body, attachment uri)."""
    con = _db(path, VIBER_MESSAGES)
    con.execute("INSERT INTO participants_info VALUES (1, ?, ?, ?, ?, 'm1')", (number, name, name, name))
    con.execute("INSERT INTO participants_info VALUES (2, '', 'me', NULL, NULL, 'm0')")
    con.execute("INSERT INTO conversations VALUES (1, NULL, 0, ?)", (messages[0][0],))
    con.execute("INSERT INTO participants VALUES (1, 1, 1)")
    con.execute("INSERT INTO participants VALUES (2, 1, 2)")
    for n, (ms, sent, body, uri) in enumerate(messages, 1):
        con.execute("INSERT INTO messages VALUES (?, ?, 1, ?, ?, ?, ?, ?, NULL, ?, ?)",
                    (n, 1000 + n, 2 if sent else 1, number, ms, int(sent), body, uri, 1 if uri else 0))
    con.close()
    return path


def viber_calls(path: Path, calls: list[tuple[str, int, int, int]]) -> Path:
    """calls: (number, ms, seconds, type 1 in / 2 out / 3 missed)."""
    con = _db(path, "CREATE TABLE calls (_id INTEGER PRIMARY KEY, canonized_number TEXT, number TEXT, date LONG, "
                    "duration LONG, type INTEGER, viber_call_type INTEGER);")
    for n, (number, ms, seconds, kind) in enumerate(calls, 1):
        con.execute("INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, 1)", (n, number, number, ms, seconds, kind))
    con.close()
    return path
