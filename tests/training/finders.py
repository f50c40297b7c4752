"""Find every answer of every scenario from the evidence itself, through evidencekit's library.

Each finder opens the shipped evidence with ``open_evidence`` and derives the facts the questions
ask for, without looking at the answer key.
"""

from __future__ import annotations

import hashlib
import plistlib
import re
import sqlite3
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import magic
import yara

from evidencekit import open_evidence
from evidencekit.hashing import hash_stream
from evidencekit.models import FileRecord, iso_utc
from evidencekit.training.fat import Fat32

APPLE_EPOCH_S = 978307200


def tsk(*args: str | Path) -> str:
    """Run a Sleuth Kit (or other) command line tool; its stdout as text."""
    return subprocess.run([str(a) for a in args], capture_output=True, check=True, text=True).stdout


def tsk_bytes(*args: str | Path) -> bytes:
    return subprocess.run([str(a) for a in args], capture_output=True, check=True).stdout


def _read_all(path: Path) -> list[tuple[FileRecord, bytes | None]]:
    """Every file entry with its content (None when evidencekit cannot read it)."""
    out = []
    with open_evidence(str(path)) as ev:
        for entry in ev.entries():
            rec = entry.record
            if rec.type not in ("file", "unknown"):
                continue
            data = None
            if entry.has_content:
                with entry.open() as fh:
                    data = fh.read()
            out.append((rec, data))
    return out


def _one(items: list[Any], what: str) -> Any:
    assert len(items) == 1, f"expected exactly one {what}, found {items}"
    return items[0]


def usb(folder: Path) -> dict[str, Any]:
    image = folder / "usb.img.gz"
    with open_evidence(str(image)) as ev:
        label = ev.volumes[0].fs_label
        media = ev.open_media()
        assert media is not None
        attrs = Fat32(media.read()).attributes()
    files = [(r, d) for r, d in _read_all(image) if not r.path.startswith("/$") and "Volume Label" not in r.path]
    deleted = _one([(r, d) for r, d in files if r.deleted], "deleted file")
    jpegs = [(r, d) for r, d in files if d and magic.from_buffer(d).startswith("JPEG")
             and not r.path.lower().endswith((".jpg", ".jpeg"))]
    jpeg = _one(jpegs, "disguised JPEG")
    model = re.search(r"model=([^,\]]+)", magic.from_buffer(jpeg[1]))
    hidden = _one([p for p, a in attrs.items() if a & 0x02 and not a & 0x10], "hidden file")
    by_path = {r.path: (r, d) for r, d in files if not r.deleted}
    pricing = by_path["/Projects/Q3_Pricing_Model.csv"][0]
    return {
        "label": label,
        "projects_count": sum(1 for r, _ in files if r.path.startswith("/Projects/") and not r.deleted),
        "deleted_path": deleted[0].path, "deleted_sha256": hashlib.sha256(deleted[1]).hexdigest(),
        "jpeg_path": jpeg[0].path, "camera_model": model.group(1) if model else None,
        "pricing_created": iso_utc(pricing.crtime, 2), "pricing_modified": iso_utc(pricing.mtime, 0),
        "hidden_company": by_path[hidden][1].decode().splitlines()[0],
    }


def office(folder: Path) -> dict[str, Any]:
    image = folder / "workstation.E01"
    with open_evidence(str(image)) as ev:
        acq = ev.acquisition
        assert acq is not None
        media = ev.open_media()
        assert media is not None
        computed = hash_stream(media, ["md5"])["md5"]
        assert computed == acq.stored_hashes["md5"], "stored MD5 does not match the media"
        start = ev.volumes[0].offset // 512
    files = [(r, d) for r, d in _read_all(image) if not r.path.startswith("/$")]
    zone = _one([(r, d) for r, d in files if r.stream == "Zone.Identifier"], "Zone.Identifier stream")
    host = re.search(r"HostUrl=(\S+)", zone[1].decode())
    deleted = _one([(r, d) for r, d in files if r.deleted], "deleted file")
    stomped = _one([r for r, _ in files if r.crtime and r.fn_crtime and r.crtime < r.fn_crtime], "timestomped file")
    return {
        "evidence_number": acq.evidence_number, "case_number": acq.case_number, "media_md5": computed,
        "partition_start": start, "download_path": zone[0].path, "zone_host_url": host.group(1) if host else None,
        "deleted_path": deleted[0].path,
        "deleted_sha256": hashlib.sha256(deleted[1]).hexdigest() if deleted[1] is not None else None,
        "stomped_path": stomped.path, "stomped_fn_created": iso_utc(stomped.fn_crtime, 7),
        "stomped_si_created": iso_utc(stomped.crtime, 7),
    }


