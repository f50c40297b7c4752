"""The built-in export formats: timeline writers by format name (kind ``exporter``,
``timeline:<format>``) and the file-listing formats (``files:<format>``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evidencekit.registry import Registry

TIMELINE = (("csv", "write_csv"), ("jsonl", "write_jsonl"), ("bodyfile", "write_bodyfile"),
            ("timesketch", "write_timesketch"))
FILES = ("jsonl", "csv", "bodyfile")


def register(registry: Registry) -> None:
    for order, (name, writer) in enumerate(TIMELINE):
        registry.add("exporter", f"timeline:{name}", f"evidencekit.exporters.timeline:{writer}", order=order)
    for order, name in enumerate(FILES):
        registry.add("exporter", f"files:{name}", "evidencekit.exporters.files:Renderer", order=order)
