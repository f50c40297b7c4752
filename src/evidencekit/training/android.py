"""Android logical extraction: mmssms.db (one SMS deleted but carvable), contacts2.db, calllog.db."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from evidencekit.training import artifacts
from evidencekit.training.tools import epoch

OWNER = "+447700900101"  # Alexei Volkov's phone
MARINA, BROTHER, BANK = "+447700900123", "+447700900188", "+447700900555"
DELETED_TEXT = "Bring the client list on a stick, not by email. Central Station, locker 114, 15 June 19:00."
SMS = [  # (address, time UTC, type 1=received 2=sent, body)
    (BROTHER, "2021-06-10 18:01:12.250", 1, "Dinner on Sunday at mum's?"),
    (BROTHER, "2021-06-10 18:05:40.800", 2, "Yes, I'll bring the wine."),
    (MARINA, "2021-06-11 08:15:03.120", 1, "Offer letter sent to your private mail. Welcome aboard!"),
    (MARINA, "2021-06-11 08:20:44.610", 2, "Thanks. I can bring the pricing model and more."),
    (MARINA, "2021-06-14 17:30:09.007", 1, DELETED_TEXT),
    (MARINA, "2021-06-14 17:31:55.430", 2, "OK. Copying tonight."),
    (BANK, "2021-06-15 07:02:00.000", 1, "Your card ending 4421 was charged EUR 12.40 at CITY PARKING."),
]
CALLS = [  # (number, start UTC, duration s, type 1=in 2=out 3=missed)
    (MARINA, "2021-06-09 12:40:15.300", 742, 1),
    (BROTHER, "2021-06-12 19:02:48.010", 95, 2),
    (MARINA, "2021-06-14 17:35:20.655", 131, 2),
    (MARINA, "2021-06-15 09:12:02.999", 0, 3),
]
CONTACTS = [("Marina Sokolova (Contoso)", MARINA), ("Dima (brother)", BROTHER), ("Baltic Bank", BANK)]


def ms(text: str) -> int:
    whole, _, frac = text.partition(".")
    return epoch(whole) * 1000 + int(frac.ljust(3, "0")[:3])


def new_db(path: Path, schema: str) -> sqlite3.Connection:
    """A database whose bytes depend only on the statements (and the SQLite version)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA page_size=4096")
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("PRAGMA secure_delete=OFF")
    con.execute("PRAGMA auto_vacuum=NONE")
    con.executescript(schema)
    return con


MMSSMS_SCHEMA = """
CREATE TABLE android_metadata (locale TEXT);
INSERT INTO android_metadata VALUES ('en_GB');
CREATE TABLE canonical_addresses (_id INTEGER PRIMARY KEY AUTOINCREMENT, address TEXT);
CREATE TABLE threads (_id INTEGER PRIMARY KEY AUTOINCREMENT, date INTEGER DEFAULT 0,
  message_count INTEGER DEFAULT 0, recipient_ids TEXT, snippet TEXT, snippet_cs INTEGER DEFAULT 0,
  read INTEGER DEFAULT 1, archived INTEGER DEFAULT 0, type INTEGER DEFAULT 0, error INTEGER DEFAULT 0,
  has_attachment INTEGER DEFAULT 0);
CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, person INTEGER, date INTEGER,
  date_sent INTEGER DEFAULT 0, protocol INTEGER, read INTEGER DEFAULT 0, status INTEGER DEFAULT -1,
  type INTEGER, reply_path_present INTEGER, subject TEXT, body TEXT, service_center TEXT,
  locked INTEGER DEFAULT 0, sub_id INTEGER DEFAULT -1, error_code INTEGER DEFAULT 0, creator TEXT,
  seen INTEGER DEFAULT 0);
"""


def mmssms(path: Path) -> None:
    con = new_db(path, MMSSMS_SCHEMA)
    threads: dict[str, int] = {}
    con.execute("BEGIN")
    for address, when, kind, body in SMS:
        if address not in threads:
            cur = con.execute("INSERT INTO canonical_addresses (address) VALUES (?)", (address,))
            threads[address] = int(con.execute("INSERT INTO threads (recipient_ids) VALUES (?)",
                                               (str(cur.lastrowid),)).lastrowid or 0)
        sent = ms(when) - (2000 if kind == 1 else 0)
        con.execute("INSERT INTO sms (thread_id, address, date, date_sent, protocol, read, type, "
                    "reply_path_present, body, seen, creator) VALUES (?,?,?,?,0,1,?,0,?,1,?)",
                    (threads[address], address, ms(when), sent, kind, body, "com.google.android.apps.messaging"))
    con.execute("COMMIT")
    con.execute("DELETE FROM sms WHERE body = ?", (DELETED_TEXT,))  # the user deletes one message
    for tid in threads.values():
        con.execute("UPDATE threads SET date = (SELECT max(date) FROM sms WHERE thread_id = ?), "
                    "message_count = (SELECT count(*) FROM sms WHERE thread_id = ?), "
                    "snippet = (SELECT body FROM sms WHERE thread_id = ? ORDER BY date DESC LIMIT 1) "
                    "WHERE _id = ?", (tid, tid, tid, tid))
    con.close()


