"""`evidencekit timeline`: build, show and export a case's hashed super-timeline."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from evidencekit.cli.common import credential_options, progress_bar
from evidencekit.cli.lang import _, n_
from evidencekit.errors import CaseError, ValidationError
from evidencekit.exporters import timeline as timeline_export
from evidencekit.exporters.timeline import FORMATS, render, zone
from evidencekit.models import parse_iso_utc
from evidencekit.pipeline import timeline as api
from evidencekit.sources.base import Credentials
from evidencekit.textout import escape_control
from evidencekit.timeline.plaso import PRESETS
from evidencekit.timeline.store import Query

CASE_ARG = click.argument("case_dir", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
EXAMINER = click.option("--examiner", metavar="ID", default=None,
                        help="Acting examiner (default: $EVIDENCEKIT_EXAMINER or the only one known).")
TZ = click.option("--tz", "tz", default="UTC", show_default=True, metavar="ZONE",
                  help="Display time zone (IANA name, e.g. Asia/Almaty); storage stays UTC.")


def _open_case(case_dir: Path) -> Any:
    from evidencekit.case import Case

    return Case.open(case_dir)


def _examiner(examiner_id: str | None) -> Any:
    from evidencekit.case.examiners import load_examiner

    return load_examiner(examiner_id)


def parse_when(text: str | None, tz_name: str, option: str) -> int | None:
    """ISO date/time to ns UTC; without an offset it is read in the display zone ``tz_name``."""
    if not text:
        return None
    text = text.strip()
    has_zone = text.endswith(("Z", "z")) or ("T" in text and any(c in text.split("T", 1)[1] for c in "+-"))
    try:
        if has_zone:
            return parse_iso_utc(text)
        local = datetime.fromisoformat(text).replace(tzinfo=zone(tz_name))
    except ValueError as err:
        raise ValidationError("{option} {text!r}: not an ISO-8601 date/time ({cause})", option=option,
                              text=text, cause=err) from None
    frac = text.split(".", 1)[1] if "." in text else ""
    return int(local.timestamp()) * 1_000_000_000 + int((frac + "000000000")[:9] or 0)


def filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--from/--to/--exhibit/--source/--grep/--flagged, shared by show and export."""
    options = [
        click.option("--flagged", is_flag=True, help="Only events carrying an anomaly flag."),
        click.option("--grep", metavar="TEXT", help="Only events whose path or message contains TEXT (any case)."),
        click.option("--source", metavar="NAME",
                     help="Only 'fs', 'plaso', 'native', or one parser (e.g. winevtx, sqlite/android_sms)."),
        click.option("--exhibit", metavar="ID", help="Only events of this exhibit."),
        click.option("--to", "to_", metavar="TIME", help="End (exclusive), ISO-8601; no offset means --tz."),
        click.option("--from", "from_", metavar="TIME", help="Start (inclusive), ISO-8601; no offset means --tz."),
    ]
    for option in options:
        func = option(func)
    return func


def _query(from_: str | None, to_: str | None, exhibit: str | None, source: str | None, grep: str | None,
           flagged: bool, tz: str, limit: int | None = None) -> Query:
    return Query(parse_when(from_, tz, "--from"), parse_when(to_, tz, "--to"), exhibit, source, grep,
                 flagged, limit)


@click.group("timeline")
def timeline() -> None:
    """Hashed super-timelines: file system times, NTFS anomaly flags and plaso artefacts."""


@timeline.command("build")
@CASE_ARG
@click.option("--exhibit", "exhibits", multiple=True, metavar="ID",
              help="Exhibit to build (repeatable; default: every exhibit of the case).")
