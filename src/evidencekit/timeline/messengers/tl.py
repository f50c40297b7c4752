"""The TL-serialised ``Message`` of Telegram's API, as far as a timeline needs it.

Telegram for Android keeps each message as the API object, serialised as TL: little-endian
ints, 8-byte longs, strings with a 1-byte (or 0xFE + 3-byte) length padded to 4 bytes, and a
4-byte constructor id before each object. The constructor ids and field orders below are those of
the public schema (tdlib's ``telegram_api.tl`` through its history, layers 71 to 214), for the
fields up to ``peer_id``: sender (``from_id``), dialog and, for a service message, the action
after ``date``. Fields after ``peer_id`` (the reply header, forward header, ...) nest objects of
their own and change with each layer, so ``date`` is found as the row's date itself, 4-byte
aligned (see ``telegram.py``). Hand-written: no PyPI library decodes stored TL without the
matching layer's generated classes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# constructor -> (service message?, flags2 present?, from_id a Peer (else an int user id)?,
#                 from_boosts_applied:flags.29?int present?, from_rank:flags2.12?string present?)
MESSAGE_LAYOUTS: dict[int, tuple[bool, bool, bool, bool, bool]] = {
    **{c: (False, False, False, False, False) for c in (0x44F9B43D, 0x452C0E65, 0xF52E6B7F, 0x8A7E027D)},
    0x9E19A1F6: (True, False, False, False, False),  # messageService, to layer 118 (from_id:int to_id:Peer)
    **{c: (False, False, True, False, False) for c in (0x58AE39C9, 0xBCE383D2, 0x85D6CBE2, 0x38116EE0, 0x76BEC211)},
    **{c: (True, False, True, False, False) for c in (0x286FA604, 0x2B085862, 0xD3D28540, 0x7A800E0A)},
    **{c: (False, False, True, True, False) for c in (0x1E4C8A69, 0xA66C7EFC)},
    **{c: (False, True, True, True, False) for c in (0x2357BF25, 0x94345242, 0x96FDBBE9, 0xEABCDD4D, 0x9815CEC8,
                                                     0xB92F76CF, 0x9CB490E9)},
    **{c: (False, True, True, True, True) for c in (0x3AE56482, 0x95EF6F2B, 0x7600B9D3)},
}
MESSAGE_EMPTY = 0x90A6CA84
# Peer constructors: kind and whether the id is a long (layer 133 on) or an int
PEERS = {0x59511722: ("user", True), 0x36C6019A: ("chat", True), 0xA2A5371E: ("channel", True),
         0x9DB1BC6D: ("user", False), 0xBAD0E5BB: ("chat", False), 0xBDDDE532: ("channel", False)}
PHONE_CALL = 0x80E11A7F  # messageActionPhoneCall flags:# video:flags.2?true call_id:long reason:flags.0? duration:flags.1?int
DISCARD_REASONS = {0x85E42301: "missed", 0xE095C1A0: "disconnected", 0x57ADC690: "hung up", 0xFAF7E8C9: "busy",
                   0x9FBBF1F7: "moved to a conference call"}


class TLError(ValueError):
    """The blob is not in a layout this module knows (the message names the constructor)."""


@dataclass(frozen=True)
class Peer:
    kind: str  # "user" | "chat" | "channel"
    id: int


@dataclass(frozen=True)
class Header:
    """The fields of a stored message up to ``peer_id``; ``end`` is the offset after them."""

    constructor: int
    service: bool
    flags: int
    from_id: Peer | None
    peer: Peer
    end: int


@dataclass(frozen=True)
class Call:
    video: bool
    reason: str | None  # None: not stated
    duration: int | None


class _Reader:
    def __init__(self, blob: bytes, pos: int = 0):
        self.blob, self.pos = blob, pos

    def i32(self) -> int:
        return self._unpack("<i", 4)

    def uint(self) -> int:
        return self._unpack("<I", 4)

    def long(self) -> int:
        return self._unpack("<q", 8)

    def _unpack(self, fmt: str, size: int) -> int:
        if self.pos + size > len(self.blob):
            raise TLError(f"blob ends at byte {len(self.blob)} inside a field")
        (value,) = struct.unpack_from(fmt, self.blob, self.pos)
        self.pos += size
        return int(value)

    def string(self) -> bytes:
        length, start = self.blob[self.pos] if self.pos < len(self.blob) else -1, self.pos + 1
        if length == 254:
            length, start = int.from_bytes(self.blob[self.pos + 1:self.pos + 4], "little"), self.pos + 4
        if length < 0 or length == 255 or start + length > len(self.blob):
            raise TLError("bad string length")
        self.pos = start + length + (-(start + length - self.pos) % 4)
        return self.blob[start:start + length]

    def peer(self) -> Peer:
        ctor = self.uint()
        if ctor not in PEERS:
            raise TLError(f"unknown Peer constructor #{ctor:08x}")
        kind, wide = PEERS[ctor]
        return Peer(kind, self.long() if wide else self.i32())


def header(blob: bytes) -> Header:
    """The message's constructor, flags, sender and dialog; TLError for a layout not in the schema."""
    r = _Reader(blob)
    ctor = r.uint()
    if ctor not in MESSAGE_LAYOUTS:
        raise TLError(f"unknown Message constructor #{ctor:08x}" + (" (messageEmpty)" if ctor == MESSAGE_EMPTY else ""))
    service, has_flags2, peer_from, boosts, rank = MESSAGE_LAYOUTS[ctor]
    flags = r.uint()
    flags2 = r.uint() if has_flags2 else 0
    r.i32()  # id
    sender: Peer | None = None
    if flags & 1 << 8:
        sender = r.peer() if peer_from else Peer("user", r.i32())
    if boosts and flags & 1 << 29:
        r.i32()
    if rank and flags2 & 1 << 12:
        r.string()
    return Header(ctor, service, flags, sender, r.peer(), r.pos)


def call_action(blob: bytes, pos: int) -> Call | None:
    """The phone call at ``pos`` (an action's constructor); None when the action is another one."""
    r = _Reader(blob, pos)
    if r.uint() != PHONE_CALL:
        return None
    flags = r.uint()
    r.long()  # call_id
    reason = None
    if flags & 1:
        code = r.uint()
        reason = DISCARD_REASONS.get(code, f"reason #{code:08x}")
        if code == 0x9FBBF1F7:
            r.string()  # slug
    duration = r.i32() if flags & 2 else None
    return Call(bool(flags & 4), reason, duration)


def date_offsets(blob: bytes, date: int, start: int) -> list[int]:
    """Offsets (4-byte aligned, from ``start``) where the int ``date`` is stored."""
    needle, out, pos = struct.pack("<i", date), [], start
    while (pos := blob.find(needle, pos)) >= 0:
        if pos % 4 == 0:
            out.append(pos)
        pos += 1
    return out
