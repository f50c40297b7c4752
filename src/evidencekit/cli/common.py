"""Options and helpers every command module shares: evidence credentials, display zone, progress,
--quiet (added to every command by the main group)."""

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


_QUIET = {"on": False}


def reset_quiet() -> None:
    _QUIET["on"] = False


def set_quiet(ctx: click.Context | None, _param: object, value: bool) -> None:
    if value:
        _QUIET["on"] = True


QUIET_HELP = "No progress display and no notes on stderr (results, warnings and errors still print)."


def add_quiet(command: click.Command) -> None:
    """Give ``command`` (and every subcommand) ``--quiet/-q`` (read by :func:`quiet`) and
    ``--lang`` (the language of messages; a command's own ``--lang`` also sets it)."""
    from evidencekit.cli.lang import LANG_OPTION, choose_own

    names = {p.name: p for p in command.params}
    if "quiet" not in names:
        command.params.append(click.Option(["--quiet", "-q"], is_flag=True, expose_value=False,
                                           callback=set_quiet, help=QUIET_HELP))
    if "lang" not in names and not isinstance(command, click.Group):
        LANG_OPTION(command)
    elif "lang" in names and names["lang"].callback is None:  # e.g. sop and training: their --lang
        option = names["lang"]
        option.default = None
        if isinstance(option, click.Option):
            option.show_default = False
        option.callback = choose_own
    for sub in getattr(command, "commands", {}).values():
        add_quiet(sub)


def quiet() -> bool:
    return _QUIET["on"]


def note(message: str) -> None:
    """An informational line on stderr, unless --quiet."""
    if not quiet():
        click.echo(message, err=True)


def is_terminal() -> bool:
    """Whether to draw progress: stderr is a terminal and --quiet was not given."""
    return sys.stderr.isatty() and not quiet()


class Bar:
    """What a progress helper yields: ``bar(n)`` advances by n; ``bar.update(done, total)`` sets
    both, for library callbacks that report (done, total). Does nothing off a terminal."""

    def __init__(self, progress: Any = None, task: Any = None):
        self._progress, self._task = progress, task

    def __call__(self, n: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def update(self, done: int, total: int | None = None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, **({"total": total} if total is not None else {}))

    def describe(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=text)


def _progress(unit: str) -> Any:
    """The one column set of every bar: what, bar, done/total (bytes, or a count: "n/?" while the
    total is unknown), time taken, time left (from the rate so far), and the rate for bytes."""
    from rich.console import Console
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

    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                          DownloadColumn() if unit == "bytes" else MofNCompleteColumn(), TimeElapsedColumn(),
                          TimeRemainingColumn()]
    if unit == "bytes":
        columns.append(TransferSpeedColumn())
    # On stderr: stdout carries the command's output, which may be redirected to a file.
    return Progress(*columns, console=Console(stderr=True), transient=True, redirect_stdout=False)


@contextmanager
def progress_bar(description: str, total: int | None = None, unit: str = "items") -> Iterator[Bar]:
    """Yields a :class:`Bar`. Draws a rich progress bar on a terminal; does nothing in scripts."""
    if not is_terminal():
        yield Bar()
        return
    with _progress(unit) as progress:
        yield Bar(progress, progress.add_task(description, total=total or None))


@contextmanager
def phase_progress(label: str, totals: dict[str, int | None],
                   unit: str = "items") -> Iterator[Callable[[str, int], None] | None]:
    """Yields advance(phase, n) drawing one bar per phase (a total, count and ETA where the
    phase's total is known, else a count and the elapsed time); None off a terminal."""
    if not is_terminal():
        yield None
        return
    with _progress(unit) as bar:
        tasks: dict[str, Any] = {}

        def advance(phase: str, n: int) -> None:
            new = phase not in tasks
            if new:
                tasks[phase] = bar.add_task(f"{label}: {phase}", total=totals.get(phase))
            bar.advance(tasks[phase], n)
            task = bar.tasks[tasks[phase]]
            if task.total is not None and task.completed > task.total:  # an estimate passed: follow the count
                bar.update(tasks[phase], total=task.completed)
            if new:
                bar.refresh()  # every phase is drawn at least once, however short

        yield advance
