"""The built-in export formats: timeline writers by format name (kind ``exporter``,
``timeline:<format>``) and the file-listing formats (``files:<format>``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evidencekit.registry import Registry

TIMELINE = (("csv", "timeline:write_csv"), ("l2tcsv", "l2tcsv:write_l2tcsv"), ("jsonl", "timeline:write_jsonl"),
            ("bodyfile", "timeline:write_bodyfile"), ("timesketch", "timeline:write_timesketch"),
            ("timesketch-csv", "timesketch:write_timesketch_csv"), ("xlsx", "xlsx:write_timeline"))
FILES = (("jsonl", "files:Renderer"), ("csv", "files:Renderer"), ("bodyfile", "files:Renderer"),
         ("dfxml", "dfxml:DfxmlRenderer"))


def register(registry: Registry) -> None:
    for order, (name, target) in enumerate(TIMELINE):
        registry.add("exporter", f"timeline:{name}", f"evidencekit.exporters.{target}", order=order)
    for order, (name, target) in enumerate(FILES):
        registry.add("exporter", f"files:{name}", f"evidencekit.exporters.{target}", order=order)
