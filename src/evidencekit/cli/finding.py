"""``evidencekit finding`` and ``evidencekit extract``: mark findings, copy files out of evidence."""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

import click

from evidencekit.cli.common import credential_options, open_from_cli
from evidencekit.cli.examiner import acting_examiner, examiner_option
from evidencekit.errors import ValidationError
from evidencekit.models import iso_utc

CASE_DIR = click.argument("case_dir", metavar="CASE", type=click.Path(file_okay=False))
LIST_COLUMNS = ("id", "status", "exhibit", "kind", "path", "sha256", "time", "note", "tags", "entry", "examiner",
                "retracted_reason")


@click.group("finding")
def finding_group() -> None:
    """Findings: items of evidence the examiner relies on, each a signed custody entry."""


@finding_group.command("add")
@CASE_DIR
@click.option("--exhibit", required=True, help="Exhibit the item belongs to.")
@click.option("--path", help="Path of a file as the inventory shows it (deleted ones too; PATH:STREAM for a stream).")
@click.option("--inode", type=int, help="Inode (MFT entry) of the file instead of its path.")
@click.option("--volume", help="Volume (e.g. p1) when the path or inode exists on several.")
@click.option("--event", "event_id", type=int, help="Id of a timeline event (timeline show --format jsonl).")
@click.option("--from-scan", "from_scan", type=click.Choice(["yara", "known-bad"]),
              help="One finding per file a stored scan flagged (YARA matches or known-bad hash-set hits).")
@click.option("--rule", help="With --from-scan yara: only this rule.")
@click.option("--note", help="What the item shows and why it matters (required except with --from-scan).")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@examiner_option
def add_cmd(case_dir: str, exhibit: str, path: str | None, inode: int | None, volume: str | None,
            event_id: int | None, from_scan: str | None, rule: str | None, note: str | None,
            tags: tuple[str, ...], examiner_id: str | None) -> None:
    """Record a finding on a file (--path or --inode), a timeline event (--event) or scan hits (--from-scan)."""
    from evidencekit.case import Case
    from evidencekit.findings import add_finding, findings_from_scan, items

    given = [x for x in (path, inode, event_id, from_scan) if x is not None]
    if len(given) != 1:
        raise ValidationError("finding add: give exactly one of --path, --inode, --event, --from-scan")
    case = Case.open(case_dir)
    case.exhibit(exhibit)
    if from_scan:
        examiner = acting_examiner(examiner_id)
        made = findings_from_scan(case, examiner, exhibit, from_scan, rule, note, tags)
        for f in made:
            click.echo(f"{f.id}\t{_item_path(f.item)}\t{f.note}")
        if not made:
            click.echo(f"no new findings: every stored {from_scan} hit is already cited by an active finding")
        return
    if not note:
        raise ValidationError("finding add: --note is required")
    if event_id is not None:
        item = items.resolve_event(case.db, case.root, exhibit, event_id)
    else:
        item = items.resolve_file(case.db, case.root, exhibit, path=path, inode=inode, volume=volume)
    found = add_finding(case, acting_examiner(examiner_id), exhibit, item, note, tags)
    click.echo(f"{found.id} recorded (entry {found.seq}): {item.get('path')}")


@finding_group.command("list")
@CASE_DIR
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl", "csv"]), default="table", show_default=True,
              help="Output format.")
@click.option("--active", is_flag=True, help="Leave out retracted findings.")
def list_cmd(case_dir: str, fmt: str, active: bool) -> None:
    """List the findings in the order recorded, retracted ones marked."""
    from evidencekit.case import Case
    from evidencekit.findings import list_findings
    from evidencekit.findings.items import item_time

    rows = []
    for f in list_findings(Case.open(case_dir), include_retracted=not active):
        rows.append({"id": f.id, "status": "active" if f.active else "retracted", "exhibit": f.exhibit,
                     "kind": f.item.get("kind"), "path": _item_path(f.item), "sha256": f.item.get("sha256"),
                     "time": iso_utc(item_time(f.item), f.item.get("time_digits", 9)), "note": f.note,
                     "tags": ",".join(f.tags), "entry": f.seq, "examiner": f.examiner,
                     "retracted_reason": (f.retracted or {}).get("reason"), "item": f.item})
    if fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False, sort_keys=True))
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=LIST_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        for row in rows:
            click.echo(f"{row['id']}\t{row['status']}\t{row['exhibit']}\t{row['path'] or '-'}\t"
                       f"{row['sha256'] or '-'}\t{row['note']}")