def linux(folder: Path) -> dict[str, Any]:
    files = _read_all(folder / "server.img.gz")
    rules = yara.compile(filepath=str(folder / "webshell.yar"))
    hits = [(r, d) for r, d in files if d and not r.deleted and rules.match(data=d)]
    shell = _one(hits, "YARA hit")
    auth = b"".join(d for r, d in files if d and r.path.startswith("/var/log/")).decode()
    login = re.search(r"Accepted password for (\S+) from (\S+)", auth)
    history = b"".join(d for r, d in files if d and r.path.endswith("/.bash_history")).decode()
    host = re.search(r"curl .*https?://([^/\s]+)", history)
    deleted = _one([r for r, _ in files if r.deleted], "deleted file")
    return {
        "shell_path": shell[0].path, "shell_sha256": hashlib.sha256(shell[1]).hexdigest(),
        "shell_mtime": iso_utc(shell[0].mtime, 9), "account": login.group(1) if login else None,
        "attacker_ip": login.group(2) if login else None, "exfil_host": host.group(1) if host else None,
        "deleted_path": deleted.path, "deleted_at": iso_utc(deleted.dtime, 0),
    }


def _sqlite(data: bytes, tmp: Path, name: str) -> sqlite3.Connection:
    path = tmp / name
    path.write_bytes(data)
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _freed(raw: bytes, page: int, size: int) -> bytes:
    """Freeblocks and the unallocated gap of the table b-tree rooted at ``page`` (1-based)."""
    base = (page - 1) * size
    head = base + (100 if page == 1 else 0)
    kind, first_free, cells, content = struct.unpack_from(">BHHH", raw, head)
    if kind == 0x05:  # interior table page: recurse into every child
        ptrs = [struct.unpack_from(">H", raw, head + 12 + 2 * i)[0] for i in range(cells)]
        kids = [struct.unpack_from(">I", raw, base + p)[0] for p in ptrs]
        kids.append(struct.unpack_from(">I", raw, head + 8)[0])
        return b"".join(_freed(raw, k, size) for k in kids)
    out = raw[head + 8 + 2 * cells: base + (content or 65536)]
    while first_free:
        nxt, length = struct.unpack_from(">HH", raw, base + first_free)
        out += raw[base + first_free + 4: base + first_free + length]
        first_free = nxt
    return out


def carve_texts(raw: bytes, table_root: int, live: set[str]) -> list[str]:
    """Printable runs left in the freed space of one table (trailing live column values cut off)."""
    size = struct.unpack_from(">H", raw, 16)[0]
    found = []
    for run in re.findall(rb"[\x20-\x7e]{24,}", _freed(raw, table_root, 65536 if size == 1 else size)):
        text = run.decode()
        for value in sorted(live, key=len, reverse=True):
            if value and text.endswith(value) and len(text) > len(value):
                text = text[: -len(value)]
        found.append(text)
    return found


def android(zip_path: Path, tmp: Path) -> dict[str, Any]:
    data = {r.path.rsplit("/", 1)[1]: d for r, d in _read_all(zip_path) if d}
    sms = _sqlite(data["mmssms.db"], tmp, "mmssms.db")
    live = {str(v) for row in sms.execute("SELECT * FROM sms") for v in row if v is not None}
    root = sms.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sms'").fetchone()[0]
    carved = [t for t in carve_texts(data["mmssms.db"], root, live) if t not in live]
    contacts = _sqlite(data["contacts2.db"], tmp, "contacts2.db")
    number = contacts.execute(
        "SELECT d.data1 FROM raw_contacts r JOIN data d ON d.raw_contact_id = r._id JOIN mimetypes m "
        "ON m._id = d.mimetype_id WHERE m.mimetype = 'vnd.android.cursor.item/phone_v2' AND r.display_name = "
        "'Marina Sokolova (Contoso)'").fetchone()[0]
    calls = _sqlite(data["calllog.db"], tmp, "calllog.db")
    longest = calls.execute("SELECT max(duration) FROM calls WHERE number = ?", (number,)).fetchone()[0]
    last = calls.execute("SELECT max(date) FROM calls WHERE number = ? AND type = 2", (number,)).fetchone()[0]
    return {"deleted_sms": _one(carved, "carved SMS"), "sms_count": sms.execute("SELECT count(*) FROM sms").fetchone()[0],
            "marina_number": number, "longest_call": longest, "last_outgoing_call": iso_utc(last * 10**6, 3)}


