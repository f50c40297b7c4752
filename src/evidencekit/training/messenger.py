"""Scenario android-messenger: an encrypted ``adb backup`` (.ab v5, AES-256, compressed) of a phone
whose WhatsApp and Telegram chats (Russian, Kazakh) hold the arrangement the questions ask about."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evidencekit.training import messenger_dbs as dbs
from evidencekit.training.adb import Member, write_backup
from evidencekit.training.android import ms
from evidencekit.training.tools import epoch

NAME = "android-messenger"
TOOLS: tuple[str, ...] = ()  # Python standard library and cryptography only
PASSWORD = "Qaragandy-2021"
COURIER = "77015550142@s.whatsapp.net"
MEETING = "Завтра в 21:30, Алматы, Сайран, парковка у ТРЦ. Флешку отдашь Ерлану."
WHATSAPP = [  # (time UTC, from me, text, media path)
    ("2021-09-02 14:02:11.250", False, "Сәлем! Құжаттар дайын ба?", None),
    ("2021-09-02 14:05:40.812", True, "Дайын. Бухгалтерия за три года, всё на флешке.", None),
    ("2021-09-02 14:07:02.004", False, MEETING, None),
    ("2021-09-02 14:08:19.377", True, "Понял. Деньги как договаривались?", None),
    ("2021-09-02 14:09:55.090", False, "Иә, 4 500 000 теңге қолма-қол.",
     "Media/WhatsApp Images/IMG-20210902-WA0003.jpg"),
]
CALL = ("2021-09-03 16:20:05.501", True, 94)
TELEGRAM_ME, TELEGRAM_PEER = 5_123_456_789, 6_987_654_321
TELEGRAM = [(1201, "2021-09-03 15:58:40", False, "Ерлан будет в сером Chevrolet Cobalt, номер 777 ABA 02."),
            (1202, "2021-09-03 16:01:12", True, "Принято.")]


def _members(work: Path) -> list[Member]:
    msgstore = dbs.whatsapp_android(
        work / "msgstore.db", {COURIER: [(ms(t), mine, text, media) for t, mine, text, media in WHATSAPP]},
        calls=[(COURIER, ms(CALL[0]), CALL[1], CALL[2])])
    cache4 = dbs.telegram(work / "cache4.db", TELEGRAM_ME, {TELEGRAM_PEER: "Ерлан Сейтжанов"},
                          [(mid, TELEGRAM_PEER, epoch(t), out, text) for mid, t, out, text in TELEGRAM])
    when = epoch("2021-09-04 09:12:00")
    return [
        Member("apps/com.whatsapp/_manifest", b"1\ncom.whatsapp\n212130\n30\n1\n0\n", when, 0o600),
        Member("apps/com.whatsapp/db", None, when, 0o771),
        Member("apps/com.whatsapp/db/msgstore.db", msgstore.read_bytes(), epoch("2021-09-03 16:21:40"), 0o660),
        Member("apps/org.telegram.messenger/_manifest", b"1\norg.telegram.messenger\n24109\n30\n1\n0\n", when, 0o600),
        Member("apps/org.telegram.messenger/f", None, when, 0o771),
        Member("apps/org.telegram.messenger/f/cache4.db", cache4.read_bytes(), epoch("2021-09-03 16:01:15"), 0o660),
    ]


def build(work: Path, out: Path) -> dict[str, Any]:
    write_backup(out / "phone.ab", _members(work), version=5, compressed=True, password=PASSWORD,
                 seed=NAME, rounds=10000)
    meeting = next(t for t, _mine, text, _m in WHATSAPP if text == MEETING)
    return {"meeting_text": MEETING, "meeting_time": meeting.replace(" ", "T") + "Z", "courier_jid": COURIER,
            "whatsapp_messages": len(WHATSAPP), "car_plate": "777 ABA 02", "payment_tenge": 4_500_000}
