"""Options and helpers every command module shares: evidence credentials, display zone, progress."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from evidencekit.sources import Credentials, Evidence, open_evidence


def credential_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--password / --recovery-key for encrypted volumes and archives."""
    func = click.option("--recovery-key", metavar="KEY", envvar="EVIDENCEKIT_RECOVERY_KEY",
                        help="Recovery key for BitLocker/FileVault (or env EVIDENCEKIT_RECOVERY_KEY).")(func)
    func = click.option("--password", metavar="PASSWORD", envvar="EVIDENCEKIT_PASSWORD",
                        help="Password for an encrypted volume, archive, Android backup or iOS backup "
                        "(or env EVIDENCEKIT_PASSWORD).")(func)
    return func


def open_from_cli(path: str, password: str | None, recovery_key: str | None, locked_ok: bool = False) -> Evidence:
    return open_evidence(path, Credentials(password=password, recovery_key=recovery_key), locked_ok=locked_ok)


def tz_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--tz", "tz", default="UTC", show_default=True, metavar="ZONE",
                        help="Display time zone (IANA name, e.g. Asia/Almaty). Storage is always UTC.")(func)


def is_terminal() -> bool:
    return sys.stderr.isatty()


@contextmanager
def progress_bar(description: str, total: int | None = None, unit: str = "items") -> Iterator[Callable[[int], None]]:
    """Yields advance(n). Draws a rich progress bar on a terminal; does nothing in scripts."""
    if not is_terminal():
        yield lambda n: None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if total:
        columns += [BarColumn(), DownloadColumn() if unit == "bytes" else MofNCompleteColumn(), TimeRemainingColumn()]
    else:
        columns += [MofNCompleteColumn() if unit != "bytes" else DownloadColumn(), TimeElapsedColumn()]
    if unit == "bytes":
        columns.append(TransferSpeedColumn())
    from rich.console import Console

    # On stderr: stdout carries the command's output, which may be redirected to a file.
    with Progress(*columns, console=Console(stderr=True), transient=True, redirect_stdout=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
