"""Print the published JSON Schema of the SOP format: ``python -m evidencekit.sop.schema > docs/sop-schema.json``."""

from __future__ import annotations

import json

from evidencekit.sop.model import json_schema


def render() -> str:
    """The schema as written to ``docs/sop-schema.json``."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