def ios(backup: Path, tmp: Path) -> dict[str, Any]:
    data = {r.path: d for r, d in _read_all(backup) if d}
    manifest = _sqlite(data["/Manifest.db"], tmp, "Manifest.db")
    fid = manifest.execute("SELECT fileID FROM Files WHERE domain = 'HomeDomain' AND "
                           "relativePath = 'Library/SMS/sms.db'").fetchone()[0]
    sms = _sqlite(data[f"/{fid[:2]}/{fid}"], tmp, "sms.db")
    info = plistlib.loads(data["/Info.plist"])
    promise = _one([(t, d) for t, d in sms.execute("SELECT text, date FROM message WHERE is_from_me = 1")
                    if re.search(r"\d+\s*EUR", t)], "payment message")
    texts = [t for (t,) in sms.execute("SELECT text FROM message")]
    return {"sms_file_id": fid, "device_name": info["Device Name"],
            "payment_eur": int(re.search(r"(\d+)\s*EUR", promise[0]).group(1)),  # type: ignore[union-attr]
            "payment_time": iso_utc(promise[1] + APPLE_EPOCH_S * 10**9, 9), "_ios_texts": texts}


def mobile(folder: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        found = android(folder / "android-extraction.zip", Path(tmp))
        found.update(ios(next((folder / "ios-backup").iterdir()), Path(tmp)))
    return found


def messenger(folder: Path) -> dict[str, Any]:
    """The encrypted .ab read by evidencekit with the briefing's password; the app databases by SQL."""
    from evidencekit.sources import Credentials

    password = re.search(r"`(Qaragandy-\d+)`", (folder / "briefing.en.md").read_text()).group(1)  # type: ignore[union-attr]
    with open_evidence(str(folder / "phone.ab"), Credentials(password=password)) as ev:
        data = {e.record.path.rsplit("/", 1)[1]: e.open().read() for e in ev.entries() if e.record.type == "file"}
    with tempfile.TemporaryDirectory() as tmp:
        wa = _sqlite(data["msgstore.db"], Path(tmp), "msgstore.db")
        rows = wa.execute("SELECT m.timestamp, m.text_data, j.raw_string FROM message m JOIN chat c ON "
                          "c._id = m.chat_row_id JOIN jid j ON j._id = c.jid_row_id ORDER BY m.timestamp").fetchall()
        meeting = _one([r for r in rows if re.search(r"\d\d:\d\d", r[1] or "") and "," in r[1]], "meeting message")
        tg = _sqlite(data["cache4.db"], Path(tmp), "cache4.db")
        blob = tg.execute("SELECT data FROM messages_v2 ORDER BY mid LIMIT 1").fetchone()[0]
    # message#94345242 flags flags2 id from_id:peerUser peer_id:peerUser date message: the text at byte 44
    text = blob[45:45 + blob[44]].decode("utf-8")
    money = _one([r[1] for r in rows if "теңге" in (r[1] or "")], "payment message")
    return {"meeting_text": meeting[1], "meeting_time": iso_utc(meeting[0] * 10**6, 3), "courier_jid": meeting[2],
            "whatsapp_messages": len(rows), "car_plate": re.search(r"\d{3} [A-Z]{3} \d\d", text).group(0),  # type: ignore[union-attr]
            "payment_tenge": int(re.sub(r"\D", "", money.split("теңге")[0]))}


FINDERS = {"usb-data-theft": usb, "office-workstation": office, "linux-server": linux, "mobile": mobile,
           "android-messenger": messenger}
