"""Small, deterministic stand-ins for everyday files: a JPEG with EXIF, a DOCX, a ZIP."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterable

ZIP_TIME = (2021, 6, 1, 8, 0, 0)


def _ifd(entries: list[tuple[int, int, int, bytes]], start: int, next_ifd: int = 0) -> bytes:
    """A big-endian TIFF IFD at offset ``start``; values longer than 4 bytes follow the IFD."""
    body = struct.pack(">H", len(entries))
    extra = b""
    data_at = start + 2 + 12 * len(entries) + 4
    for tag, typ, count, value in entries:
        if len(value) <= 4:
            body += struct.pack(">HHI", tag, typ, count) + value.ljust(4, b"\0")
        else:
            body += struct.pack(">HHII", tag, typ, count, data_at + len(extra))
            extra += value + b"\0" * (len(value) % 2)
    return body + struct.pack(">I", next_ifd) + extra


def _ascii(tag: int, text: str) -> tuple[int, int, int, bytes]:
    raw = text.encode("ascii") + b"\0"
    return (tag, 2, len(raw), raw)


def exif_segment(make: str, model: str, taken: str) -> bytes:
    """APP1 Exif segment: IFD0 Make/Model/DateTime and an Exif IFD with DateTimeOriginal."""
    ifd0_entries = [_ascii(0x010F, make), _ascii(0x0110, model), _ascii(0x0132, taken)]
    ifd0_len = len(_ifd([*ifd0_entries, (0x8769, 4, 1, b"\0\0\0\0")], 8))
    exif_at = 8 + ifd0_len
    ifd0 = _ifd([*ifd0_entries, (0x8769, 4, 1, struct.pack(">I", exif_at))], 8)
    exif_ifd = _ifd([_ascii(0x9003, taken), _ascii(0x9004, taken)], exif_at)
    tiff = b"MM\0*" + struct.pack(">I", 8) + ifd0 + exif_ifd
    payload = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def jpeg(make: str, model: str, taken: str, width: int = 64, height: int = 48) -> bytes:
    """A valid baseline greyscale JPEG (flat grey, one-code Huffman tables) carrying EXIF."""
    def seg(marker: int, body: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body

    dqt = seg(0xDB, b"\x00" + b"\x01" * 64)
    sof = seg(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    one_code = bytes([1] + [0] * 15) + b"\x00"  # one code of length 1 -> symbol 0
    dht = seg(0xC4, b"\x00" + one_code + b"\x10" + one_code)
    sos = seg(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    bits = "00" * blocks  # per block: DC difference 0, then end-of-block
    bits += "1" * (-len(bits) % 8)
    scan = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    return b"\xff\xd8" + exif_segment(make, model, taken) + dqt + sof + dht + sos + scan + b"\xff\xd9"


def deterministic_zip(members: Iterable[tuple[str, bytes]], when: tuple[int, ...] = ZIP_TIME) -> bytes:
    """Zip with fixed times, Unix creator and permissions, deflate level 9."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=when)  # type: ignore[arg-type]
            info.create_system = 3
            info.external_attr = (0o40755 << 16 | 0x10) if name.endswith("/") else (0o100644 << 16)
            info.compress_type = zipfile.ZIP_STORED if name.endswith("/") else zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=9)
    return buf.getvalue()


def docx(paragraphs: list[str], when: tuple[int, ...] = ZIP_TIME) -> bytes:
    """A minimal Word document (WordprocessingML) that office suites open."""
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
    )
    document = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<w:document xmlns:w="{ns}"><w:body>{body}</w:body></w:document>')
    return deterministic_zip([("[Content_Types].xml", content_types.encode()), ("_rels/.rels", rels.encode()),
                              ("word/document.xml", document.encode())], when)


def pe_stub(strings: list[str], timestamp: int) -> bytes:
    """A small PE32 executable image (headers + one .data section holding ``strings``)."""
    dos = bytearray(64)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 60, 0x80)
    stub = b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21This program cannot be run in DOS mode.\r\r\n$"
    head = bytes(dos) + stub.ljust(0x80 - 64, b"\0")
    coff = struct.pack("<HHIIIHH", 0x14C, 1, timestamp, 0, 0, 224, 0x0102)
    opt = bytearray(224)
    struct.pack_into("<HBB", opt, 0, 0x10B, 14, 0)
    struct.pack_into("<I", opt, 16, 0x1000)  # entry point
    struct.pack_into("<III", opt, 28, 0x400000, 0x1000, 0x200)  # image base, alignments
    struct.pack_into("<HH", opt, 48, 6, 0)  # subsystem version
    struct.pack_into("<II", opt, 56, 0x2000, 0x200)  # image size, header size
    struct.pack_into("<H", opt, 68, 2)  # GUI subsystem
    struct.pack_into("<I", opt, 92, 16)  # number of data directories
    data = "\0".join(strings).encode() + b"\0"
    raw_size = (len(data) + 0x1FF) & ~0x1FF
    section = struct.pack("<8sIIIIIIHHI", b".data", len(data), 0x1000, raw_size, 0x200, 0, 0, 0, 0, 0xC0000040)
    headers = (head + b"PE\0\0" + coff + bytes(opt) + section).ljust(0x200, b"\0")
    return headers + data.ljust(raw_size, b"\0")
