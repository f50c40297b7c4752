"""Messenger readers on databases with the apps' real layouts, alone and through a case timeline."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from evidencekit.case import Case, examiners
from evidencekit.models import Locator
from evidencekit.pipeline.intake import add_exhibit
from evidencekit.pipeline.processing import process_exhibit
from evidencekit.pipeline.timeline import build_native
from evidencekit.timeline import store
from evidencekit.timeline.messengers import UnknownSchema, telegram, viber, whatsapp
from evidencekit.training import messenger_dbs as dbs
from evidencekit.training.adb import Member, write_backup
from mobile.builders import UfdrFile, UfdrSpec, call, chat, write_ufdr

RU, KK, UZ = "Встречаемся у вокзала в 19:00", "Сәлем, қалың қалай? Ұлы дала", "Salom, oʻrtoq! Ertaga gaplashamiz"
T0 = 1_623_691_809_007  # ms


def _found(path: Path) -> SimpleNamespace:
    return SimpleNamespace(real=str(path), sha256="0" * 64, locator=Locator(str(path), {"type_indicator": "OS"}))


def _run(reader, path: Path) -> list:
    con = sqlite3.connect(path)
    try:
        return list(reader(con, _found(path), "E1"))
    finally:
        con.close()


def _msgstore(path: Path) -> Path:
    return dbs.whatsapp_android(path, {"77011234567@s.whatsapp.net": [
        (T0, False, RU, None), (T0 + 61_250, True, KK, "Media/WhatsApp Images/IMG-20210614-WA0001.jpg"),
        (T0 + 120_000, False, UZ, None)]}, calls=[("77011234567@s.whatsapp.net", T0 + 300_000, True, 131)])


def test_whatsapp_android(tmp_path):
    events = _run(whatsapp.android, _msgstore(tmp_path / "msgstore.db"))
    msgs = [e for e in events if e.extra["data_type"].endswith(":message")]
    assert [e.extra["text"] for e in msgs] == [RU, KK, UZ]
    assert [e.extra["direction"] for e in msgs] == ["incoming", "outgoing", "incoming"]
    assert msgs[0].time == T0 * 1_000_000 and msgs[0].time_digits == 3
    assert msgs[0].extra["sender"] == "77011234567@s.whatsapp.net" and msgs[1].extra["sender"] == "me"
    assert msgs[1].extra["attachment"].endswith("WA0001.jpg")
    (call_event,) = [e for e in events if e.extra["data_type"].endswith(":call")]
    assert call_event.extra["duration"] == 131 and call_event.timestamp_desc == "Call Start"


def test_whatsapp_ios(tmp_path):
    path = dbs.whatsapp_ios(tmp_path / "ChatStorage.sqlite", "77017654321@s.whatsapp.net", "Айгүл",
                            [(645_384_609.123456, False, KK), (645_384_700.5, True, RU)])
    events = _run(whatsapp.ios, path)
    assert [e.extra["text"] for e in events] == [KK, RU]
    assert events[0].time == (645_384_609_123_456 + 978_307_200_000_000) * 1000 and events[0].time_digits == 6
    assert "Айгүл" in events[0].extra["chat"]


def test_telegram_text_from_the_tl_blob(tmp_path):
    path = dbs.telegram(tmp_path / "cache4.db", 111, {222: "Рустам Алиев"},
                        [(1, 222, 1_623_691_809, False, UZ), (2, 222, 1_623_691_900, True, RU + " " * 300)])
    events = _run(telegram.android, path)
    assert [e.extra["text"] for e in events] == [UZ, RU + " " * 300]  # a long (254-prefixed) TL string too
    assert events[0].extra["direction"] == "incoming" and "рустам алиев" in events[0].extra["chat"]
    assert events[0].time_digits == 0


def test_viber_messages_and_calls(tmp_path):
    msgs = dbs.viber(tmp_path / "viber_messages", "+998901234567", "Бахтиёр",
                     [(T0, False, UZ, None), (T0 + 5000, True, RU, "content://media/external/images/42")])
    events = _run(viber.messages, msgs)
    assert [(e.extra["direction"], e.extra["text"]) for e in events] == [("incoming", UZ), ("outgoing", RU)]
    assert "Бахтиёр" in events[0].extra["sender"] and events[1].extra["attachment"].endswith("/42")
    calls = _run(viber.calls, dbs.viber_calls(tmp_path / "viber_data", [("+998901234567", T0, 42, 2)]))
    assert calls[0].extra["direction"] == "outgoing" and calls[0].extra["duration"] == 42


def test_unknown_schema_is_named(tmp_path):
    path = tmp_path / "msgstore.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE message (_id INTEGER PRIMARY KEY, body TEXT)")
    con.close()
    with pytest.raises(UnknownSchema, match="unknown schema version"):
        _run(whatsapp.android, path)


@pytest.fixture
def examiner() -> examiners.Examiner:
    return examiners.init_examiner("Mira Mobile", "mira")


def test_case_timeline_reads_messengers_in_an_ab_and_a_ufdr(tmp_path, examiner):
    db = _msgstore(tmp_path / "msgstore.db").read_bytes()
    ab = write_backup(tmp_path / "phone.ab", [Member("apps/com.whatsapp/db/msgstore.db", db)])
    bad = tmp_path / "broken.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    decoded = chat("Telegram", "9", [("2021-06-14T17:30:09.5+05:00", "998901234567", "Бахтиёр", UZ)]) + \
        call("2021-06-14T18:00:00+00:00", "+77011234567", "Outgoing", "00:02:11")
    ufdr = write_ufdr(tmp_path / "phone.ufdr", UfdrSpec([
        UfdrFile("/data/data/com.viber.voip/databases/viber_messages", "files\\Database\\viber_messages",
                 dbs.viber(tmp_path / "vm", "+998901234567", "Бахтиёр", [(T0, False, KK, None)]).read_bytes()),
        UfdrFile("/data/data/com.whatsapp/databases/msgstore.db", "files\\Database\\msgstore.db", bad.read_bytes()),
    ], decoded))
    case = Case.init(tmp_path / "case", number="2026/14", title="Mobile", authority="W-14",
                     authority_date="2026-11-01", examiner=examiner)
    try:
        for exhibit, path in (("AB1", ab), ("U1", ufdr)):
            add_exhibit(case, path, exhibit, examiner)
            process_exhibit(case, exhibit, examiner, hashes=("sha256",))
            build_native(case, exhibit, examiner)
        ab_events = list(store.query(case.db, store.Query(exhibit="AB1", source="native")))
        assert [e.extra["text"] for e in ab_events if "text" in e.extra and e.extra["data_type"].endswith("message")] \
            == [RU, KK, UZ]
        assert ab_events[0].path == "/apps/com.whatsapp/db/msgstore.db"
        u_events = list(store.query(case.db, store.Query(exhibit="U1", source="native")))
        texts = {e.parser: e.extra.get("text") for e in u_events}
        assert texts["evidencekit/viber_android"] == KK
        assert UZ in {e.extra.get("text") for e in u_events if e.parser == "evidencekit/ufdr_decoded"}
        decoded_times = sorted(e.time for e in u_events if e.parser == "evidencekit/ufdr_decoded")
        assert decoded_times == [1_623_673_809_500_000_000, 1_623_693_600_000_000_000]
        (details,) = [json.loads(r[0])["details"] for r in case.db.execute(
            "SELECT body FROM ledger WHERE action = 'received' AND exhibit = 'U1'")]
        assert details["device"]["imei"] == "356938035643809"  # the exhibit record names the device
        warned = [w for w in store.warnings(case.db, "U1")]
        assert any("whatsapp_android" in str(w) for w in warned), warned
    finally:
        case.close()


def test_whatsapp_in_an_unencrypted_ios_backup_by_its_hashed_name(tmp_path):
    from evidencekit.timeline.native import read_native
    from evidencekit.training import ios

    out = tmp_path / "out"
    out.mkdir()
    ios.build(tmp_path, out)
    folder = next((out / "ios-backup").iterdir())
    fid = ios.file_id("AppDomainGroup-group.net.whatsapp.WhatsApp.shared", "ChatStorage.sqlite")
    dbs.whatsapp_ios(folder / fid[:2] / fid if (folder / fid[:2]).is_dir() else _mkdir(folder / fid[:2]) / fid,
                     "77017654321@s.whatsapp.net", "Айгүл", [(645_384_609.5, False, KK)])
    warnings: list[str] = []
    events = [e for e in read_native(folder, "directory", "E1", warnings) if e.parser == "evidencekit/whatsapp_ios"]
    assert [e.extra["text"] for e in events] == [KK] and warnings == []
    assert events[0].path == "AppDomainGroup-group.net.whatsapp.WhatsApp.shared/ChatStorage.sqlite"


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def test_ffs_zip_messages_still_in_the_wal_are_read(tmp_path, examiner):
    """An FFS zip holding msgstore.db and its -wal: the newest message lives only in the WAL."""
    import zipfile

    db = _msgstore(tmp_path / "msgstore.db")
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("INSERT INTO message (chat_row_id, from_me, key_id, timestamp, text_data, sort_id) "
                "VALUES (1, 1, 'W1', ?, ?, 9)", (T0 + 900_000, "Только в WAL"))
    con.commit()
    main, wal = db.read_bytes(), Path(str(db) + "-wal").read_bytes()  # copied before any checkpoint
    con.close()
    ffs = tmp_path / "ffs.zip"
    with zipfile.ZipFile(ffs, "w") as zf:
        zf.writestr("Dump/data/data/com.whatsapp/databases/msgstore.db", main)
        zf.writestr("Dump/data/data/com.whatsapp/databases/msgstore.db-wal", wal)
    case = Case.init(tmp_path / "case", number="2026/15", title="FFS", authority="W-15",
                     authority_date="2026-11-01", examiner=examiner)
    try:
        add_exhibit(case, ffs, "F1", examiner)
        process_exhibit(case, "F1", examiner, hashes=("sha256",))
        build_native(case, "F1", examiner)
        texts = [e.extra.get("text") for e in store.query(case.db, store.Query(exhibit="F1", source="native"))]
        assert texts[-1] == "Только в WAL" and RU in texts
    finally:
        case.close()


def test_an_encrypted_backup_gives_its_messages_to_the_case_timeline_with_its_password(tmp_path, examiner):
    """The native readers open an encrypted .ab with the password given to the build (never stored);
    without it they leave a warning, with a wrong one the build stops with the password named."""
    from evidencekit.errors import CredentialError
    from evidencekit.sources import Credentials

    password = "Пароль-14"
    ab = write_backup(tmp_path / "phone.ab", [Member("apps/com.whatsapp/db/msgstore.db",
                                                     _msgstore(tmp_path / "msgstore.db").read_bytes())],
                      version=5, compressed=True, password=password, rounds=2000)
    key = Credentials(password=password)
    case = Case.init(tmp_path / "case", number="2026/14", title="Mobile", authority="W-14",
                     authority_date="2026-11-01", examiner=examiner)
    try:
        add_exhibit(case, ab, "AB1", examiner, credentials=key)
        process_exhibit(case, "AB1", examiner, hashes=("sha256",), credentials=key)
        without = build_native(case, "AB1", examiner)
        assert without is not None and any("password" in w for w in without.warnings), without.warnings
        with pytest.raises(CredentialError):
            build_native(case, "AB1", examiner, credentials=Credentials(password="guess"))
        build_native(case, "AB1", examiner, credentials=key)
        texts = [e.extra.get("text") for e in store.query(case.db, store.Query(exhibit="AB1", source="native"))]
        assert [t for t in texts if t] == [RU, KK, UZ]
        assert password.encode() not in (tmp_path / "case" / "case.db").read_bytes()
    finally:
        case.close()