def contacts(path: Path) -> None:
    con = new_db(path, """
CREATE TABLE android_metadata (locale TEXT);
INSERT INTO android_metadata VALUES ('en_GB');
CREATE TABLE mimetypes (_id INTEGER PRIMARY KEY AUTOINCREMENT, mimetype TEXT NOT NULL, UNIQUE (mimetype));
INSERT INTO mimetypes (mimetype) VALUES ('vnd.android.cursor.item/name'), ('vnd.android.cursor.item/phone_v2');
CREATE TABLE raw_contacts (_id INTEGER PRIMARY KEY AUTOINCREMENT, account_id INTEGER, deleted INTEGER NOT NULL DEFAULT 0,
  display_name TEXT, display_name_alt TEXT, times_contacted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE data (_id INTEGER PRIMARY KEY AUTOINCREMENT, mimetype_id INTEGER NOT NULL, raw_contact_id INTEGER NOT NULL,
  data1 TEXT, data2 TEXT, data3 TEXT);
""")
    con.execute("BEGIN")
    for name, number in CONTACTS:
        rid = con.execute("INSERT INTO raw_contacts (account_id, display_name, display_name_alt) VALUES (1, ?, ?)",
                          (name, name)).lastrowid
        con.execute("INSERT INTO data (mimetype_id, raw_contact_id, data1) VALUES (1, ?, ?)", (rid, name))
        con.execute("INSERT INTO data (mimetype_id, raw_contact_id, data1, data2) VALUES (2, ?, ?, '2')", (rid, number))
    con.execute("COMMIT")
    con.close()


def calllog(path: Path) -> None:
    con = new_db(path, """
CREATE TABLE android_metadata (locale TEXT);
INSERT INTO android_metadata VALUES ('en_GB');
CREATE TABLE calls (_id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT, presentation INTEGER NOT NULL DEFAULT 1,
  date INTEGER, duration INTEGER, data_usage INTEGER, type INTEGER, features INTEGER NOT NULL DEFAULT 0,
  name TEXT, numbertype INTEGER, countryiso TEXT, geocoded_location TEXT, new INTEGER, is_read INTEGER);
""")
    names = {number: name for name, number in CONTACTS}
    con.execute("BEGIN")
    for number, when, duration, kind in CALLS:
        con.execute("INSERT INTO calls (number, date, duration, type, name, numbertype, countryiso, new, is_read) "
                    "VALUES (?,?,?,?,?,2,'GB',0,1)", (number, ms(when), duration, kind, names.get(number)))
    con.execute("COMMIT")
    con.close()


def build(work: Path, out: Path) -> dict[str, Any]:
    """android-extraction.zip in ``out``; return the answers it holds."""
    dbs = work / "android"
    dbs.mkdir()
    tele = "data/data/com.android.providers.telephony/databases/"
    cont = "data/data/com.android.providers.contacts/databases/"
    mmssms(dbs / "mmssms.db")
    contacts(dbs / "contacts2.db")
    calllog(dbs / "calllog.db")
    photo = artifacts.jpeg("samsung", "SM-G991B", "2021:06:12 14:15:02")
    members = [(tele + "mmssms.db", (dbs / "mmssms.db").read_bytes()),
               (cont + "contacts2.db", (dbs / "contacts2.db").read_bytes()),
               (cont + "calllog.db", (dbs / "calllog.db").read_bytes()),
               ("sdcard/DCIM/Camera/IMG_20210612_141502.jpg", photo)]
    # Extraction tools store folder entries too; without them dfvfs (and so plaso) cannot open folders.
    folders = sorted({name.rsplit("/", depth)[0] + "/" for name, _ in members for depth in range(1, name.count("/") + 1)})
    members = [(folder, b"") for folder in folders] + members
    (out / "android-extraction.zip").write_bytes(artifacts.deterministic_zip(members, (2021, 6, 15, 10, 20, 0)))
    longest = max((c for c in CALLS if c[0] == MARINA), key=lambda c: c[2])
    last_out = max((c for c in CALLS if c[0] == MARINA and c[3] == 2), key=lambda c: c[1])
    return {"deleted_sms": DELETED_TEXT, "sms_count": len(SMS) - 1, "marina_number": MARINA,
            "longest_call": longest[2], "last_outgoing_call": last_out[1].replace(" ", "T") + "Z"}
