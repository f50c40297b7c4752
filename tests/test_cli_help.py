"""Every command and option explains itself, and the CLI reference matches the code."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from evidencekit.cli import main
from evidencekit.cli.reference import render, walk

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [(path, command) for path, command, _ctx in walk(main)]


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_command_and_options_have_help(path, command):
    assert (command.help or command.short_help or "").strip(), f"{' '.join(path)} has no help text"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden and "--help" not in param.opts:
            assert (param.help or "").strip(), f"{' '.join(path)} {param.opts[0]} has no help text"


def test_cli_reference_is_up_to_date():
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == render(), "docs/cli.md is stale: run 'make docs'"


def test_command_index_names_each_module_s_commands():
    """The lazy loader finds a command through the registered command modules: it must agree with the modules."""
    import importlib

    from evidencekit.cli import command_modules

    COMMAND_MODULES = command_modules()

    defined = {command.name: name for name in set(COMMAND_MODULES.values())
               for command in importlib.import_module(name).COMMANDS}
    assert defined == COMMAND_MODULES
