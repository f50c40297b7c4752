"""Viber for iOS (``Contacts.data``): messages, group senders, attachments and calls, alone and
found in an iOS full file system zip through a case timeline."""

from __future__ import annotations

import sqlite3
import zipfile
from types import SimpleNamespace

import pytest

from evidencekit.case import Case, examiners
from evidencekit.models import Locator
from evidencekit.pipeline.intake import add_exhibit
from evidencekit.pipeline.processing import process_exhibit
from evidencekit.pipeline.timeline import build_native
from evidencekit.timeline import store
from evidencekit.timeline.messengers import UnknownSchema, viber
from mobile.viber_ios_builder import contacts_data

RU, KK, UZ = "Встречаемся у вокзала в 19:00", "Сәлем, қалың қалай? Ұлы дала", "Salom, oʻrtoq! Ertaga gaplashamiz"
T = 645_384_609.123456  # Core Data seconds (2021-06-14)
COCOA = 978_307_200


def _db(path):
    return contacts_data(
        path, [("Бахтиёр Каримов", "+998901234567"), ("Айгүл Серік", "+77017654321")],
        [(None, 1), ("Семья", 2)],
        [(1, 1, T, "received", UZ, None), (1, None, T + 60, "delivered", RU, "IMG_0042.jpg"),
         (2, 2, T + 120, "received", KK, None)],
        [(T + 300, "outgoing_viber", 42.0, "+998901234567"), (T + 400, "missed_with_video", 0.0, "+77017654321")])


def _events(path):
    con = sqlite3.connect(path)
    try:
        found = SimpleNamespace(real=str(path), sha256="0" * 64, locator=Locator(str(path), {"type_indicator": "OS"}))
        return list(viber.ios(con, found, "E1"))
    finally:
        con.close()


def test_messages_and_calls(tmp_path):
    events = _events(_db(tmp_path / "Contacts.data"))
    msgs = [e for e in events if e.extra["data_type"] == "viber_ios:message"]
    assert [(e.extra["direction"], e.extra["text"]) for e in msgs] == [("incoming", UZ), ("outgoing", RU),
                                                                      ("incoming", KK)]
    assert msgs[0].time == (645_384_609_123_456 + COCOA * 1_000_000) * 1000 and msgs[0].time_digits == 6
    assert msgs[0].extra["chat"] == "+998901234567 (Бахтиёр Каримов)"
    assert msgs[0].extra["sender"] == "+998901234567 (Бахтиёр Каримов)" and msgs[1].extra["sender"] == "me"
    assert msgs[1].extra["attachment"] == "IMG_0042.jpg"
    assert msgs[2].extra["chat"] == "Семья" and msgs[2].extra["sender"] == "+77017654321 (Айгүл Серік)"
    calls = [e for e in events if e.extra["data_type"] == "viber_ios:call"]
    assert [(c.extra["direction"], c.extra["duration"], c.extra["text"]) for c in calls] == [
        ("outgoing", 42, "voice call"), ("incoming", 0, "missed video call")]


def test_unknown_layout_is_named(tmp_path):
    path = tmp_path / "Contacts.data"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE ZVIBERMESSAGE (Z_PK INTEGER PRIMARY KEY, ZTEXT VARCHAR)")
    con.close()
    with pytest.raises(UnknownSchema, match="ZVIBERMESSAGE lacks"):
        _events(path)


def test_found_in_an_ios_ffs_zip(tmp_path):
    data = _db(tmp_path / "Contacts.data").read_bytes()
    ffs = tmp_path / "ffs.zip"
    with zipfile.ZipFile(ffs, "w") as zf:
        zf.writestr("filesystem1/private/var/mobile/Containers/Shared/AppGroup/0A1B2C3D-AAAA-BBBB-CCCC-000000000001/"
                    "com.viber/database/Contacts.data", data)
    examiner = examiners.init_examiner("Mira Mobile", "mira")
    case = Case.init(tmp_path / "case", number="2026/17", title="Viber iOS", authority="W-17",
                     authority_date="2026-11-01", examiner=examiner)
    try:
        add_exhibit(case, ffs, "F2", examiner)
        process_exhibit(case, "F2", examiner, hashes=("sha256",))
        build_native(case, "F2", examiner)
        got = [e for e in store.query(case.db, store.Query(exhibit="F2", source="native"))
               if e.parser == "evidencekit/viber_ios"]
        assert {e.extra.get("text") for e in got} >= {RU, KK, UZ} and len(got) == 5
    finally:
        case.close()
