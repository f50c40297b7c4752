"""Viber for iOS ``Contacts.data``: the Core Data tables iLEAPP's Viber module reads, with Core
Data's own bookkeeping columns (Z_PK, Z_ENT, Z_OPT) and tables (Z_PRIMARYKEY, Z_METADATA)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE Z_PRIMARYKEY (Z_ENT INTEGER PRIMARY KEY, Z_NAME VARCHAR, Z_SUPER INTEGER, Z_MAX INTEGER);
CREATE TABLE Z_METADATA (Z_VERSION INTEGER PRIMARY KEY, Z_UUID VARCHAR(255), Z_PLIST BLOB);
CREATE TABLE ZMEMBER (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZDISPLAYFULLNAME VARCHAR,
  ZDISPLAYSHORTNAME VARCHAR, ZNAME VARCHAR, ZMEMBERID VARCHAR);
CREATE TABLE ZPHONENUMBER (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZMEMBER INTEGER,
  ZPHONE VARCHAR, ZCANONIZEDPHONENUM VARCHAR);
CREATE TABLE ZCONVERSATION (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZINTERLOCUTOR INTEGER,
  ZNAME VARCHAR, ZBEINGDELETED INTEGER, ZFAVORITE INTEGER, ZTIMEBOMBDURATION INTEGER, ZDATE TIMESTAMP);
CREATE TABLE ZATTACHMENT (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZNAME VARCHAR, ZTYPE VARCHAR,
  ZFILESIZE INTEGER);
CREATE TABLE ZVIBERMESSAGE (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZCONVERSATION INTEGER,
  ZPHONENUMINDEX INTEGER, ZATTACHMENT INTEGER, ZLOCATION INTEGER, ZBEINGDELETED INTEGER, ZLIKESCOUNT INTEGER,
  ZTIMEBOMBDURATION INTEGER, ZTIMEBOMBTIMESTAMP INTEGER, ZDATE TIMESTAMP, ZSTATEDATE TIMESTAMP, ZSTATE VARCHAR,
  ZSYSTEMTYPE VARCHAR, ZTEXT VARCHAR, ZMETADATA VARCHAR);
CREATE TABLE ZRECENTSLINE (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZDATE TIMESTAMP,
  ZCALLTYPE VARCHAR, ZPHONENUMBER VARCHAR);
CREATE TABLE ZRECENT (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZCALLLOGMESSAGE INTEGER,
  ZRECENTSLINE INTEGER, ZDATE TIMESTAMP, ZDURATION FLOAT, ZCALLTYPE VARCHAR);
"""
ENTITIES = ("ZMEMBER", "ZPHONENUMBER", "ZCONVERSATION", "ZATTACHMENT", "ZVIBERMESSAGE", "ZRECENTSLINE", "ZRECENT")


def contacts_data(path: Path, members: list[tuple[str, str]], conversations: list[tuple[str | None, int]],
                  messages: list[tuple[int, int | None, float, str, str, str | None]],
                  calls: list[tuple[float, str, float, str]]) -> Path:
    """members: (name, phone), Z_PK 1..; conversations: (group name or None, interlocutor member);
    messages: (conversation, sender member or None, Core Data seconds, ZSTATE, text, attachment name);
    calls: (Core Data seconds, ZCALLTYPE, seconds, phone)."""
    con = sqlite3.connect(path)
    con.executescript(SCHEMA)
    ent = {name: n for n, name in enumerate(ENTITIES, 1)}
    con.executemany("INSERT INTO Z_PRIMARYKEY VALUES (?, ?, 0, 0)", [(n, t[1:].title()) for t, n in ent.items()])
    for pk, (name, phone) in enumerate(members, 1):
        con.execute("INSERT INTO ZMEMBER VALUES (?, ?, 1, ?, ?, ?, ?)", (pk, ent["ZMEMBER"], name, name.split()[0],
                                                                       name, f"m{pk}"))
        con.execute("INSERT INTO ZPHONENUMBER VALUES (?, ?, 1, ?, ?, ?)", (pk, ent["ZPHONENUMBER"], pk, phone,
                                                                         phone.lstrip("+")))
    for pk, (name, peer) in enumerate(conversations, 1):
        con.execute("INSERT INTO ZCONVERSATION VALUES (?, ?, 1, ?, ?, 0, 0, 0, NULL)",
                    (pk, ent["ZCONVERSATION"], peer, name))
    for pk, (conv, sender, when, state, text, attachment) in enumerate(messages, 1):
        if attachment:
            con.execute("INSERT INTO ZATTACHMENT VALUES (?, ?, 1, ?, 'picture', 1234)", (pk, ent["ZATTACHMENT"],
                                                                                       attachment))
        con.execute("INSERT INTO ZVIBERMESSAGE VALUES (?, ?, 1, ?, ?, ?, NULL, 0, 0, 0, NULL, ?, ?, ?, NULL, ?, NULL)",
                    (pk, ent["ZVIBERMESSAGE"], conv, sender, pk if attachment else None, when + 2.5, when, state, text))
    for pk, (when, kind, seconds, phone) in enumerate(calls, 1):
        con.execute("INSERT INTO ZRECENTSLINE VALUES (?, ?, 1, ?, ?, ?)", (pk, ent["ZRECENTSLINE"], when, kind, phone))
        con.execute("INSERT INTO ZRECENT VALUES (?, ?, 1, NULL, ?, ?, ?, ?)", (pk, ent["ZRECENT"], pk, when, seconds,
                                                                             kind))
    con.commit()
    con.close()
    return path
