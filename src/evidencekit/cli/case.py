"""``evidencekit case``: create a case, register exhibits, process them, and read results back."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from evidencekit.case import Case, query
from evidencekit.cli.common import (
    credential_options,
    is_terminal,
    name_encoding_option,
    note,
    phase_progress,
    progress_bar,
    source_tz_option,
)
from evidencekit.cli.examiner import acting_examiner, examiner_option
from evidencekit.cli.lang import _, n_
from evidencekit.errors import CaseError
from evidencekit.hashing import DEFAULT_FILE_HASHES as DEFAULT_HASHES
from evidencekit.hashing import parse_hash_list
from evidencekit.pipeline.intake import Seizure, add_exhibit
from evidencekit.pipeline.processing import process_exhibit
from evidencekit.scan.filters import file_filter_options, file_filter_sql
from evidencekit.sources import Credentials

CASE_DIR = click.argument("case_dir", metavar="DIR", type=click.Path(file_okay=False))


@click.group("case")
def case_group() -> None:
    """Cases: one directory with a SQLite database, exports/ and reports/, and a custody ledger."""


@case_group.command("init")
@CASE_DIR
@click.option("--number", required=True, help="Case number (e.g. 2026/0142).")
@click.option("--title", required=True, help="Case title.")
@click.option("--authority", required=True, help="Legal authority: warrant or court order reference.")
@click.option("--authority-date", default=None, help="Date of the legal authority (YYYY-MM-DD).")
@examiner_option
def init_cmd(case_dir: str, number: str, title: str, authority: str, authority_date: str | None,
             examiner_id: str | None) -> None:
    """Create a new case in DIR (absent or empty); the creation is the ledger's first entry."""
    examiner = acting_examiner(examiner_id)
    case = Case.init(case_dir, number=number, title=title, authority=authority, authority_date=authority_date,
                     examiner=examiner)
    click.echo(_("case {number} created in {path} (id {id})", number=number, path=case.root, id=case.id))


