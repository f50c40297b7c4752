"""iOS backup folder (iTunes/Finder layout): Manifest.db, Info/Manifest/Status.plist, hashed payloads."""

from __future__ import annotations

import hashlib
import plistlib
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from evidencekit.training import artifacts
from evidencekit.training.android import DELETED_TEXT, MARINA, OWNER, new_db
from evidencekit.training.tools import epoch

UDID = "00008030-001A2B3C4D5E6F70"
DEVICE_NAME = "Marina's iPhone"
BACKUP_AT = datetime(2021, 6, 16, 11, 42, 7)
APPLE_EPOCH = epoch("2001-01-01 00:00:00")
PAYMENT = "Payment 5000 EUR after you deliver. Cash, as agreed."
MESSAGES = [  # (time UTC with fraction, from me?, text)
    ("2021-06-11 08:15:03.120000000", 1, "Offer letter sent to your private mail. Welcome aboard!"),
    ("2021-06-11 08:20:44.610000000", 0, "Thanks. I can bring the pricing model and more."),
    ("2021-06-14 17:30:09.007000000", 1, DELETED_TEXT),
    ("2021-06-14 17:31:55.430000000", 0, "OK. Copying tonight."),
    ("2021-06-14 17:33:10.250000000", 1, PAYMENT),
]
SMS_SCHEMA = """
CREATE TABLE _SqliteDatabaseProperties (key TEXT, value TEXT, UNIQUE(key));
INSERT INTO _SqliteDatabaseProperties VALUES ('counter_in_all', '2'), ('counter_out_all', '3');
CREATE TABLE handle (ROWID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, id TEXT NOT NULL, country TEXT,
  service TEXT NOT NULL, uncanonicalized_id TEXT, person_centric_id TEXT, UNIQUE (id, service));
CREATE TABLE chat (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, style INTEGER,
  state INTEGER, account_id TEXT, chat_identifier TEXT, service_name TEXT, display_name TEXT);
CREATE TABLE message (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, text TEXT,
  handle_id INTEGER DEFAULT 0, service TEXT, account TEXT, date INTEGER, date_read INTEGER,
  date_delivered INTEGER, is_from_me INTEGER DEFAULT 0, is_read INTEGER DEFAULT 0, is_sent INTEGER DEFAULT 0,
  cache_has_attachments INTEGER DEFAULT 0);
CREATE TABLE chat_handle_join (chat_id INTEGER, handle_id INTEGER, UNIQUE(chat_id, handle_id));
CREATE TABLE chat_message_join (chat_id INTEGER, message_id INTEGER, message_date INTEGER DEFAULT 0,
  PRIMARY KEY (chat_id, message_id));
CREATE TABLE attachment (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, created_date INTEGER,
  filename TEXT, mime_type TEXT, transfer_name TEXT, total_bytes INTEGER);
CREATE TABLE message_attachment_join (message_id INTEGER, attachment_id INTEGER, UNIQUE(message_id, attachment_id));
"""


def apple_ns(text: str) -> int:
    whole, _, frac = text.partition(".")
    return (epoch(whole) - APPLE_EPOCH) * 10**9 + int(frac.ljust(9, "0")[:9])


def sms_db(path: Path) -> None:
    con = new_db(path, SMS_SCHEMA)
    con.execute("BEGIN")
    con.execute("INSERT INTO handle (id, country, service, uncanonicalized_id) VALUES (?, 'gb', 'SMS', ?)",
                (OWNER, OWNER))
    con.execute("INSERT INTO chat (guid, style, state, account_id, chat_identifier, service_name) "
                "VALUES (?, 45, 3, 'p:0', ?, 'SMS')", (f"SMS;-;{OWNER}", OWNER))
    con.execute("INSERT INTO chat_handle_join VALUES (1, 1)")
    for i, (when, mine, text) in enumerate(MESSAGES, start=1):
        date = apple_ns(when)
        guid = hashlib.sha1(f"{when}{text}".encode()).hexdigest().upper()
        guid = f"{guid[:8]}-{guid[8:12]}-{guid[12:16]}-{guid[16:20]}-{guid[20:32]}"
        con.execute("INSERT INTO message (guid, text, handle_id, service, account, date, date_read, date_delivered, "
                    "is_from_me, is_read, is_sent) VALUES (?,?,1,'SMS','p:0',?,?,?,?,1,?)",
                    (guid, text, date, 0 if mine else date + 4 * 10**9, date + 10**9 if mine else 0, mine, mine))
        con.execute("INSERT INTO chat_message_join VALUES (1, ?, ?)", (i, date))
    con.execute("COMMIT")
    con.close()


def file_id(domain: str, relative: str) -> str:
    return hashlib.sha1(f"{domain}-{relative}".encode()).hexdigest()


