"""Generate the CLI reference (docs/cli.md) from the commands' own help: `make docs`."""

from __future__ import annotations

from collections.abc import Iterator

import click

from evidencekit.cli import lang, main


def walk(command: click.Command, path: tuple[str, ...] = ("evidencekit",),
         parent: click.Context | None = None) -> Iterator[tuple[tuple[str, ...], click.Command, click.Context]]:
    """Every command and subcommand with its context, depth first, in the order `--help` lists them.

    Contexts are chained as when the command runs, so settings such as ``-h`` for help reach
    every subcommand, whatever else ran in this process before.
    """
    settings = command.context_settings if parent is None else {}
    ctx = click.Context(command, info_name=path[-1], parent=parent, **settings)
    yield path, command, ctx
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from walk(sub, (*path, name), ctx)


def render() -> str:
    """The reference in English, whatever language an earlier invocation in this process chose."""
    lang.choose(None, None, "en")
    parts = ["# evidencekit command reference", "",
             "Generated from `--help` by `make docs`; do not edit by hand.", ""]
    for path, command, ctx in walk(main):
        parts += [f"{'#' * min(len(path) + 1, 4)} `{' '.join(path)}`", "", "```", command.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
