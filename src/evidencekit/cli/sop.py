"""``evidencekit sop``: validate, list, show and run SOPs; the checklist of what was done."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from evidencekit.cli.common import note
from evidencekit.cli.examiner import acting_examiner, examiner_option
from evidencekit.cli.lang import _
from evidencekit.errors import ValidationError

LANG = click.option("--lang", type=click.Choice(["en", "ru"]), default="en", show_default=True,
                    help="Language of titles, instructions and labels.")
CASE_DIR = click.argument("case_dir", metavar="DIR", type=click.Path(file_okay=False))


@click.group("sop")
def sop_group() -> None:
    """Standard operating procedures as data: run them on an exhibit, recorded step by step."""


@sop_group.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate_cmd(files: tuple[str, ...]) -> None:
    """Check SOP FILES against the schema, the action registry and their own cross-references."""
    from evidencekit.sop import SopValidationError, load_sop

    bad = 0
    for name in files:
        try:
            loaded = load_sop(name)
        except SopValidationError as err:
            bad += 1
            for problem in err.problems:
                click.echo(str(problem), err=True)
            continue
        click.echo(f"{name}: ok ({loaded.sop.id} {loaded.sop.version}, {len(loaded.sop.steps)} steps)")
    if bad:
        raise ValidationError("{bad} of {n} SOP file(s) invalid", bad=bad, n=len(files))


@sop_group.command("list")
@LANG
def list_cmd(lang: str) -> None:
    """List the SOPs found in $EVIDENCEKIT_SOP_PATH and the shipped sops/ folder."""
    from evidencekit.sop.library import list_sops, search_path

    found, errors = list_sops()
    for loaded in found:
        scope = ",".join(k.value for k in loaded.sop.scope)
        click.echo(f"{loaded.sop.id:<30} {loaded.sop.version:<6} {scope:<40} {loaded.sop.title.get(lang)}")
    for err in errors:
        click.echo(f"invalid: {err}", err=True)
    if not found:
        click.echo(f"no SOPs in {', '.join(str(p) for p in search_path())}", err=True)


@sop_group.command("show")
@click.argument("sop_ref", metavar="SOP")
@LANG
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Text for reading, JSON for tools.")
def show_cmd(sop_ref: str, lang: str, fmt: str) -> None:
    """Show SOP (an id or a file) with its steps, instructions and references."""
    from evidencekit.sop.library import find_sop

    loaded = find_sop(sop_ref)
    sop = loaded.sop
    if fmt == "json":
        data = {"file": str(loaded.path), "sha256": loaded.sha256, **sop.model_dump(mode="json", by_alias=True)}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.secho(f"{sop.title.get(lang)}", bold=True)
    click.echo(f"{sop.id} version {sop.version} · scope: {', '.join(k.value for k in sop.scope)} · "
               f"sha256 {loaded.sha256[:16]}")
    click.echo(click.wrap_text(sop.purpose.get(lang), initial_indent="  ", subsequent_indent="  "))
    for n, step in enumerate(sop.steps, 1):
        extra = f"action {step.action}" if step.kind == "automated" else step.kind  # type: ignore[union-attr]
        click.echo(f"\n{n}. [{step.id}] {step.title.get(lang)} ({extra}; on_fail: {step.on_fail.value})")
        if step.when:
            click.echo(f"   when: {step.when}")
        click.echo(click.wrap_text(step.instructions.get(lang), initial_indent="   ", subsequent_indent="   "))
        for fld in getattr(step, "fields", []):
            req = "required" if fld.required else "optional"
            click.echo(f"   - {fld.id} ({fld.type.value}, {req}): {fld.label.get(lang)}")
        if step.references:
            click.echo(f"   references: {', '.join(step.references)}")
    click.echo("")
    for ref in sop.references:
        click.echo(f"[{ref.id}] {ref.title}" + (f", {ref.section}" if ref.section else ""))


@sop_group.command("actions")
def actions_cmd() -> None:
    """List the registered step actions (built-in and plugins) and their parameters."""
    from evidencekit.sop.registry import load_actions

    for name, spec in sorted(load_actions().items()):
        params = ", ".join(spec.params.model_fields) or "-"
        click.echo(f"{name:<16} {spec.doc}  [params: {params}] ({spec.module})")


@sop_group.command("run")
@CASE_DIR
@click.argument("sop_ref", metavar="SOP")
@click.option("--exhibit", "exhibit_id", required=True, help="Exhibit the procedure is run on.")
@click.option("--answers", "answers_file", type=click.Path(dir_okay=False, exists=True),
              help="YAML answers for manual steps, reviews and deviations (scripted runs).")
@click.option("--exhibit-kind", help="Declare the exhibit's kind (e.g. mobile_extraction, storage_media).")
@click.option("--restart", is_flag=True, help="Start a new run even if one is open, stopped or completed.")
@LANG
@examiner_option
def run_cmd(case_dir: str, sop_ref: str, exhibit_id: str, answers_file: str | None, exhibit_kind: str | None,
            restart: bool, lang: str, examiner_id: str | None) -> None:
    """Run (or resume) SOP on an exhibit of the case in DIR.

    Exit status: 0 completed, 1 stopped at a failed step, 3 paused (needs an answer, a justification
    or a different examiner for a review; run again to continue).
    """
    from evidencekit.case import Case
    from evidencekit.cli.sop_prompt import TerminalPrompter
    from evidencekit.sop.answers import load_answers
    from evidencekit.sop.library import find_sop
    from evidencekit.sop.runner import run_sop

    loaded = find_sop(sop_ref)
    answers = load_answers(answers_file, loaded.sop) if answers_file else None
    case = Case.open(case_dir)
    examiner = acting_examiner(examiner_id)
    prompter = TerminalPrompter(lang) if sys.stdin.isatty() else None
    outcome = run_sop(case, exhibit_id, loaded, examiner, answers=answers, prompter=prompter,
                      declared_kind=exhibit_kind, restart=restart)
    from evidencekit.exporters.checklist import labels
    from evidencekit.sop.messages import text

    words = labels(lang)
    for sid, st in outcome.run.steps.items():
        summary = text(st.message, lang) or st.summary  # the recorded summary in --lang
        click.echo(f"  {sid:<24} {words.get(st.status, st.status):<11} {st.by or st.started_by or '':<10} {summary}")
    message = (_("{sop} completed on {exhibit}", sop=loaded.sop.id, exhibit=exhibit_id)
               if outcome.status == "completed" else outcome.message)
    click.echo(f"{_(outcome.status)}: {message}")
    sys.exit(outcome.exit_code)


@sop_group.command("status")
@CASE_DIR
@click.option("--exhibit", "exhibit_id", help="Only this exhibit's checklists.")
@click.option("--format", "fmt", type=click.Choice(["table", "md", "html", "json"]), default="table",
              show_default=True, help="Terminal table, Markdown, HTML document or JSON.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--all-runs", is_flag=True, help="Every run, not only the latest of each SOP per exhibit.")
@LANG
def status_cmd(case_dir: str, exhibit_id: str | None, fmt: str, output: str | None, all_runs: bool,
               lang: str) -> None:
    """The checklist: each step done, pending, failed, deviated or skipped, by whom and when (UTC)."""
    from evidencekit.case import Case
    from evidencekit.exporters.checklist import render
    from evidencekit.sop.checklist import checklists

    case = Case.open(case_dir)
    lists = checklists(case, exhibit_id, lang, every_run=all_runs)
    if fmt == "table":
        _table(lists, lang)
        return
    text = render(lists, fmt, lang)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        note(_("written {path}", path=output))
    else:
        click.echo(text, nl=False)


def _table(lists: list, lang: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from evidencekit.exporters.checklist import labels

    t = labels(lang)
    console = Console()
    if not lists:
        console.print(t["none"])
    styles = {"passed": "green", "failed": "bold red", "deviated": "yellow", "skipped": "dim", "pending": "blue",
              "running": "blue"}
    for c in lists:
        table = Table(title=f"{c.exhibit['id']} · {c.sop['title']} ({c.sop['id']} {c.sop['version']}) · "
                            f"{t.get(c.verdict, c.verdict)}", title_justify="left")
        rows = [(str(r.number), r.title, t.get(r.status, r.status), r.by or "", r.at or "",
                 r.summary + (f"\n{t['deviation']}: {r.justification}" if r.justification else "")) for r in c.rows]
        headers = ("#", t["step"], t["result"], t["by"], t["when"], t["details"])
        for i, col in enumerate(headers):
            # Wide enough for the column's longest word, so rich wraps Russian (long) words at
            # spaces instead of breaking them; only a word longer than 24 characters is folded.
            table.add_column(col, overflow="fold", min_width=min(24, _longest_word([col, *(r[i] for r in rows)])))
        for r, row in zip(c.rows, rows, strict=True):
            table.add_row(row[0], row[1], f"[{styles.get(r.status, '')}]{row[2]}[/]", *row[3:])
        console.print(table)


def _longest_word(cells: list[str]) -> int:
    return max((len(word) for cell in cells for word in cell.split()), default=1)


COMMANDS = [sop_group]
