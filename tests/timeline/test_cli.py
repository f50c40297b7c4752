"""`evidencekit timeline build/show/export` in real subprocesses."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from tests.timeline.conftest import run_cli

from evidencekit.case import Case
from evidencekit.cli.timeline import timeline as timeline_group
from evidencekit.pipeline.timeline import timeline


def test_every_command_and_option_has_help() -> None:
    for name, command in timeline_group.commands.items():
        assert command.help, f"timeline {name} lacks help"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"timeline {name} {param.opts} lacks help"


def test_build_show_export(ext4_case: Case, tmp_path: Path) -> None:
    root = str(ext4_case.root)
    built = run_cli("timeline", "build", root, "--artifacts", "none")
    assert built.returncode == 0, built.stderr
    events = list(timeline(ext4_case))
    assert built.stdout.strip() == f"E1\tfs\t{len(events)} events"

    shown = run_cli("timeline", "show", root, "--tz", "Asia/Almaty", "--grep", "file0002")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("# time (Asia/Almaty)")
    mine = [e for e in events if "file0002" in e.path]
    assert len(lines) - 1 == len(mine)
    offset = datetime.fromtimestamp(mine[0].time // 10**9, ZoneInfo("Asia/Almaty")).strftime("%z")
    assert lines[1].split("\t")[0].endswith(f"{offset[:3]}:{offset[3:]}")

    # --from/--to without an offset are read in --tz: one hour around the first event.
    first = datetime.fromtimestamp(events[0].time // 10**9, ZoneInfo("Asia/Almaty")).replace(tzinfo=None)
    window = run_cli("timeline", "show", root, "--tz", "Asia/Almaty", "--from", first.isoformat(),
                     "--to", first.replace(minute=59, second=59).isoformat())
    start = events[0].time // 10**9 * 10**9
    end = start + ((59 - first.minute) * 60 + (59 - first.second)) * 10**9
    assert len(window.stdout.splitlines()) - 1 == len([e for e in events if start <= e.time < end])

    out = tmp_path / "t.csv"
    exported = run_cli("timeline", "export", root, "--format", "csv", "--out", str(out), "--tz", "Asia/Almaty")
    assert exported.returncode == 0, exported.stderr
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    assert exported.stdout.startswith(sha) and (tmp_path / "t.csv.sha256").read_text().startswith(sha)


def test_errors_are_one_line(ext4_case: Case, tmp_path: Path) -> None:
    root = str(ext4_case.root)
    bad_zone = run_cli("timeline", "show", root, "--tz", "Nowhere/Atlantis")
    assert bad_zone.returncode == 2 and bad_zone.stderr.count("\n") == 1 and "Nowhere/Atlantis" in bad_zone.stderr
    bad_time = run_cli("timeline", "show", root, "--from", "yesterday")
    assert bad_time.returncode == 2 and "--from" in bad_time.stderr and "Traceback" not in bad_time.stderr
    no_case = run_cli("timeline", "show", str(tmp_path / "nope"))
    assert no_case.returncode != 0 and "Traceback" not in no_case.stderr
    bad_exhibit = run_cli("timeline", "build", root, "--exhibit", "E9", "--artifacts", "none")
    assert bad_exhibit.returncode != 0 and "E9" in bad_exhibit.stderr