@case_group.command("add")
@CASE_DIR
@click.argument("evidence", type=click.Path(exists=False))
@click.option("--exhibit", "exhibit_id", required=True, help="Exhibit reference (e.g. E1 or the seal number).")
@click.option("--description", help="What the exhibit is (e.g. 'Laptop HDD, Seagate 1 TB').")
@click.option("--seal", help="Seal / evidence bag number.")
@click.option("--seized-from", help="Person or place the exhibit was seized from.")
@click.option("--seized-at", help="Address or place of seizure.")
@click.option("--seized-on", help="Date and time of seizure (ISO 8601).")
@click.option("--received-from", help="Who handed the exhibit to the lab.")
@click.option("--acquisition-hash", metavar="ALG:HEX", help="Hash stated at acquisition, e.g. sha256:ab12...")
@click.option("--copy", is_flag=True, help="Copy the evidence files into the case (evidence/EXHIBIT/) and register the copy.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@name_encoding_option
@source_tz_option
@credential_options
@examiner_option
def add_cmd(case_dir: str, evidence: str, exhibit_id: str, acquisition_hash: str | None, copy: bool, as_json: bool,
            name_encoding: str | None, password: str | None, recovery_key: str | None, examiner_id: str | None,
            **label: Any) -> None:
    """Register EVIDENCE as an exhibit: referenced by path and by the hash of its decoded media.

    The evidence is never copied or written unless --copy is given. A password or recovery key is
    checked, never stored: give it again to the steps that read the content. On a terminal the
    hashing of the media shows its progress, total and time left.
    """
    case = Case.open(case_dir)
    examiner = acting_examiner(examiner_id)
    with progress_bar(f"{exhibit_id}: hashing", total=_media_size(evidence), unit="bytes") as advance:
        result = add_exhibit(case, evidence, exhibit_id, examiner, Seizure(**label), acquisition_hash, copy=copy,
                             progress=advance, name_encoding=name_encoding,
                             credentials=Credentials(password=password, recovery_key=recovery_key))
    if as_json:
        click.echo(json.dumps({"exhibit": exhibit_id, **result}, sort_keys=True, default=str))
        return
    hashes = " ".join(f"{k}:{v}" for k, v in result["hashes"].items())
    click.echo(_("exhibit {exhibit} registered: {hashes}", exhibit=exhibit_id, hashes=hashes))
    click.echo(_("acquisition hash check: {result}", result=result["acquisition_check"]))
    for line in result["mismatches"]:
        click.echo(f"  MISMATCH {line}")


@case_group.command("process")
@CASE_DIR
@click.option("--exhibit", "exhibits", multiple=True, help="Exhibit to process (repeatable; default all).")
@click.option("--hash", "hash_list", default=",".join(DEFAULT_HASHES), show_default=True,
              help="Comma-separated file hash algorithms (md5, sha1, sha256).")
@click.option("--deviation", metavar="JUSTIFICATION",
              help="Proceed despite an integrity mismatch; the justification is recorded as a ledger entry.")
@click.option("--reprocess", is_flag=True, help="Process again exhibits already processed (rows replaced).")
@click.option("--jobs", "-j", type=click.IntRange(0, 64), default=0, show_default="0: one per core, up to 4",
              help="Worker processes listing large file systems (same rows, same order as one process).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per exhibit (JSON Lines).")
@credential_options
@examiner_option
def process_cmd(case_dir: str, exhibits: tuple[str, ...], hash_list: str, deviation: str | None,
                reprocess: bool, jobs: int, as_json: bool, password: str | None, recovery_key: str | None,
                examiner_id: str | None) -> None:
    """Verify each exhibit (integrity gate) and inventory it with hashes into the case. Resumable.

    An encrypted volume or backup needs its password or recovery key here (a case stores none). On
    a terminal each phase shows its count (bytes verified, entries listed), with the total and time
    left where it is known.
    """
    case = Case.open(case_dir)
    examiner = acting_examiner(examiner_id)
    hashes = parse_hash_list(hash_list)
    targets = list(exhibits) or [e.id for e in case.exhibits()]
    if not targets:
        raise CaseError("{root}: the case has no exhibits yet; register one with 'evidencekit case add'",
                        root=case.root)
    credentials = Credentials(password=password, recovery_key=recovery_key)
    for exhibit_id in targets:
        registered = {e.id: e for e in case.exhibits()}.get(exhibit_id)
        size = registered.media_size if registered else None
        totals = {"verify": size, "re-verify": size, "inventory": _entries_expected(registered, credentials)}
        with phase_progress(exhibit_id, totals) as progress:
            summary = process_exhibit(case, exhibit_id, examiner, hashes=hashes, deviation=deviation,
                                      reprocess=reprocess, progress=progress, jobs=jobs, credentials=credentials)
        click.echo(json.dumps(summary, sort_keys=True, default=str) if as_json
                   else " ".join(f"{k}={v}" for k, v in summary.items()))


def _entries_expected(exhibit: Any, credentials: Credentials) -> int | None:
    """The inventory bar's total: the entries the exhibit's file systems say are in use
    (``inventory.expected_entries``); only worth opening the exhibit for on a terminal."""
    if exhibit is None or not is_terminal():
        return None
    from evidencekit.errors import EvidenceKitError
    from evidencekit.inventory import expected_entries
    from evidencekit.pipeline.exhibits import open_exhibit

    try:
        with open_exhibit(exhibit, credentials) as ev:
            return expected_entries(ev)
    except EvidenceKitError:
        return None  # process_exhibit reports it


def _media_size(evidence: str) -> int | None:
    """The decoded media size for the progress total (only worth opening for on a terminal)."""
    if not is_terminal():
        return None
    from evidencekit.errors import EvidenceKitError
    from evidencekit.sources import open_evidence

    try:
        with open_evidence(evidence, locked_ok=True) as ev:
            return ev.media_size
    except EvidenceKitError:
        return None  # add_exhibit reports it


@case_group.command("status")
@CASE_DIR
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
def status_cmd(case_dir: str, fmt: str) -> None:
    """Show the case, its exhibits with hashes and processing state, and the ledger length."""
    case = Case.open(case_dir)
    status = query.status(case)
    if fmt == "json":
        click.echo(json.dumps(status, indent=2, sort_keys=True))
        return
    for line in query.status_lines(status):
        click.echo(line)


@case_group.command("files")
@CASE_DIR
@click.argument("pattern", required=False)
@click.option("--exhibit", help="Only this exhibit.")
@click.option("--volume", help="Only this volume (e.g. p1).")
@click.option("--deleted", is_flag=True, help="Only deleted entries.")
@click.option("--ext", "exts", multiple=True, help="Only these file extensions (repeatable, no dot).")
@click.option("--min-size", type=int, help="Only files of at least this many bytes.")
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl", "csv", "xlsx"]), default="table",
              show_default=True, help="Output format (xlsx: one sheet per exhibit; needs --output).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout.")
