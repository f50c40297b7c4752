"""``evidencekit custody``: the signed chain of custody of a case (log, verify, transfer, export)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from evidencekit.case import Case, custody
from evidencekit.case.chain_check import Report
from evidencekit.cli.common import progress_bar
from evidencekit.cli.examiner import acting_examiner, examiner_option
from evidencekit.cli.lang import _, n_
from evidencekit.errors import CustodyError
from evidencekit.exporters import bundle

CASE_DIR = click.argument("case_dir", metavar="DIR", type=click.Path(file_okay=False))


@click.group("custody")
def custody_group() -> None:
    """Chain of custody: every action on a case as a hash-chained, Ed25519-signed ledger entry."""


@custody_group.command("log")
@CASE_DIR
@click.option("--exhibit", help="Only entries about this exhibit.")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help="text: one line per entry; jsonl: every field, hashes and signatures.")
def log_cmd(case_dir: str, exhibit: str | None, fmt: str) -> None:
    """Print the custody ledger of the case in DIR (times UTC)."""
    case = Case.open(case_dir)
    for entry in case.entries():
        if exhibit and entry.exhibit != exhibit:
            continue
        click.echo(json.dumps(entry.to_dict(), sort_keys=True) if fmt == "jsonl" else custody.entry_line(entry))


@custody_group.command("verify")
@click.argument("target", metavar="DIR|BUNDLE", type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format of the verification report.")
def verify_cmd(target: str, fmt: str) -> None:
    """Recompute the hash chain and signatures and re-hash every output the ledger names.

    TARGET is a case directory or a custody bundle (directory or .zip); a bundle needs no
    case database. Exit status 0: intact; 1: tampering found (each finding on its own line);
    2: the case or bundle cannot be read (a damaged database page is not a finding either way).
    """
    path = Path(target)
    report = verify_case_or_bundle(path)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(path, report)
    if not report.ok:
        sys.exit(1)


def verify_case_or_bundle(path: Path) -> Report:
    if path.is_dir() and (path / "case.db").is_file():
        case = Case.open(path)
        try:
            with progress_bar(_("re-checking outputs"), unit="outputs") as bar:
                return custody.verify_case(case, bar.update)
        finally:
            case.close()
    return bundle.verify_bundle(path)


def _print_report(path: Path, report: Report) -> None:
    for examiner, fingerprint in report.examiners.items():
        click.echo(_("signer {examiner}: SHA256:{fingerprint}", examiner=examiner, fingerprint=fingerprint))
    for note in report.notes:
        click.echo(_("note: {note}", note=note))
    for finding in report.findings:
        click.echo(f"FAIL {finding.kind}: {finding.message}")  # a fixed word scripts look for
    if report.head is not None:
        click.echo(_("head: entry {seq} {hash} signed by {examiner}", seq=report.head.seq,
                     hash=report.head.entry_hash, examiner=report.head.examiner))
    verdict = _("intact") if report.ok else n_("{n} problem(s) found", "{n} problem(s) found", len(report.findings))
    click.echo(n_("{path}: {n} entries, {verdict}", "{path}: {n} entries, {verdict}", report.entries, path=path,
                  verdict=verdict))


@custody_group.command("transfer")
@CASE_DIR
@click.option("--exhibit", required=True, help="Exhibit handed over.")
@click.option("--to", "to", required=True, help="Receiving examiner, agency or lab.")
@click.option("--reason", required=True, help="Why the exhibit changes hands.")
@click.option("--receiver", metavar="ID", help="Receiving examiner's id, when present to co-sign (key needed).")
@examiner_option
def transfer_cmd(case_dir: str, exhibit: str, to: str, reason: str, receiver: str | None,
                 examiner_id: str | None) -> None:
    """Record a hand-over, signed by the examiner handing over (and co-signed by the receiver)."""
    case = Case.open(case_dir)
    giver = acting_examiner(examiner_id)
    taker = acting_examiner(receiver) if receiver else None
    if taker is not None and taker.id == giver.id:
        raise CustodyError("--receiver must differ from the examiner handing over")
    entry = custody.transfer(case, exhibit, giver, to, reason, taker)
    click.echo(custody.entry_line(entry))


@custody_group.command("record")
@CASE_DIR
@click.argument("action", type=click.Choice(custody.MANUAL_ACTIONS))
@click.option("--exhibit", help="Exhibit concerned (omit for a case-wide note).")
@click.option("--text", required=True, help="What was done, by whom and where (free text).")
@examiner_option
def record_cmd(case_dir: str, action: str, exhibit: str | None, text: str, examiner_id: str | None) -> None:
    """Record a manual custody action (sealed, returned, disposed, note, ...) as a signed entry."""
    case = Case.open(case_dir)
    entry = custody.record(case, action, acting_examiner(examiner_id), text, exhibit)
    click.echo(custody.entry_line(entry))


@custody_group.command("export")
@CASE_DIR
@click.option("--out", "out", type=click.Path(),
              help="Bundle directory or .zip (required for a bundle); for CASE default exports/custody-<time>.jsonld.")
@click.option("--format", "fmt", type=click.Choice(["bundle", "case"]), default="bundle", show_default=True,
              help="bundle: ledger, keys, manifest and files; case: CASE/UCO JSON-LD.")
@click.option("--custody-only", is_flag=True,
              help="case: the chain of custody without the inventory's File observables.")
@examiner_option
def export_cmd(case_dir: str, out: str | None, fmt: str, custody_only: bool, examiner_id: str | None) -> None:
    """Export the chain of custody for another lab: a verifiable bundle, or CASE/UCO JSON-LD.

    CASE/UCO holds every inventory file as an observable (hashes, path, size, times, exhibit)
    unless --custody-only is given.
    """
    case = Case.open(case_dir)
    examiner = acting_examiner(examiner_id)
    if fmt == "case":
        if custody_only:
            from evidencekit.exporters.caseuco import export_case
        else:
            from evidencekit.exporters.case_inventory import export_case  # type: ignore[assignment]

        result = export_case(case, out, examiner)
    elif out is None:
        raise CustodyError("custody export: --out BUNDLE is required for a bundle")
    else:
        result = bundle.export_bundle(case, out, examiner)
    click.echo(" ".join(f"{k}={v}" for k, v in result.items()))


COMMANDS = [custody_group]
