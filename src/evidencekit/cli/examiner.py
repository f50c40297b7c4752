"""``evidencekit examiner``: create and list examiner signing keys (kept outside any case)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from evidencekit import settings
from evidencekit.case import examiners
from evidencekit.errors import CustodyError


def examiner_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--examiner ID (or env EVIDENCEKIT_EXAMINER): who performs and signs the action."""
    return click.option("--examiner", "examiner_id", metavar="ID", default=None,
                        help="Acting examiner who signs the ledger entry (or env EVIDENCEKIT_EXAMINER).")(func)


def acting_examiner(examiner_id: str | None) -> examiners.Examiner:
    """Load the acting examiner; prompt for the passphrase on a terminal when none is set."""
    resolved = examiners.resolve_id(examiner_id)
    passphrase = settings.get().passphrase
    if passphrase is None and examiners.needs_passphrase(resolved) and sys.stdin.isatty():
        passphrase = click.prompt(f"Passphrase for examiner {resolved}", hide_input=True, err=True)
    return examiners.load_examiner(resolved, passphrase)


@click.group("examiner")
def examiner_group() -> None:
    """Examiner identities: Ed25519 key pairs that sign custody ledger entries."""


@examiner_group.command("init")
@click.option("--name", required=True, help="Full name of the examiner, as it should appear in reports.")
@click.option("--id", "examiner_id", required=True, help="Short unique examiner id (letters, digits, . _ -).")
@click.option("--passphrase/--no-passphrase", default=False, show_default=True,
              help="Protect the private key with a passphrase (env EVIDENCEKIT_PASSPHRASE or a prompt).")
def init_cmd(name: str, examiner_id: str, passphrase: bool) -> None:
    """Create an examiner key pair under $EVIDENCEKIT_HOME/examiners (default ~/.evidencekit)."""
    secret = None
    if passphrase:
        secret = settings.get().passphrase
        if secret is None:
            if not sys.stdin.isatty():
                raise CustodyError("--passphrase: set EVIDENCEKIT_PASSPHRASE or run on a terminal to be prompted")
            secret = click.prompt("New passphrase", hide_input=True, confirmation_prompt=True, err=True)
    ex = examiners.init_examiner(name, examiner_id, secret)
    click.echo(f"examiner {ex.id} ({ex.name}) created in {examiners.store_dir()}")
    click.echo(f"fingerprint SHA256:{ex.fingerprint}")


@examiner_group.command("list")
def list_cmd() -> None:
    """List the examiners in the local key store with their key fingerprints."""
    for ex in examiners.list_examiners():
        click.echo(f"{ex.id}\t{ex.name}\tSHA256:{ex.fingerprint}")


COMMANDS = [examiner_group]