@finding_group.command("retract")
@CASE_DIR
@click.argument("finding_id", metavar="ID")
@click.option("--reason", required=True, help="Why the finding no longer stands.")
@examiner_option
def retract_cmd(case_dir: str, finding_id: str, reason: str, examiner_id: str | None) -> None:
    """Retract finding ID: a new ledger entry; the finding's own entry stays."""
    from evidencekit.case import Case
    from evidencekit.findings import retract_finding

    f = retract_finding(Case.open(case_dir), acting_examiner(examiner_id), finding_id, reason)
    click.echo(f"{f.id} retracted (entry {(f.retracted or {}).get('seq')})")


@click.command("extract")
@click.argument("source", metavar="CASE|EVIDENCE", type=click.Path(exists=True))
@click.option("--exhibit", help="With a case: the exhibit to extract from.")
@click.option("--path", "paths", multiple=True,
              help="Path as the listing shows it, allocated or deleted (PATH:STREAM for an NTFS stream); repeatable.")
@click.option("--glob", "globs", multiple=True, help="Shell pattern over full paths, e.g. '/Users/*/*.docx'; repeatable.")
@click.option("--deleted", "deleted_only", is_flag=True, help="With --glob: only deleted files.")
@click.option("--volume", help="With a case: only this volume.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory to write into (created; nothing outside it is written, nothing overwritten).")
@credential_options
@examiner_option
def extract_cmd(source: str, exhibit: str | None, paths: tuple[str, ...], globs: tuple[str, ...],
                deleted_only: bool, volume: str | None, out_dir: str, password: str | None,
                recovery_key: str | None, examiner_id: str | None) -> None:
    """Copy files out of a case's exhibit or out of evidence, with a CSV manifest of their hashes.

    With a case, each copy's SHA-256 is checked against the inventory and the manifest's hash is
    recorded in the custody ledger. Exit 1 when a copy differs from the inventory.
    """
    from pathlib import Path

    if (Path(source) / "case.db").is_file():
        if not exhibit:
            raise ValidationError("extract from a case: --exhibit is required")
        from evidencekit.case import Case
        from evidencekit.findings.extraction import extract_case

        result = extract_case(Case.open(source), acting_examiner(examiner_id), exhibit, out_dir, list(paths),
                              list(globs), deleted_only, volume)
        _print(result.files)
        click.echo(f"manifest {result.manifest} sha256 {result.manifest_sha256} (entry {result.entry_seq})")
        if result.mismatches:
            click.echo(f"evidencekit: {len(result.mismatches)} file(s) differ from the inventory or could not be read",
                       err=True)
            sys.exit(1)
        return
    from evidencekit.extract import extract_evidence

    with open_from_cli(source, password, recovery_key) as ev:
        files, manifest = extract_evidence(ev, out_dir, list(paths), list(globs), deleted_only)
    _print(files)
    click.echo(f"manifest {manifest}")
    if any(f.error for f in files):
        sys.exit(1)


def _print(files: list[Any]) -> None:
    for f in files:
        if f.error:
            click.echo(f"unreadable\t-\t{f.error}")
        else:
            click.echo(f"{f.check}\t{f.hashes['sha256']}\t{f.written}")



def _item_path(item: dict[str, Any]) -> str | None:
    path = item.get("path")
    return f"{path}:{item['stream']}" if path and item.get("stream") else path


COMMANDS = [finding_group, extract_cmd]
