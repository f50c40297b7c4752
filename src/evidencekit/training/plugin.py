"""The built-in training scenarios: name -> the module that builds it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evidencekit.registry import Registry

SCENARIOS = (
    ("usb-data-theft", "evidencekit.training.usb"),
    ("office-workstation", "evidencekit.training.office"),
    ("linux-server", "evidencekit.training.linux"),
    ("mobile", "evidencekit.training.mobile"),
)


def register(registry: Registry) -> None:
    for order, (name, module) in enumerate(SCENARIOS):
        registry.add("training", name, module, order=order)
