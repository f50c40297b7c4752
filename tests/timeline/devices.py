"""Small device extractions built on the fly: an Android tree (zip) and an iOS backup folder.

The databases carry exactly the tables and columns plaso's android_sms, android_calls and
imessage plugins read, with known rows, so the imported events can be checked one by one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import zipfile
from pathlib import Path

SMS = [  # (_id, address, Java ms time, read, type, body)
    (1, "+77010000001", 1623744000123, 1, 1, "meet at the depot"),
    (2, "+77010000002", 1623747600456, 0, 2, "invoice 7731 paid"),
    (3, "+77010000001", 1623751200789, 1, 1, "ok"),
]
CALLS = [  # (_id, number, Java ms start, duration s, type, name)
    (1, "+77010000003", 1623740000000, 65, 1, "Dispatcher"),
    (2, "+77010000004", 1623743000000, 0, 3, "Unknown"),
]
COCOA_EPOCH = 978307200  # 2001-01-01T00:00:00Z
IMESSAGES = [  # (ROWID, Cocoa seconds, is_read, is_from_me, service, text, handle ROWID)
    (1, 1623760000 - COCOA_EPOCH, 1, 0, "iMessage", "where are the keys?", 1),
    (2, 1623760100 - COCOA_EPOCH, 1, 1, "SMS", "in the truck", 1),
]
SMS_DB = ("HomeDomain", "Library/SMS/sms.db")
CALL_DB = ("HomeDomain", "Library/CallHistoryDB/CallHistory.storedata")
IOS_CALLS = [  # (Z_PK, Cocoa seconds (REAL), duration s, address, originated, answered)
    (1, 1623761000.25 - COCOA_EPOCH, 42.5, b"+77010000006", 1, 1),
    (2, 1623762000.0 - COCOA_EPOCH, 0.0, b"+77010000007", 0, 0),
]


def _db(path: Path, script: str, rows: dict[str, list[tuple[object, ...]]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.executescript(script)
    for table, values in rows.items():
        db.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * len(values[0]))})", values)
    db.commit()
    db.close()
    return path


def android_zip(work: Path) -> Path:
    """A logical Android extraction as a zip: telephony SMS and the call log."""
    tree = work / "android"
    base = tree / "data" / "data"
    _db(base / "com.android.providers.telephony" / "databases" / "mmssms.db",
        "CREATE TABLE sms (_id INTEGER PRIMARY KEY, address TEXT, date INTEGER, read INTEGER, type INTEGER,"
        " body TEXT);", {"sms": SMS})
    _db(base / "com.android.providers.contacts" / "databases" / "contacts2.db",
        "CREATE TABLE calls (_id INTEGER PRIMARY KEY, number TEXT, date INTEGER, duration INTEGER,"
        " type INTEGER, name TEXT);", {"calls": CALLS})
    out = work / "android-extraction.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(tree.rglob("*")):
            zf.write(path, path.relative_to(tree).as_posix())
    return out


def file_id(domain: str, relative: str) -> str:
    return hashlib.sha1(f"{domain}-{relative}".encode()).hexdigest()


def ios_backup(work: Path) -> Path:
    """An iTunes/Finder backup folder (iOS 10+ layout): Manifest.db and files under hashed names."""
    root = work / "ios-backup" / "00008030-001A2B3C4D5E6F70"
    fid = file_id(*SMS_DB)
    _db(root / fid[:2] / fid,
        "CREATE TABLE _SqliteDatabaseProperties (key TEXT, value TEXT);"
        "CREATE TABLE handle (ROWID INTEGER PRIMARY KEY, id TEXT);"
        "CREATE TABLE message (ROWID INTEGER PRIMARY KEY, date INTEGER, is_read INTEGER, is_from_me INTEGER,"
        " service TEXT, text TEXT, handle_id INTEGER);"
        "CREATE TABLE attachment (ROWID INTEGER PRIMARY KEY, filename TEXT);"
        "CREATE TABLE message_attachment_join (message_id INTEGER, attachment_id INTEGER);",
        {"_SqliteDatabaseProperties": [("_ClientVersion", "14006")], "handle": [(1, "+77010000005")],
         "message": IMESSAGES})
    cid = file_id(*CALL_DB)
    _db(root / cid[:2] / cid,
        "CREATE TABLE ZCALLRECORD (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZANSWERED INTEGER,"
        " ZCALLTYPE INTEGER, ZORIGINATED INTEGER, ZDATE TIMESTAMP, ZDURATION FLOAT, ZADDRESS BLOB);",
        {"ZCALLRECORD": [(pk, 2, 1, ans, 1, orig, date, dur, addr) for pk, date, dur, addr, orig, ans in IOS_CALLS]})
    _db(root / "Manifest.db",
        "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB);",
        {"Files": [(fid, *SMS_DB, 1, None), (cid, *CALL_DB, 1, None),
                   (file_id("CameraRollDomain", "Media/DCIM/100APPLE/IMG_0001.JPG"), "CameraRollDomain",
                    "Media/DCIM/100APPLE/IMG_0001.JPG", 1, None)]})
    (root / "Info.plist").write_text("<?xml version=\"1.0\"?><plist version=\"1.0\"><dict></dict></plist>\n")
    return root


def mbr_disk_with_logs(work: Path, syslog: Path) -> Path:
    """An MBR disk whose one ext4 partition (sector 2048) holds /var/log/syslog (mke2fs -d, sfdisk)."""
    tree = work / "disk-tree"
    (tree / "var" / "log").mkdir(parents=True)
    shutil.copyfile(syslog, tree / "var" / "log" / "syslog")
    part, disk = work / "part.raw", work / "disk.raw"
    with part.open("wb") as fh:
        fh.truncate(8 << 20)
    env = {**os.environ, "E2FSPROGS_FAKE_TIME": "1623657600", "TZ": "UTC", "LC_ALL": "C"}
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "LOGS", "-d", str(tree), str(part)],
                   check=True, env=env)
    with disk.open("wb") as fh:
        fh.truncate((2048 << 9) + (8 << 20))
    table = f"label: dos\nunit: sectors\nstart=2048, size={(8 << 20) >> 9}, type=83\n"
    subprocess.run(["sfdisk", "-q", "--no-reread", "--no-tell-kernel", str(disk)], input=table.encode(),
                   check=True, capture_output=True)
    with disk.open("r+b") as fh:
        fh.seek(2048 << 9)
        fh.write(part.read_bytes())
    return disk


def _mbdb_string(value: bytes | None) -> bytes:
    return b"\xff\xff" if value is None else len(value).to_bytes(2, "big") + value


def mbdb_record(domain: str, path: str, mode: int, size: int, properties: dict[bytes, bytes] | None = None) -> bytes:
    """One Manifest.mbdb record (iOS 5-9): strings as 16-bit big-endian length + bytes, 0xFFFF for none."""
    out = _mbdb_string(domain.encode()) + _mbdb_string(path.encode()) + _mbdb_string(None)
    out += _mbdb_string(hashlib.sha1(path.encode()).digest() if mode & 0o100000 else None) + _mbdb_string(None)
    out += mode.to_bytes(2, "big") + (1234).to_bytes(8, "big") + (501).to_bytes(4, "big") * 2
    out += (1_450_000_000).to_bytes(4, "big") * 3 + size.to_bytes(8, "big") + bytes([3])
    props = properties or {}
    out += bytes([len(props)]) + b"".join(_mbdb_string(k) + _mbdb_string(v) for k, v in props.items())
    return out


def ios_legacy_backup(work: Path) -> Path:
    """An iTunes backup folder of iOS 5-9: Manifest.mbdb and files stored flat under SHA1 names."""
    root = work / "ios9-backup" / "0123456789abcdef0123456789abcdef01234567"
    root.mkdir(parents=True)
    sms = b"SQLite format 3\x00 (not a real database: only its name matters here)"
    (root / file_id(*SMS_DB)).write_bytes(sms)
    photo = ("CameraRollDomain", "Media/DCIM/100APPLE/IMG_0001.JPG")
    (root / file_id(*photo)).write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    records = [mbdb_record("HomeDomain", "Library", 0o40755, 0),
               mbdb_record(*SMS_DB, 0o100644, len(sms), {b"com.apple.backup.extended": b"\x01"}),
               mbdb_record(*photo, 0o100644, 10)]
    (root / "Manifest.mbdb").write_bytes(b"mbdb\x05\x00" + b"".join(records))
    (root / "Info.plist").write_text("<?xml version=\"1.0\"?><plist version=\"1.0\"><dict></dict></plist>\n")
    return root
