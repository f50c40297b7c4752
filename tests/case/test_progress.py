"""Progress with a total and the time left on a terminal for files, timeline build/export, custody
verify and training build; nothing on stderr in a pipe or with --quiet."""

from __future__ import annotations

from pathlib import Path

from case.util import bar_shows, on_a_terminal, run_cli, used_inodes
from evidencekit.case import Case, custody
from evidencekit.timeline import store


def _records(n: int) -> str:
    """Russian "entries" for ``n`` (1 запись, 2 записи, 5 записей, 11 записей, 21 запись)."""
    if n % 10 == 1 and n % 100 != 11:
        return "запись"
    return "записи" if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14) else "записей"


def test_files_counts_against_the_inodes_in_use(medium_image: Path, tmp_path: Path) -> None:
    used = used_inodes(medium_image)
    out = str(tmp_path / "files.jsonl")  # to a file: stdout is a pipe nobody reads meanwhile
    code, screen = on_a_terminal("files", str(medium_image), "--hash", "none", "-o", out)
    listed = len(Path(out).read_text().splitlines())
    assert code == 0 and abs(listed - used) < 20  # reserved inodes are not listed, deleted names are
    assert bar_shows(screen, "Listing", used) or bar_shows(screen, "Listing", listed)
    code, screen = on_a_terminal("files", str(medium_image), "--hash", "none", "--quiet", "-o", out)
    assert code == 0 and screen == ""
    assert run_cli("files", str(medium_image), "--hash", "none", check=True).stderr == ""


def test_timeline_and_custody_bars(processed_case: Case) -> None:
    root = str(processed_case.root)
    code, screen = on_a_terminal("timeline", "build", root, "--artifacts", "none")
    assert code == 0 and bar_shows(screen, "building the timeline", 1)  # one part: the file system's
    events = store.count(processed_case.db)
    assert events > 10
    out = processed_case.root / "exports" / "t.csv"
    out.parent.mkdir(exist_ok=True)
    code, screen = on_a_terminal("timeline", "export", root, "--format", "csv", "--out", str(out), "--no-group")
    assert code == 0 and bar_shows(screen, "exporting the timeline", events)
    outputs = len(custody.latest_outputs(processed_case.entries()))
    code, screen = on_a_terminal("custody", "verify", root)
    assert code == 0 and bar_shows(screen, "re-checking outputs", outputs)
    entries = len(processed_case.entries())
    russian = run_cli("custody", "verify", root, "--lang", "ru", check=True).stdout.splitlines()[-1]
    assert russian == f"{root}: {entries} {_records(entries)}, целостность не нарушена"
    assert run_cli("custody", "verify", root, check=True).stdout.splitlines()[-1] == f"{root}: {entries} entries, intact"
    for args in (("timeline", "build", root, "--artifacts", "none"),
                 ("timeline", "export", root, "--format", "csv", "--out", str(out)), ("custody", "verify", root)):
        assert run_cli(*args, check=True).stderr == "", args  # a pipe gets no progress
        assert on_a_terminal(*args, "-q") == (0, "")


def test_training_build_counts_scenarios(tmp_path: Path) -> None:
    code, screen = on_a_terminal("training", "build", "mobile", "--out", str(tmp_path / "a"))
    assert code == 0 and bar_shows(screen, "building", 1) and "building mobile" in screen
    piped = run_cli("training", "build", "mobile", "--out", str(tmp_path / "b"), check=True)
    assert piped.stderr == "" and piped.stdout.splitlines()[0].endswith("mobile")