def mbfile(relative: str, size: int, mode: int, inode: int, when: int) -> bytes:
    """The NSKeyedArchiver MBFile blob stored in Manifest.db's `file` column."""
    obj = {"$class": plistlib.UID(3), "Birth": when, "LastModified": when, "LastStatusChange": when,
           "Flags": 0, "GroupID": 501, "UserID": 501, "InodeNumber": inode, "Mode": mode,
           "ProtectionClass": 3 if mode & 0o100000 else 0, "RelativePath": plistlib.UID(2), "Size": size}
    archive = {"$version": 100000, "$archiver": "NSKeyedArchiver", "$top": {"root": plistlib.UID(1)},
               "$objects": ["$null", obj, relative, {"$classname": "MBFile", "$classes": ["MBFile", "NSObject"]}]}
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY)


def _entries(work: Path) -> list[tuple[str, str, bytes | None, int]]:
    sms = work / "sms.db"
    sms_db(sms)
    photo = artifacts.jpeg("Apple", "iPhone 11", "2021:06:14 19:05:33")
    return [("HomeDomain", "Library", None, epoch("2020-11-02 10:00:00")),
            ("HomeDomain", "Library/SMS", None, epoch("2020-11-02 10:00:00")),
            ("HomeDomain", "Library/SMS/sms.db", sms.read_bytes(), epoch("2021-06-14 17:33:11")),
            ("CameraRollDomain", "Media/DCIM/100APPLE", None, epoch("2020-11-02 10:00:00")),
            ("CameraRollDomain", "Media/DCIM/100APPLE/IMG_0042.JPG", photo, epoch("2021-06-14 19:05:33"))]


def manifest_db(path: Path, entries: list[tuple[str, str, bytes | None, int]]) -> None:
    con = new_db(path, "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, "
                       "flags INTEGER, file BLOB); CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);")
    con.execute("BEGIN")
    for inode, (domain, rel, data, when) in enumerate(entries, start=1000):
        mode = 0o100644 if data is not None else 0o40755
        blob = mbfile(rel, len(data or b""), mode, inode, when)
        con.execute("INSERT INTO Files VALUES (?,?,?,?,?)",
                    (file_id(domain, rel), domain, rel, 1 if data is not None else 2, sqlite3.Binary(blob)))
    con.execute("COMMIT")
    con.close()


def plists(folder: Path) -> None:
    lockdown = {"DeviceName": DEVICE_NAME, "ProductType": "iPhone12,1", "ProductVersion": "14.6",
                "BuildVersion": "18F72", "SerialNumber": "F2LZK0AAN72J", "UniqueDeviceID": UDID}
    info = {"Build Version": "18F72", "Device Name": DEVICE_NAME, "Display Name": DEVICE_NAME,
            "GUID": "5EED5EED5EED5EED5EED5EED5EED5EED", "IMEI": "356938035643809", "Last Backup Date": BACKUP_AT,
            "Phone Number": MARINA, "Product Name": "iPhone 11", "Product Type": "iPhone12,1",
            "Product Version": "14.6", "Serial Number": "F2LZK0AAN72J", "Target Identifier": UDID,
            "Target Type": "Device", "Unique Identifier": UDID, "iTunes Version": "12.11.3"}
    manifest = {"BackupKeyBag": b"", "Date": BACKUP_AT, "IsEncrypted": False, "Lockdown": lockdown,
                "SystemDomainsVersion": "24.0", "Version": "10.0", "WasPasscodeSet": True, "Applications": {}}
    status = {"BackupState": "new", "Date": BACKUP_AT, "IsFullBackup": False, "SnapshotState": "finished",
              "UUID": "5EED0000-2021-0616-1142-000000000007", "Version": "3.3"}
    (folder / "Info.plist").write_bytes(plistlib.dumps(info))
    (folder / "Manifest.plist").write_bytes(plistlib.dumps(manifest, fmt=plistlib.FMT_BINARY))
    (folder / "Status.plist").write_bytes(plistlib.dumps(status, fmt=plistlib.FMT_BINARY))


def build(work: Path, out: Path) -> dict[str, Any]:
    """ios-backup/<UDID>/ in ``out``; return the answers it holds."""
    folder = out / "ios-backup" / UDID
    folder.mkdir(parents=True)
    entries = _entries(work)
    for domain, rel, data, _ in entries:
        if data is not None:
            fid = file_id(domain, rel)
            (folder / fid[:2]).mkdir(exist_ok=True)
            (folder / fid[:2] / fid).write_bytes(data)
    manifest_db(folder / "Manifest.db", entries)
    plists(folder)
    paid = next(m for m in MESSAGES if m[2] == PAYMENT)
    return {"sms_file_id": file_id("HomeDomain", "Library/SMS/sms.db"), "device_name": DEVICE_NAME,
            "payment_eur": 5000, "payment_time": paid[0].replace(" ", "T") + "Z"}
