"""libmagic types and the extension-mismatch table (real libmagic, no mocks)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evidencekit.scan.magic import EXTENSION_TYPES, TypeIdentifier, extension_mismatch, extension_of
from scan.conftest import JPEG, PE, PNG

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ident() -> TypeIdentifier:
    return TypeIdentifier()


def test_jpeg_named_txt_is_a_mismatch(ident: TypeIdentifier) -> None:
    t = ident.identify("/Users/x/photo.TXT", JPEG)
    assert t.mime == "image/jpeg"
    assert "JPEG" in t.description
    assert t.extension == "txt"
    assert t.mismatch is True


def test_executable_named_pdf_is_a_mismatch(ident: TypeIdentifier) -> None:
    t = ident.identify("invoice.pdf", PE)
    assert t.mime in EXTENSION_TYPES["exe"]
    assert t.mismatch is True
    assert ident.identify("setup.exe", PE).mismatch is False


def test_agreeing_unknown_and_empty(ident: TypeIdentifier) -> None:
    assert ident.identify("logo.png", PNG).mismatch is False
    assert ident.identify("notes.txt", b"plain words\n" * 10).mismatch is False
    assert ident.identify("blob.xyz123", JPEG).mismatch is None  # extension not in the table
    assert ident.identify("noext", JPEG).mismatch is None
    empty = ident.identify("empty.pdf", b"")
    assert empty.mismatch is None and "empty" in empty.mime


def test_head_limit_and_cache_give_the_same_answer(ident: TypeIdentifier) -> None:
    small = TypeIdentifier(head_bytes=16)
    assert small.identify("a.jpg", JPEG).mime == "image/jpeg"
    first = ident.identify("a.png", PNG)
    assert ident.identify("b.png", PNG).mime == first.mime  # cached by content, name applied after


def test_extension_of() -> None:
    assert extension_of("dir.d/archive.tar.GZ") == "gz"
    assert extension_of("C:\\Users\\x\\Report.DOCX") == "docx"
    assert extension_of(".bashrc") is None
    assert extension_of("trailingdot.") is None
    assert extension_mismatch("x.jpeg", "image/jpeg") is False
    assert extension_mismatch("x.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document") is False


def test_docs_list_every_extension_of_the_table() -> None:
    doc = (ROOT / "docs" / "scan.md").read_text()
    listed = set(re.findall(r"`\.([a-z0-9]+)`", doc))
    assert set(EXTENSION_TYPES) <= listed, sorted(set(EXTENSION_TYPES) - listed)


def test_libmagic_fallbacks_give_the_mime_skipped_by_the_shortcut() -> None:
    """The shortcut for "data"/"empty" must equal libmagic's own MIME answer for them."""
    import random

    import magic

    from evidencekit.scan.magic import DEFAULT_MIMES

    rng = random.Random(3)
    desc, mime = magic.Magic(), magic.Magic(mime=True)
    samples = [b""] + [rng.randbytes(rng.randint(1, 8192)) for _ in range(300)]
    seen = set()
    for buf in samples:
        d = desc.from_buffer(buf)
        if d in DEFAULT_MIMES:
            seen.add(d)
            assert mime.from_buffer(buf) == DEFAULT_MIMES[d]
    assert seen == set(DEFAULT_MIMES)
