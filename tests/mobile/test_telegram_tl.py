"""Telegram for Android: calls (service messages) and group senders read from the TL blob.

The blobs are serialised by Telethon's generated API classes (an independent TL writer, layer
of its release), and by hand for an old layer and an unknown constructor."""

from __future__ import annotations

import sqlite3
import struct
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from evidencekit.models import Locator
from evidencekit.timeline.messengers import telegram, tl
from evidencekit.training import messenger_dbs as dbs

types = pytest.importorskip("telethon.tl.types")
KK, RU = "Сәлем, қалың қалай?", "Перезвони мне"
T = 1_623_691_809
ME, RUSTAM, CHAT = 111, 222, 500


def _at(n: int) -> datetime:
    return datetime.fromtimestamp(T + n, UTC)


def _rows() -> list[tuple[int, int, int, bytes, bool]]:
    """(mid, dialog uid, date, blob, out) as cache4.db's messages_v2 holds them."""
    group = types.Message(id=1, peer_id=types.PeerChat(CHAT), date=_at(0), message=KK, from_id=types.PeerUser(RUSTAM))
    call = types.MessageService(id=2, peer_id=types.PeerUser(RUSTAM), date=_at(60), out=True,
                                from_id=types.PeerUser(ME), reply_to=types.MessageReplyHeader(reply_to_msg_id=1),
                                action=types.MessageActionPhoneCall(call_id=9, duration=131,
                                                                    reason=types.PhoneCallDiscardReasonHangup()))
    missed = types.MessageService(id=3, peer_id=types.PeerUser(RUSTAM), date=_at(120), from_id=types.PeerUser(RUSTAM),
                                  action=types.MessageActionPhoneCall(call_id=10, video=True,
                                                                      reason=types.PhoneCallDiscardReasonMissed()))
    joined = types.MessageService(id=4, peer_id=types.PeerChat(CHAT), date=_at(180), from_id=types.PeerUser(RUSTAM),
                                  action=types.MessageActionChatAddUser(users=[ME]))
    # message#44f9b43d (layer 71): flags, id, from_id:int (flags.8), to_id:peerChat#bad0e5bb int, date, message
    old = struct.pack("<IIiiIii", 0x44F9B43D, 1 << 8, 5, RUSTAM, 0xBAD0E5BB, CHAT, T + 240) + dbs.tl_string(RU)
    unknown = [struct.pack("<IIi", 0x0BADC0DE, 0, T + n) + dbs.tl_string(RU) for n in (300, 301)]
    return [(1, -CHAT, T, bytes(group), False), (2, RUSTAM, T + 60, bytes(call), True),
            (3, RUSTAM, T + 120, bytes(missed), False), (4, -CHAT, T + 180, bytes(joined), False),
            (5, -CHAT, T + 240, old, False), (6, RUSTAM, T + 300, unknown[0], False),
            (7, RUSTAM, T + 301, unknown[1], False)]


@pytest.fixture(scope="module")
def events_and_warnings(tmp_path_factory):
    path = tmp_path_factory.mktemp("tg") / "cache4.db"
    con = sqlite3.connect(path)
    con.executescript(dbs.TELEGRAM)
    con.execute("INSERT INTO users VALUES (?, ?, 0, NULL)", (RUSTAM, "рустам алиев;;;rustam"))
    con.execute("INSERT INTO chats VALUES (?, ?, NULL)", (CHAT, "Семья"))
    for mid, uid, date, blob, out in _rows():
        con.execute("INSERT INTO messages_v2 (mid, uid, read_state, send_state, date, data, out, ttl, media) "
                    "VALUES (?, ?, 3, 0, ?, ?, ?, 0, 0)", (mid, uid, date, blob, int(out)))
    con.commit()
    found = SimpleNamespace(real=str(path), sha256="0" * 64, locator=Locator(str(path), {"type_indicator": "OS"}))
    warnings: list[str] = []
    events = list(telegram.android(con, found, "E1", warnings))
    con.close()
    return {e.extra["record"]: e for e in events}, warnings


def test_group_message_names_its_sender(events_and_warnings):
    events, _ = events_and_warnings
    assert events[1].extra["text"] == KK and events[1].extra["chat"] == "-500 (Семья)"
    assert events[1].extra["sender"] == "222 (рустам алиев)" and events[1].extra["direction"] == "incoming"
    assert events[5].extra["text"] == RU and events[5].extra["sender"] == "222 (рустам алиев)"  # layer 71 layout


def test_calls_from_service_messages(events_and_warnings):
    events, _ = events_and_warnings
    out, missed = events[2], events[3]
    assert out.extra["data_type"] == "telegram_android:call" and out.timestamp_desc == "Call Start"
    assert (out.extra["direction"], out.extra["duration"], out.extra["text"]) == ("outgoing", 131, "voice call, hung up")
    assert out.time == (T + 60) * 1_000_000_000
    assert (missed.extra["direction"], missed.extra["text"], missed.extra["sender"]) == \
        ("incoming", "video call, missed", "222 (рустам алиев)")
    assert "duration" not in missed.extra
    assert events[4].extra["data_type"] == "telegram_android:message" and events[4].extra["text"] == "(service message)"


def test_unknown_constructor_keeps_the_text_and_is_one_warning(events_and_warnings):
    events, warnings = events_and_warnings
    assert events[6].extra["text"] == RU and events[7].extra["text"] == RU
    assert warnings == ["messages_v2: unknown Message constructor #0badc0de in 2 row(s): text found from the date, "
                        "sender and calls not read"]


def test_header_offsets_agree_with_the_serialiser():
    """The header ends where Telethon's own field order puts date (an independent check of the layouts)."""
    msg = types.Message(id=9, peer_id=types.PeerChannel(77), date=_at(0), message="x", from_id=types.PeerUser(5),
                        from_boosts_applied=3, post_author="a")
    blob = bytes(msg)
    head = tl.header(blob)
    assert head.constructor == types.Message.CONSTRUCTOR_ID and head.from_id == tl.Peer("user", 5)
    assert head.peer == tl.Peer("channel", 77) and struct.unpack_from("<i", blob, head.end)[0] == T
