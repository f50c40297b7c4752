"""The ``evidencekit`` command: a thin layer that parses, calls the library and prints.

Each command group lives in its own module and is registered in ``COMMAND_MODULES``; a module
exposes ``COMMANDS``, a list of click commands or groups.
"""

from __future__ import annotations

import importlib
import sys

import click

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
    """Turns every EvidenceKitError into one line on stderr and its exit code: no tracebacks.

    Command modules are imported lazily, in order, until the asked-for command is found, so
    `evidencekit files` does not pay for importing the case store, plaso glue or numpy.
    """

    _loaded = 0

    def _load_next(self) -> bool:
        if self._loaded >= len(COMMAND_MODULES):
            return False
        module = importlib.import_module(COMMAND_MODULES[self._loaded])
        self._loaded += 1
        for command in module.COMMANDS:
            self.add_command(command)
        return True

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        while cmd_name not in self.commands and self._load_next():
            pass
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        while self._load_next():
            pass
        return list(self.commands)

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
@click.version_option(package_name="evidencekit", prog_name="evidencekit")
def main() -> None:
    """evidencekit: forensic ingest, inventory, timelines, custody and SOP checklists.

    Evidence is opened read-only and never modified. Times are UTC with the source's full
    precision unless a display zone is asked for.
    """

