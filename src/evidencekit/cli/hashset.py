"""``evidencekit hashset``: import and list known-good / known-bad hash sets."""

from __future__ import annotations

import json
from pathlib import Path

import click

from evidencekit.scan.hashlists import READERS
from evidencekit.scan.hashsets import KINDS, import_hash_set, list_hash_sets, store_dir


@click.group("hashset")
def hashset_group() -> None:
    """Hash sets (NSRL, known-bad lists) stored under $EVIDENCEKIT_HOME/hashsets/ for fast look-up."""


@hashset_group.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", required=True, type=click.Choice(KINDS), help="known-good (e.g. NSRL) or known-bad.")
@click.option("--format", "fmt", type=click.Choice(["auto", *READERS]), default="auto", show_default=True,
              help="Hash list format; auto detects plain lists, CSV with a header naming its hash columns, "
                   "hashdeep, NSRL CSV and NSRL SQLite (UTF-8 with or without a byte order mark, LF or CRLF).")
@click.option("--description", default="", help="Free text: where the list came from, its version.")
@click.option("--skip-malformed", is_flag=True,
              help="Import the well-formed lines and record the malformed ones (default: refuse the list).")
@click.option("--replace", is_flag=True, help="Replace an existing set of the same NAME.")
def import_cmd(name: str, file: str, kind: str, fmt: str, description: str, skip_malformed: bool,
               replace: bool) -> None:
    """Import FILE (MD5/SHA1/SHA256 list, hashdeep/md5deep, NSRL RDS) as hash set NAME."""
    report = import_hash_set(name, file, kind, description=description, fmt=None if fmt == "auto" else fmt,
                             skip_malformed=skip_malformed, replace=replace)
    m = report.manifest
    counts = ", ".join(f"{n:,} {alg}" for alg, n in m["counts"].items())
    click.echo(f"hash set {name} ({kind}, {m['format']}): {counts} in {m['import_seconds']} s")
    if report.malformed.count:
        click.echo(f"evidencekit: warning: {report.malformed.summary(Path(file))}; skipped", err=True)


@hashset_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the manifests as JSON.")
def list_cmd(as_json: bool) -> None:
    """List imported hash sets: name, kind, digests per algorithm, source."""
    sets = list_hash_sets()
    if as_json:
        click.echo(json.dumps([s.manifest for s in sets], indent=1))
        return
    if not sets:
        click.echo(f"no hash sets in {store_dir()}")
        return
    for s in sets:
        counts = ", ".join(f"{n:,} {alg}" for alg, n in s.counts.items())
        click.echo(f"{s.name:<24} {s.kind:<11} {counts:<40} {s.manifest['source']}")


COMMANDS = [hashset_group]