@click.option("--artifacts", default="default", show_default=True, metavar="PRESET|PARSERS",
              help=f"plaso parsers: one of {', '.join(PRESETS)}, a plaso parser expression, or 'none'.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="plaso worker processes (1 runs plaso in a single process).")
@click.option("--timeout", type=float, default=None, metavar="SECONDS",
              help="Give up on plaso after this long (recorded as a warning).")
@click.option("--year", type=click.IntRange(1970, 9999), default=None, metavar="YYYY",
              help="Year of timestamps that carry none, e.g. syslog lines (default: plaso infers it "
                   "from the file). Recorded in the ledger entry.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per exhibit and part (JSON Lines).")
@credential_options
@EXAMINER
def build_cmd(case_dir: Path, exhibits: tuple[str, ...], artifacts: str, workers: int, timeout: float | None,
              year: int | None, as_json: bool, password: str | None, recovery_key: str | None,
              examiner: str | None) -> None:
    """Build the timeline of DIR's exhibits from their inventory and, with plaso, their artefacts.

    An encrypted backup or volume needs its password or recovery key here for evidencekit's own
    readers (messengers, call history; a case stores none); plaso is not given it."""
    case = _open_case(case_dir)
    try:
        with progress_bar(_("building the timeline"), unit="parts") as bar:
            results = api.build(case, _examiner(examiner), list(exhibits) or None, artifacts, workers, timeout, year,
                                progress=bar.update, credentials=Credentials(password=password, recovery_key=recovery_key))
    finally:
        case.close()
    for exhibit_id, part in results:
        if as_json:
            click.echo(json.dumps({"exhibit": exhibit_id, "source": part.source, "events": part.events,
                                   "warnings": part.warnings}, sort_keys=True, default=str))
            continue
        click.echo(f"{exhibit_id}\t{part.source}\t" + n_("{n} event", "{n} events", part.events))
        for warning in part.warnings:
            click.echo(f"{exhibit_id}\t{part.source}\twarning: {warning}", err=True)


@timeline.command("show")
@CASE_ARG
@filter_options
@TZ
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most this many events.")
def show_cmd(case_dir: Path, from_: str | None, to_: str | None, exhibit: str | None, source: str | None,
             grep: str | None, flagged: bool, tz: str, limit: int | None) -> None:
    """Print DIR's events in time order (one per line, tab separated, zone in the header)."""
    tzinfo = zone(tz)
    q = _query(from_, to_, exhibit, source, grep, flagged, tz, limit)
    case = _open_case(case_dir)
    try:
        events = api.timeline(case, start=q.start, end=q.end, exhibit=q.exhibit, source=q.source,
                              grep=q.grep, flagged=q.flagged, limit=q.limit)
        click.echo(f"# time ({tz})\tmacb\tsource\texhibit\tpath\tdescription\tflags")
        for ev in events:
            src = "fs" if ev.source == "fs" else ev.parser
            desc = ev.timestamp_desc + (f" [{ev.attribute}]" if ev.attribute else "")
            text = ev.message if ev.source != "fs" else desc
            # Names and messages are the evidence's: escaped, so none can print a forged line.
            click.echo(f"{render(ev.time, ev.time_digits, tzinfo)}\t{ev.macb or '-'}\t{src}\t{ev.exhibit}\t"
                       f"{escape_control(ev.display_path)}\t{escape_control(text)}\t{','.join(ev.flags)}")
    finally:
        case.close()


@timeline.command("export")
@CASE_ARG
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True,
              help="csv (evidencekit's columns), l2tcsv (plaso's 17 columns), jsonl, bodyfile (TSK 3.x, for "
                   "mactime and plaso), timesketch (JSONL, OUT must end in .jsonl), timesketch-csv (OUT must "
                   "end in .csv) or xlsx (one sheet per exhibit).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write; FILE.sha256 is written beside it and its hash goes into the ledger.")
@filter_options
@TZ
@click.option("--no-group", is_flag=True,
              help="One row per event instead of mactime-style MACB rows (csv, l2tcsv, jsonl, xlsx).")
@click.option("--excel", is_flag=True,
              help="CSV formats for Excel: UTF-8 with a byte order mark, ';' between fields, CRLF.")
@EXAMINER
def export_cmd(case_dir: Path, fmt: str, out: Path, from_: str | None, to_: str | None, exhibit: str | None,
               source: str | None, grep: str | None, flagged: bool, tz: str, no_group: bool, excel: bool,
               examiner: str | None) -> None:
    """Export DIR's timeline as a hashed file recorded in the custody ledger."""
    q = _query(from_, to_, exhibit, source, grep, flagged, tz)
    if out.exists() and out.is_dir():
        raise ValidationError("{out}: is a directory", out=out)
    if not out.parent.is_dir():
        raise CaseError("{parent}: output folder does not exist", parent=out.parent)
    case = _open_case(case_dir)
    try:
        with progress_bar(_("exporting the timeline"), unit="events") as bar:
            sha, count = timeline_export.export(case, _examiner(examiner), fmt, out, tz=tz, group=not no_group,
                                                query=q, excel=excel, progress=bar.update)
    finally:
        case.close()
    click.echo(f"{sha}  {out}  ({n_('{n} event', '{n} events', count)}, {_('zone {zone}', zone=tz)})")


COMMANDS = [timeline]
