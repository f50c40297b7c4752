"""The ``evidencekit`` command: a thin layer that parses, calls the library and prints.

Each command group lives in its own module and is registered in ``cli/plugin.py`` (plugin registry kind ``command``); a module
exposes ``COMMANDS``, a list of click commands or groups.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from evidencekit import settings
from evidencekit.cli.translated import (
    TranslatedHelp,
    english_while_importing,
    install_click_catalogue,
    use_translated_help,
)
from evidencekit.errors import EvidenceKitError

install_click_catalogue()  # click's own messages (usage errors, "Usage:") in the chosen language


def command_modules() -> dict[str, str]:
    """Each top-level command and the module that defines it (plugin registry kind ``command``;
    the module exposes ``COMMANDS``, a list of click commands or groups). Registration order is
    the order of `evidencekit --help`; tests/test_cli_help.py checks the index and the modules agree."""
    from evidencekit.registry import registry

    return {item.name: item.target for item in registry().items("command")}


def _log_to_stderr() -> None:
    """The library reports through ``logging`` (it never prints); the CLI shows those lines."""
    logger = logging.getLogger("evidencekit")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("evidencekit: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _choose_lang(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """Start of every invocation: the language from --lang or the locale, --quiet off (a process
    may run several invocations, as tests do)."""
    from evidencekit.cli import common, lang

    settings.reset()  # the locale is read through settings: this invocation's environment
    common.reset_quiet()
    lang.reset()
    return lang.choose(ctx, param, value)


class _Main(TranslatedHelp, click.Group):
    """Turns every EvidenceKitError into one line on stderr and its exit code: no tracebacks.

    A command's module is imported only when that command is asked for, so `evidencekit files`
    does not pay for importing the case store, plaso glue or numpy.
    """

    def _load(self, module_name: str) -> None:
        from evidencekit.cli.common import add_quiet

        with english_while_importing():
            module = importlib.import_module(module_name)
        for command in module.COMMANDS:
            add_quiet(command)  # every command takes --quiet
            use_translated_help(command)  # and shows its help in the chosen language
            self.add_command(command)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from evidencekit.cli import lang

        lang.reset()  # a language an earlier invocation in this process chose is not this one's
        return super().parse_args(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        modules = command_modules()
        if cmd_name not in self.commands and cmd_name in modules:
            self._load(modules[cmd_name])
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(command_modules())

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        from evidencekit.cli.lang import _, error_line

        _log_to_stderr()
        settings.reset()  # each invocation reads the environment it runs in (once)
        try:
            return super().invoke(ctx)
        except EvidenceKitError as err:
            click.echo(_("evidencekit: error: {error}", error=error_line(err)), err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo(_("evidencekit: interrupted"), err=True)
            sys.exit(130)
        except BrokenPipeError:
            sys.exit(141)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="evidencekit", prog_name="evidencekit")
@click.option("--lang", metavar="LANG", default=None, expose_value=False, is_eager=True, callback=_choose_lang,
              help="Language of messages and prompts (en, ru); default: the locale ($LC_ALL, $LANG).")
def main() -> None:
    """evidencekit: forensic ingest, inventory, timelines, custody and SOP checklists.

    Evidence is opened read-only and never modified. Times are UTC with the source's full
    precision unless a display zone is asked for.
    """

