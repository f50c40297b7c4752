"""``evidencekit report``: the examination report of a case."""

from __future__ import annotations

import sys

import click

from evidencekit.cli.common import tz_option
from evidencekit.cli.examiner import acting_examiner, examiner_option


@click.group("report")
def report_group() -> None:
    """The examination report (expert's conclusion), written into CASE/reports/ and recorded in the ledger."""


@report_group.command("build")
@click.argument("case_dir", metavar="CASE", type=click.Path(file_okay=False))
@click.option("--lang", default="en", show_default=True, help="Language of the report (en, ru, or any with a catalogue).")
@click.option("--format", "fmt", type=click.Choice(["pdf", "html"]), default="pdf", show_default=True,
              help="pdf: PDF/A-3b with the CASE/UCO export attached; html: one HTML file plus the export beside it.")
@click.option("--template", "template_dir", type=click.Path(file_okay=False, exists=True),
              help="Directory with a report.html.j2 (and report.css) replacing the built-in ones.")
@click.option("--lab", default="", help="Name of the laboratory, printed at the top of the title page.")
@tz_option
@examiner_option
def build_cmd(case_dir: str, lang: str, fmt: str, template_dir: str | None, lab: str, tz: str,
              examiner_id: str | None) -> None:
    """Build the report of CASE now; a case with open work gets a report marked DRAFT listing what is missing."""
    from evidencekit.case import Case
    from evidencekit.report import build_report

    built = build_report(Case.open(case_dir), acting_examiner(examiner_id), lang=lang, fmt=fmt,
                         template_dir=template_dir, tz=tz, lab=lab)
    click.echo(f"{built.path} sha256 {built.sha256} (entry {built.entry_seq})")
    if built.draft:
        click.echo("DRAFT: " + "; ".join(built.missing), err=True)
    sys.stdout.flush()


COMMANDS = [report_group]
