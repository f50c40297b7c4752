"""App databases found by their real path in an exhibit's inventory, on any kind of exhibit.

The messenger readers (``timeline.messengers``) apply wherever the file is listed under its real
name: a disk image, an FFS zip or tar, an ``adb backup``, a UFDR (device paths), a folder. The
database (and its ``-wal``, which holds the newest messages) is copied from the evidence through
its locator into a temporary folder and opened there: the evidence is never written. A UFDR's
decoded items (report.xml) are read too.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from evidencekit.errors import CredentialError, EvidenceError
from evidencekit.models import Locator
from evidencekit.timeline.events import TimelineEvent
from evidencekit.timeline.messengers import AppReader, UnknownSchema
from evidencekit.timeline.native import Located, readers


def _rows(db: sqlite3.Connection, exhibit: str, suffixes: tuple[str, ...]) -> list[tuple[str, str, str | None]]:
    where = " OR ".join("path LIKE ?" for _ in suffixes)
    rows = db.execute(f"SELECT path, locator, sha256 FROM files WHERE exhibit = ? AND type = 'file' AND ({where}) "
                      "ORDER BY seq", (exhibit, *("%" + s for s in suffixes))).fetchall()
    return [r for r in rows if r[0].endswith(suffixes)]


def _copy(ev: Any, locator: str, dest: Path) -> str:
    digest = hashlib.sha256()
    with ev.open_locator(Locator.from_json(locator)) as src, open(dest, "wb") as out:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def read_apps(db: sqlite3.Connection, exhibit: str, kind: str, open_evidence: Callable[[], Any],
              warnings: list[str], credentials_given: bool = False) -> Iterator[TimelineEvent]:
    """Events of every messenger database the exhibit's inventory lists; a failure is a warning,
    except a refused password or key the caller gave (``credentials_given``), which raises.
    The evidence is opened (``open_evidence()``) only when there is something to read in it."""
    found = [(n, name, reader.read, row) for n, (name, reader) in enumerate(readers(AppReader))
             for row in _rows(db, exhibit, reader.suffixes)]
    if not found and kind != "ufdr":
        return
    try:
        evidence = open_evidence()
    except CredentialError as err:
        if credentials_given:
            raise  # a wrong password is the examiner's to correct, as in case process
        warnings.append(f"app databases not read: {err}")
        return
    except EvidenceError as err:
        warnings.append(f"app databases not read: {err}")
        return
    with evidence, tempfile.TemporaryDirectory() as tmp:
        for i, (n, name, reader, (path, locator, sha)) in enumerate(found):
            copy = Path(tmp) / f"{n}-{i}.db"
            try:
                copied = _copy(evidence, locator, copy)
                wal = db.execute("SELECT locator FROM files WHERE exhibit = ? AND path = ?",
                                 (exhibit, path + "-wal")).fetchone()
                if wal:
                    _copy(evidence, wal[0], Path(str(copy) + "-wal"))
                con = sqlite3.connect(copy)
                partly: list[str] = []
                try:
                    yield from reader(con, Located(path, path, copy, sha or copied, Locator.from_json(locator)), exhibit,
                                      partly)
                finally:
                    con.close()
                    warnings.extend(f"{name}: {path}: {w}" for w in partly)
            except (UnknownSchema, sqlite3.Error, EvidenceError, OSError, ValueError) as err:
                warnings.append(f"{name}: {path}: {err}")
        if kind == "ufdr":
            from evidencekit.timeline.ufdr_items import decoded_events

            yield from decoded_events(evidence, exhibit, warnings)
