"""Repository conventions that, broken, fail only in some test orders or only in CI."""

from __future__ import annotations

import re

from ektools import ROOT

IMPORT_CONFTEST = re.compile(r"^\s*(from (tests\.)?conftest import|import conftest)", re.MULTILINE)


def test_tests_import_shared_helpers_from_ektools():
    """Several folders have a conftest.py; `from conftest import` picks whichever loaded last."""
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("*.py") if IMPORT_CONFTEST.search(p.read_text())]
    assert offenders == []
