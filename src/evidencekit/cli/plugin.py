"""The built-in commands, in the order `evidencekit --help` lists them (kind ``command``: the
module exposing ``COMMANDS``; it is imported only when one of its commands is asked for)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evidencekit.registry import Registry

COMMANDS = (
    ("info", "evidencekit.cli.evidence"),
    ("files", "evidencekit.cli.evidence"),
    ("training", "evidencekit.cli.training"),
    ("verify", "evidencekit.cli.verify"),
    ("examiner", "evidencekit.cli.examiner"),
    ("case", "evidencekit.cli.case"),
    ("custody", "evidencekit.cli.custody"),
    ("timeline", "evidencekit.cli.timeline"),
    ("scan", "evidencekit.cli.scan"),
    ("hashset", "evidencekit.cli.hashset"),
    ("sop", "evidencekit.cli.sop"),
)


def register(registry: Registry) -> None:
    for order, (name, module) in enumerate(COMMANDS):
        registry.add("command", name, module, order=order)
