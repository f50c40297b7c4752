"""Generate the CLI reference (docs/cli.md) from the commands' own help: `make docs`."""

from __future__ import annotations

from collections.abc import Iterator

import click

from evidencekit.cli import main


def walk(command: click.Command, path: tuple[str, ...] = ("evidencekit",)) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command and subcommand, depth first, in the order `--help` lists them."""
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1])
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from walk(sub, (*path, name))


def render() -> str:
    parts = ["# evidencekit command reference", "",
             "Generated from `--help` by `make docs`; do not edit by hand.", ""]
    for path, command in walk(main):
        ctx = click.Context(command, info_name=" ".join(path))
        parts += [f"{'#' * min(len(path) + 1, 4)} `{' '.join(path)}`", "", "```", command.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
