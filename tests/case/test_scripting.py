"""A CLI that scripts can trust: --json on the long commands, --quiet on every command, and
progress (with a total and time left) only when stderr is a terminal."""

from __future__ import annotations

import json
from pathlib import Path

import click

from case.util import bar_shows, on_a_terminal, run_cli, used_inodes
from evidencekit.case import Case, examiners
from evidencekit.cli import command_modules, main


def _commands(command: click.Command, ctx: click.Context) -> list[click.Command]:
    found = [command]
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            found += _commands(command.get_command(ctx, name), ctx)  # type: ignore[arg-type]
    return found


def test_every_command_takes_quiet() -> None:
    ctx = click.Context(main)
    leaves = [c for name in command_modules() for c in _commands(main.get_command(ctx, name), ctx)]  # type: ignore[arg-type]
    assert len(leaves) > 30
    assert [c.name for c in leaves if not any(p.name == "quiet" for p in c.params)] == []


def test_json_output_of_add_process_build_and_scan(case: Case, examiner: examiners.Examiner, small_image: Path,
                                                   tmp_path: Path) -> None:
    root = str(case.root)
    added = run_cli("case", "add", root, str(small_image), "--exhibit", "E1", "--json", check=True)
    obj = json.loads(added.stdout)
    assert obj["exhibit"] == "E1" and len(obj["hashes"]["sha256"]) == 64
    processed = run_cli("case", "process", root, "--json", "--quiet", check=True)
    summary = json.loads(processed.stdout)
    assert summary["exhibit"] == "E1" and summary["files"] == case.db.execute("SELECT count(*) FROM files").fetchone()[0]
    built = run_cli("timeline", "build", root, "--artifacts", "none", "--json", check=True)
    parts = [json.loads(line) for line in built.stdout.splitlines()]
    assert parts[0]["exhibit"] == "E1" and parts[0]["source"] == "fs" and parts[0]["events"] > 0
    scanned = run_cli("scan", "types", root, "--json", check=True)
    out = json.loads(scanned.stdout)
    assert out["exhibit"] == "E1" and out["files_scanned"] > 0
    listed = run_cli("case", "files", root, "--format", "csv", "-o", str(tmp_path / "f.csv"), "-q", check=True)
    assert listed.stderr == "" and (tmp_path / "f.csv").stat().st_size > 0
    assert run_cli("case", "files", root, "--format", "csv", "-o", str(tmp_path / "g.csv")).stderr.endswith(
        f"entries written to {tmp_path / 'g.csv'}\n")


def test_progress_shows_totals_on_a_terminal_and_nothing_with_quiet(case: Case, examiner: examiners.Examiner,
                                                                    medium_image: Path) -> None:
    root = str(case.root)
    code, screen = on_a_terminal("case", "add", root, str(medium_image), "--exhibit", "E1")
    assert code == 0 and "E1: hashing" in screen and "33.6/33.6 MB" in screen  # the media size as the total
    code, screen = on_a_terminal("case", "process", root)
    assert code == 0 and "E1: verify" in screen and "33554432/33554432" in screen
    listed = case.db.execute("SELECT count(*) FROM files WHERE exhibit = 'E1'").fetchone()[0]
    # the inventory's total: the inodes in use (dumpe2fs), or the count once the listing passes it
    assert bar_shows(screen, "E1: inventory", used_inodes(medium_image)) or bar_shows(screen, "E1: inventory", listed)
    code, screen = on_a_terminal("case", "process", root, "--reprocess", "--quiet")
    assert code == 0 and screen == ""
