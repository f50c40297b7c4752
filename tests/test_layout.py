"""Repository conventions that, broken, fail only in some test orders or only in CI."""

from __future__ import annotations

import re

from ektools import ROOT

IMPORT_CONFTEST = re.compile(r"^\s*(from (tests\.)?conftest import|import conftest)", re.MULTILINE)


def test_tests_import_shared_helpers_from_ektools():
    """Several folders have a conftest.py; `from conftest import` picks whichever loaded last."""
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("*.py") if IMPORT_CONFTEST.search(p.read_text())]
    assert offenders == []


def test_layers_never_reach_back():
    """No lower layer imports a higher one or the facade, no package cycle, no module over 400
    lines: ../shared/tools/layers.py (the team's check) must print nothing but a zero count."""
    import subprocess
    import sys

    import pytest

    from ektools import IN_CI

    tool = ROOT.parent / "shared" / "tools" / "layers.py"
    if not tool.is_file():
        if IN_CI:
            pytest.fail(f"{tool} missing (CI=true requires ../shared)")
        pytest.skip(f"{tool} not present")
    out = subprocess.run([sys.executable, str(tool), str(ROOT / "src")], capture_output=True, text=True, check=False)
    assert out.stdout.strip().splitlines()[-1].startswith("0 backwards imports or package cycles, 0 modules"), out.stdout


def test_registry_loads_every_builtin_plugin():
    """Every built-in registers through the plugin registry, as a third-party plugin would."""
    from evidencekit.registry import builtin_plugins, registry

    plugins = registry()
    assert builtin_plugins()
    assert [i.name for i in plugins.items("source")][-1] == "disk_image"  # the catch-all comes last
    for kind in ("source", "reader", "digest", "schema", "exporter", "sop_action", "training", "command"):
        assert plugins.items(kind), kind
        for item in plugins.items(kind):
            if isinstance(item.target, str) and ":" in item.target:
                assert plugins.resolve(item) is not None, item


def test_file_columns_follow_the_record():
    """The ``files`` table holds every FileRecord field (the locator as text, the case's own
    columns besides), and the listing columns are the record's fields."""
    import dataclasses
    import sqlite3

    from evidencekit.case.rows import FILE_COLUMNS
    from evidencekit.case.schema import migrations
    from evidencekit.exporters.files import COLUMNS
    from evidencekit.models import FileRecord

    fields = [f.name for f in dataclasses.fields(FileRecord)]
    db = sqlite3.connect(":memory:")
    for m in migrations():
        db.executescript(m.sql)
    table = [r[1] for r in db.execute("PRAGMA table_info(files)")]
    assert set(fields) <= set(table) and set(FILE_COLUMNS) <= set(table)
    assert set(FILE_COLUMNS) - {"exhibit", "seq", "ext"} == set(fields)
    # the listing renders times at their precision (time_digits) and names its zone instead; a
    # name's raw bytes (raw_name) are a JSONL key only when there are any, and in its warning in CSV
    assert set(COLUMNS) == set(fields) - {"time_digits", "raw_name"} | {"display_zone"}
