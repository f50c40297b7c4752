"""``evidencekit batch``: validate, run and follow a manifest of cases and exhibits."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from evidencekit.batch.manifest import load_manifest
from evidencekit.cli.common import is_terminal
from evidencekit.cli.examiner import acting_examiner, examiner_option

MANIFEST = click.argument("manifest", type=click.Path(dir_okay=False))
JSON = click.option("--json", "as_json", is_flag=True, help="JSON lines on stdout (progress events, then the summary).")


@click.group("batch")
def batch_group() -> None:
    """Process many exhibits from a YAML manifest, on a local process pool or a Dask cluster."""


@batch_group.command("validate")
@MANIFEST
def validate_cmd(manifest: str) -> None:
    """Check MANIFEST against the schema (docs/batch-manifest-schema.json); problems as file:line:column."""
    loaded = load_manifest(manifest)
    for problem in loaded.exhibit_problems.values():
        click.echo(f"evidencekit: warning: {problem}", err=True)
    count = sum(len(c.exhibits) for c in loaded.manifest.cases)
    click.echo(f"{loaded.path}: valid ({len(loaded.manifest.cases)} cases, {count} exhibits, sha256 {loaded.sha256})")


@batch_group.command("run")
@MANIFEST
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local worker processes (default: the cores). Ignored with --scheduler.")
@click.option("--scheduler", metavar="URL", default=None,
              help="A running Dask scheduler, e.g. tcp://10.0.0.5:8786 (workers: `dask worker URL --nthreads 1`).")
@JSON
@examiner_option
def run_cmd(manifest: str, workers: int | None, scheduler: str | None, as_json: bool, examiner_id: str | None) -> None:
    """Run every exhibit of MANIFEST through its steps; finished steps are skipped, so a rerun resumes.

    Exit 0 when every exhibit finished, 1 when some failed (the others still finished), 2 for a
    bad manifest or an unusable cluster.
    """
    from evidencekit.batch.executors import make_executor

    loaded = load_manifest(manifest)
    examiner = acting_examiner(examiner_id or loaded.manifest.examiner)
    live = _LiveTable() if is_terminal() and not as_json else None
    on_event = _print_json if as_json else (live.update if live else None)
    with make_executor(workers, scheduler) as executor:
        from evidencekit.batch.coordinator import Coordinator  # imported while the local workers start

        try:
            if live:
                live.start()
            summary = Coordinator(loaded, executor, examiner, on_event, environ=os.environ).run()
        finally:
            if live:
                live.stop()
    _print_summary(summary, as_json)
    sys.exit(0 if all(row["status"] == "done" for row in summary) else 1)


@batch_group.command("status")
@MANIFEST
@JSON
def status_cmd(manifest: str, as_json: bool) -> None:
    """Show, from the cases themselves, which steps of each exhibit of MANIFEST are done."""
    from evidencekit.batch.status import batch_status

    rows = batch_status(load_manifest(manifest))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        state = " ".join(f"{step}:{value}" for step, value in row["steps"].items())
        extra = f"  ({row['error']})" if row["error"] else ""
        click.echo(f"{row['case']}  {row['exhibit']}  {row['status']}  {state}{extra}")


def _print_json(event: dict[str, Any]) -> None:
    if event["event"] != "tick":
        click.echo(json.dumps(event, ensure_ascii=False))


def _print_summary(summary: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"event": "summary", "exhibits": summary}, ensure_ascii=False))
        return
    for row in summary:
        skipped = f" skipped:{','.join(row['skipped'])}" if row["skipped"] else ""
        click.echo(f"{row['exhibit']}\t{row['status']}\t{row['seconds']:.1f} s\tfiles {row['files']}\t"
                   f"events {row['events']}\twarnings {len(row['warnings'])}{skipped}\t{row['case']}")
        if row["error"]:
            click.echo(f"evidencekit: error: {row['error']}", err=True)
    failed = sum(row["status"] != "done" for row in summary)
    click.echo(f"{len(summary) - failed} of {len(summary)} exhibits finished, {failed} failed")


class _LiveTable:
    """A rich table per exhibit (step, counts, rate, ETA) on stderr, redrawn as events come."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.retries = 0
        self.live = Live(console=Console(stderr=True), refresh_per_second=4, transient=True)

    def start(self) -> None:
        self.live.start()

    def stop(self) -> None:
        self.live.stop()

    def update(self, event: dict[str, Any]) -> None:
        if event["event"] == "tick":
            self.retries = event["retries"]
        else:
            self.rows[(event["case"], event["exhibit"])] = event
        self.live.update(self._table())

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(title=f"batch (units retried: {self.retries})")
        for name in ("exhibit", "status", "step", "units", "files", "events", "files/s", "ETA s", "warnings"):
            table.add_column(name)
        for row in self.rows.values():
            table.add_row(row["exhibit"], row["status"], row["step"], f"{row['units_done']}/{row['units_total']}",
                          str(row["files"]), str(row["events"]), str(row["rate_files_s"] or ""),
                          str(row["eta_s"] if row["eta_s"] is not None else ""), str(len(row["warnings"])))
        return table


COMMANDS = [batch_group]
