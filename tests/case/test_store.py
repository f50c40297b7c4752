"""The case store API other layers code against: init/open, actions, migrations."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidencekit.case import Case, custody, examiners, ledger, schema
from evidencekit.errors import CaseError, CustodyError


def test_init_into_empty_dir_and_open(tmp_path: Path, examiner: examiners.Examiner) -> None:
    (tmp_path / "c").mkdir()
    case = Case.init(tmp_path / "c", number="N", title="T", authority="A", authority_date="2026-01-02",
                     examiner=examiner)
    assert sorted(p.name for p in case.root.iterdir() if not p.name.startswith("case.db-")) == [
        "case.db", "exports", "reports"]
    again = Case.open(tmp_path / "c")
    assert again.id == case.id and again.meta["authority_date"] == "2026-01-02"
    assert schema.schema_version(again.db) == schema.schema_version_supported()
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [e.action for e in again.entries()] == ["created"]


def test_action_commits_results_with_entry(case: Case, examiner: examiners.Examiner) -> None:
    with case.run("note", examiner=examiner, details={"text": "x"}) as act:
        act.db.execute("INSERT INTO case_meta (key, value) VALUES ('probe', '1')")
        act.outputs["db:probe/none"] = "v"
    assert act.entry is not None and act.entry.body["outputs"] == {"db:probe/none": "v"}
    assert case.db.execute("SELECT value FROM case_meta WHERE key = 'probe'").fetchone() == ("1",)


def test_failed_action_leaves_neither_results_nor_entry(case: Case, examiner: examiners.Examiner) -> None:
    before = len(case.entries())
    with pytest.raises(RuntimeError), case.run("note", examiner=examiner) as act:
        act.db.execute("INSERT INTO case_meta (key, value) VALUES ('probe', '1')")
        raise RuntimeError("boom")
    with pytest.raises(CaseError, match="database error: UNIQUE constraint failed"), \
            case.run("note", examiner=examiner) as act:
        act.db.execute("INSERT INTO case_meta (key, value) VALUES ('probe2', '1')")
        act.db.execute("INSERT INTO case_meta (key, value) VALUES ('number', 'dup')")
    with pytest.raises(CaseError, match="no exhibit 'E9'"), case.run("note", examiner=examiner, exhibit="E9"):
        pass
    assert len(case.entries()) == before
    assert case.db.execute("SELECT count(*) FROM case_meta WHERE key LIKE 'probe%'").fetchone()[0] == 0
    assert custody.verify_case(case).ok


def test_unknown_action_and_foreign_key_refused(case: Case, examiner: examiners.Examiner) -> None:
    with pytest.raises(CustodyError, match="unknown custody action 'stolen'"), case.run("stolen", examiner=examiner):
        pass
    mallory = examiners.init_examiner("Mallory", "mallory")
    impostor = examiners.Examiner("alice", "Alice", mallory.public_key, mallory.fingerprint, mallory.private_key)
    with pytest.raises(CustodyError, match="differs from the key this case knows"), \
            case.run("note", examiner=impostor):
        pass
    assert len(case.entries()) == 1


def test_older_case_is_migrated(tmp_path: Path, examiner: examiners.Examiner,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A case written when only the first migration existed gets every later one on open."""
    with monkeypatch.context() as m:
        first = schema.migrations()[:1]
        m.setattr(schema, "migrations", lambda: first)
        m.setattr(schema, "schema_version_supported", lambda: 1)
        old = Case.init(tmp_path / "old", number="N", title="T", authority="A", examiner=examiner)
        assert schema.schema_version(old.db) == 1
        old.close()
    case = Case.open(tmp_path / "old")
    assert schema.schema_version(case.db) == schema.schema_version_supported() > 1
    tables = {r[0] for r in case.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "files_staging" not in tables and {"files", "ledger", "file_types"} <= tables
    assert custody.verify_case(case).ok


def test_migrations_split_statements() -> None:
    sql = "CREATE TABLE a (x TEXT DEFAULT ';'); CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END;"
    assert schema._statements(sql) == ["CREATE TABLE a (x TEXT DEFAULT ';');",
                                       "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END;"]


def test_command_line_secrets_are_masked() -> None:
    argv = ["evidencekit", "scan", "yara", "c", "--password", "hunter2", "--recovery-key=1234-5678", "-x"]
    assert ledger.redacted(argv) == ["evidencekit", "scan", "yara", "c", "--password", "***",
                                     "--recovery-key=***", "-x"]