@click.option("--excel", is_flag=True, help="CSV for Excel: UTF-8 with a byte order mark, ';' between fields, CRLF.")
@click.option("--tz", "tz", default="UTC", show_default=True, metavar="ZONE",
              help="Display time zone of jsonl, csv and xlsx times (IANA name). Storage stays UTC.")
@file_filter_options
def files_cmd(case_dir: str, pattern: str | None, exhibit: str | None, volume: str | None, deleted: bool,
              exts: tuple[str, ...], min_size: int | None, fmt: str, output: str | None, excel: bool, tz: str,
              **scan_filters: Any) -> None:
    """List the inventory stored in the case; PATTERN is a path glob (e.g. '/home/*/*.jpg').

    Content filters (--type, --mismatch, --yara, --known-bad, --hide-known) use the results of
    'evidencekit scan' stored in the case. An --exhibit or --volume the case does not have is an
    error naming those it has.
    """
    case = Case.open(case_dir)
    query.check_selection(case, exhibit, volume)
    filters = query.FileFilter(pattern=pattern, exhibit=exhibit, volume=volume, deleted=deleted,
                               exts=exts, min_size=min_size, extra=[file_filter_sql(**scan_filters)])
    from evidencekit.exporters.case_files import write_files

    if fmt == "xlsx":
        _files_xlsx(case, filters, output, tz)
        return
    with _output(output) as out:
        count = write_files(case, filters, fmt, out, excel=excel, tz=tz)
    if output:
        note(n_("{n} entry written to {path}", "{n} entries written to {path}", count, path=output))


def _files_xlsx(case: Case, filters: query.FileFilter, output: str | None, tz: str) -> None:
    from evidencekit.exporters.files import COLUMNS
    from evidencekit.exporters.xlsx import write_files
    from evidencekit.times import zone

    if not output:
        raise CaseError("--format xlsx writes a file: give --output FILE.xlsx")
    count = write_files(query.select_files(case, filters), Path(output), zone(tz), tz, COLUMNS)
    note(n_("{n} entry written to {path}", "{n} entries written to {path}", count, path=output))


@contextlib.contextmanager
def _output(output: str | None) -> Iterator[Any]:
    if not output:
        yield sys.stdout
        return
    with open(output, "w", encoding="utf-8", newline="") as fh:
        yield fh


@case_group.group("question")
def question_group() -> None:
    """The questions the ordering authority put to the examiner (numbered, in the ledger)."""


@question_group.command("add")
@CASE_DIR
@click.argument("text")
@examiner_option
def question_add_cmd(case_dir: str, text: str, examiner_id: str | None) -> None:
    """Record question TEXT as the order states it; it gets the next number."""
    from evidencekit.findings import add_question

    q = add_question(Case.open(case_dir), acting_examiner(examiner_id), text)
    click.echo(f"question {q.number} recorded (entry {q.seq})")


@question_group.command("list")
@CASE_DIR
def question_list_cmd(case_dir: str) -> None:
    """List the questions with their latest answers."""
    from evidencekit.findings import questions

    for q in questions(Case.open(case_dir)):
        click.echo(f"{q.number}. {q.text}")
        answer = q.answer["text"] if q.answer else "(not answered)"
        click.echo(f"   -> {answer}")


@case_group.command("answer")
@CASE_DIR
@click.argument("number", type=int)
@click.argument("text")
@click.option("--finding", "findings", multiple=True, help="A finding the answer rests on (e.g. F2; repeatable).")
@examiner_option
def answer_cmd(case_dir: str, number: int, text: str, findings: tuple[str, ...], examiner_id: str | None) -> None:
    """Record the answer TEXT to question NUMBER (a later answer replaces it in the report)."""
    from evidencekit.findings import answer_question

    q = answer_question(Case.open(case_dir), acting_examiner(examiner_id), number, text, findings)
    click.echo(f"answer to question {q.number} recorded (entry {(q.answer or {}).get('seq')})")


COMMANDS = [case_group]
