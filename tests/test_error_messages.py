"""The library's error messages in Russian: errors carry a template and parameters, the CLI renders
them through the ``errors`` catalogue; every literal template has a translation (a new message
without one fails here), plural forms come from the catalogue, and English stays exact."""

from __future__ import annotations

import ast
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from ektools import need_tool
from evidencekit import errors, i18n
from evidencekit.sop.yamlsrc import Problem, SopValidationError

SRC = Path(__file__).resolve().parent.parent / "src" / "evidencekit"
RU = i18n.translations("errors", "ru")


def _error_classes() -> set[str]:
    import evidencekit.cli  # noqa: F401 - imports the modules defining further error classes
    import evidencekit.extract  # noqa: F401
    import evidencekit.sop.runner  # noqa: F401

    found, todo = set(), [errors.EvidenceKitError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo += cls.__subclasses__()
    return found


def _literal_templates() -> dict[str, str]:
    """Every string literal an error class is raised with (both arms of a conditional): where."""
    names, found = _error_classes(), {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in names and node.args:
                first = node.args[0]
                for arm in (first.body, first.orelse) if isinstance(first, ast.IfExp) else (first,):
                    if isinstance(arm, ast.Constant) and isinstance(arm.value, str):
                        found.setdefault(arm.value, f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_every_literal_error_template_has_a_russian_translation() -> None:
    templates = _literal_templates()
    assert len(templates) > 40
    missing = [f"{where}: {text!r}" for text, where in templates.items() if RU.gettext(text) == text]
    assert missing == []


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evidencekit", *args], capture_output=True, text=True,
                          env={**os.environ, "LANG": "C.UTF-8", "LC_ALL": ""})


def test_real_error_lines_in_russian_and_english(tmp_path: Path) -> None:
    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes(range(256)) * 64)
    got = _cli("--lang", "ru", "files", str(noise))
    assert got.returncode == 2 and got.stderr == (
        f"evidencekit: ошибка: {noise}: файловая система не распознана (это не образ диска, либо файловая "
        "система не поддерживается или повреждена)\n")
    assert _cli("files", str(noise)).stderr == (
        f"evidencekit: error: {noise}: no file system recognised (not a disk image, or an unsupported or "
        "damaged file system)\n")
    assert _cli("--lang", "ru", "info", str(tmp_path / "absent.E01")).stderr == (
        f"evidencekit: ошибка: {tmp_path / 'absent.E01'}: нет такого файла или папки\n")
    assert _cli("--lang", "ru", "case", "status", str(tmp_path)).stderr == (
        f"evidencekit: ошибка: {tmp_path}: это не дело (нет case.db)\n")


def test_wrong_zip_password_in_russian(tmp_path: Path) -> None:
    need_tool("zip")
    (tmp_path / "secret.txt").write_text("hidden\n")
    archive = tmp_path / "locked.zip"
    subprocess.run(["zip", "-q", "-P", "right", str(archive), "secret.txt"], cwd=tmp_path, check=True)
    got = _cli("--lang", "ru", "files", str(archive), "--password", "wrong")
    assert got.returncode == 2
    assert got.stderr == f"evidencekit: ошибка: {archive}: неверный пароль для зашифрованных файлов zip\n"


def test_template_parameters_nesting_and_worker_processes() -> None:
    inner = errors.EvidenceError("{path}: cannot be read: {cause}", path="/x.E01", cause="I/O error")
    outer = errors.CaseError("{path}: case is busy (another process is writing to it): {cause}", path="/c",
                             cause=inner)
    assert str(outer) == "/c: case is busy (another process is writing to it): /x.E01: cannot be read: I/O error"
    assert errors.render(outer, RU) == ("/c: дело занято (в него пишет другой процесс): "
                                        "/x.E01: не удаётся прочитать: I/O error")
    assert errors.render(outer) == str(outer)  # no catalogue: English
    back = pickle.loads(pickle.dumps(outer))  # as from a worker process
    assert type(back) is errors.CaseError and errors.render(back, RU) == errors.render(outer, RU)
    plain = errors.EvidenceError("not a LUKS volume (no LUKS signature)")
    assert errors.render(plain, RU) == "не том LUKS (нет сигнатуры LUKS)"
    untranslated = errors.EvidenceError("/x: some f-string message")
    assert errors.render(untranslated, RU) == "/x: some f-string message"


@pytest.mark.parametrize(("n", "russian"), [(1, "ошибка"), (2, "ошибки"), (5, "ошибок"), (21, "ошибка"),
                                            (12, "ошибок")])
def test_plural_forms_of_an_error_come_from_the_catalogue(n: int, russian: str) -> None:
    problems = [Problem("sop.yaml", i + 1, 1, "", "bad step") for i in range(n + 1)]
    err = SopValidationError(problems)
    assert str(err) == f"sop.yaml:1:1: bad step (and {n} more problems)"  # English as before
    assert errors.render(err, RU) == f"sop.yaml:1:1: bad step (и ещё {n} {russian})"


def test_encrypted_ios_backup_lines_in_russian(tmp_path: Path) -> None:
    from mobile.ios_builder import write_encrypted_backup

    folder = write_encrypted_backup(tmp_path / "bk", "тест-1234", {("HomeDomain", "Library/a.txt"): b"a" * 64})
    wrong = _cli("--lang", "ru", "files", str(folder), "--password", "1234")
    assert wrong.returncode == 2
    assert wrong.stderr == f"evidencekit: ошибка: {folder}: неверный пароль для зашифрованной резервной копии iOS\n"
    missing = _cli("--lang", "ru", "files", str(folder))
    assert missing.returncode == 2 and missing.stderr == (
        f"evidencekit: ошибка: {folder}: резервная копия iOS зашифрована: укажите пароль резервной копии "
        "(--password)\n")
    assert _cli("files", str(folder)).stderr == (
        f"evidencekit: error: {folder}: the iOS backup is encrypted: give its backup password (--password)\n")


def test_hash_set_and_four_eyes_lines_in_russian(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listing = tmp_path / "h.txt"
    listing.write_text("d41d8cd98f00b204e9800998ecf8427e\n")
    monkeypatch.setenv("EVIDENCEKIT_HOME", str(tmp_path / "home"))
    got = _cli("--lang", "ru", "hashset", "import", "--kind", "known-bad", "bad name!", str(listing))
    assert got.returncode == 2 and got.stderr == (
        "evidencekit: ошибка: имя набора хешей 'bad name!': используйте буквы, цифры, «.», «_» или «-» "
        "(не более 64)\n")
    assert not (tmp_path / "home" / "hashsets" / "bad name!").exists()
    refused = errors.ValidationError(
        "review {step} needs an examiner other than {examiner}, who performed {performed} (four-eyes): a review "
        "by the same examiner is refused", step="r1", examiner="ivanov", performed="s1, s2")
    assert str(refused) == ("review r1 needs an examiner other than ivanov, who performed s1, s2 (four-eyes): "
                            "a review by the same examiner is refused")
    assert errors.render(refused, RU) == ("для проверки r1 нужен эксперт, отличный от ivanov, выполнившего s1, s2 "
                                          "(принцип четырёх глаз): проверка тем же экспертом не принимается")
