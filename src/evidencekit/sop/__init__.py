"""SOP-driven checklists: the lab's procedures as data, run and recorded in the custody ledger.

- :mod:`~evidencekit.sop.model`: the typed SOP model (and the published JSON Schema).
- :mod:`~evidencekit.sop.loader`: YAML to model, every problem with file, line and column.
- :mod:`~evidencekit.sop.registry`: ``@action("name")`` step actions (built-ins and plugins).
- :mod:`~evidencekit.sop.library`: finding SOP files by id.
- :mod:`~evidencekit.sop.runner`: running an SOP against an exhibit of a case.
- :mod:`~evidencekit.sop.checklist`: the recorded state of runs and its views.
"""

from __future__ import annotations

from evidencekit.sop.loader import LoadedSop, load_sop, validate_text
from evidencekit.sop.model import Sop, json_schema
from evidencekit.sop.registry import StepContext, StepResult, action
from evidencekit.sop.yamlsrc import Problem, SopValidationError

__all__ = ["LoadedSop", "Problem", "Sop", "SopValidationError", "StepContext", "StepResult", "action",
           "json_schema", "load_sop", "validate_text"]
