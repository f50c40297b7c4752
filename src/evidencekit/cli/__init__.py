"""The ``evidencekit`` command: a thin layer that parses, calls the library and prints.

Each command group lives in its own module and is registered in ``COMMAND_MODULES``; a module
exposes ``COMMANDS``, a list of click commands or groups.
"""

from __future__ import annotations

import importlib
import sys

import click

from evidencekit import __version__
from evidencekit.errors import EvidenceKitError

# One line per command module. Order is the order of `evidencekit --help`.
COMMAND_MODULES = [
    "evidencekit.cli.evidence",
    "evidencekit.cli.training",
    "evidencekit.cli.verify",
    "evidencekit.cli.examiner",
    "evidencekit.cli.case",
    "evidencekit.cli.custody",
    "evidencekit.cli.timeline",
    "evidencekit.cli.scan",
    "evidencekit.cli.hashset",
    "evidencekit.cli.sop",
]


class _Main(click.Group):
    """Turns every EvidenceKitError into one line on stderr and its exit code: no tracebacks."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except EvidenceKitError as err:
            click.echo(f"evidencekit: error: {err}", err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("evidencekit: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            sys.exit(141)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="evidencekit")
def main() -> None:
    """evidencekit: forensic ingest, inventory, timelines, custody and SOP checklists.

    Evidence is opened read-only and never modified. Times are UTC with the source's full
    precision unless a display zone is asked for.
    """


def _register() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        for command in module.COMMANDS:
            main.add_command(command)


_register()
