"""Options and helpers every command module shares: evidence credentials, display zone, progress."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from evidencekit.sources import NAME_ENCODINGS, Credentials, Evidence, open_evidence


def credential_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--password / --recovery-key for encrypted volumes and archives."""
    func = click.option("--recovery-key", metavar="KEY", envvar="EVIDENCEKIT_RECOVERY_KEY",
                        help="Recovery key for BitLocker/FileVault (or env EVIDENCEKIT_RECOVERY_KEY).")(func)
    func = click.option("--password", metavar="PASSWORD", envvar="EVIDENCEKIT_PASSWORD",
                        help="Password for an encrypted volume, archive, Android backup or iOS backup "
                        "(or env EVIDENCEKIT_PASSWORD).")(func)
    return func


def open_from_cli(path: str, password: str | None, recovery_key: str | None, locked_ok: bool = False,
                  name_encoding: str | None = None, source_tz: str | None = None, as_archive: bool = False) -> Evidence:
    return open_evidence(path, Credentials(password=password, recovery_key=recovery_key), locked_ok=locked_ok,
                         name_encoding=name_encoding, source_tz=source_tz, as_archive=as_archive)


def name_encoding_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--name-encoding: the code page of archive and folder names that are not UTF-8."""
    return click.option("--name-encoding", type=click.Choice(NAME_ENCODINGS), default=None, metavar="CP",
                        help="Code page (cp1251, cp866, koi8-r) of archive and folder names that are not UTF-8, "
                             "and of zip names without the UTF-8 flag; raw bytes kept (raw_name).")(func)


def archive_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--as-archive", "as_archive", is_flag=True,
                        help="A zip or tar holding one disk image: list the archive itself as an extraction "
                             "instead of opening the image inside.")(func)


def source_tz_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--source-tz", "source_tz", default=None, metavar="ZONE",
                        help="Zone the source machine's clock ran in (IANA name, e.g. Asia/Almaty): FAT, exFAT "
                             "times without a UTC offset and zip DOS times are read in it. Default: UTC, named "
                             "in each record's assumed_zone.")(func)


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
