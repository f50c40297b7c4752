"""Step actions: ``@action("name")`` registers a function ``(ctx, params) -> StepResult``.

Built-in actions and plugins register the same way: a module declared in the entry-point group
``evidencekit.sop_actions`` is imported by :func:`load_actions`, and its ``@action`` decorators
fill the registry. A plugin is one module plus one entry-point line::

    [project.entry-points."evidencekit.sop_actions"]
    my_check = "my_lab.sop_checks"

An action may declare a pydantic model of its parameters; the loader validates an SOP's
``params:`` against it, so a misspelt parameter is a validation error with its line.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from evidencekit.errors import ValidationError

if TYPE_CHECKING:
    from evidencekit.sop.model import AutomatedStep, Sop



class NoParams(BaseModel):
    """Parameters of an action that takes none."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class StepContext:
    """What an action sees: the open case, the exhibit, who runs it, and the run so far."""

    case: Any  # evidencekit.case.Case
    exhibit: dict[str, Any]
    examiner: Any  # evidencekit.case.examiners.Examiner
    sop: Sop
    step: AutomatedStep
    run_id: str
    sop_dir: Path  # relative paths in params (rule files, hash sets) are relative to the SOP file
    prior: dict[str, dict[str, Any]] = field(default_factory=dict)  # step id -> {"result", "values"}

    @property
    def case_dir(self) -> Path:
        return Path(self.case.root)

    def resolve(self, relative: str) -> Path:
        """A path from the SOP's params, resolved against the SOP file's folder."""
        path = Path(relative)
        return path if path.is_absolute() else (self.sop_dir / path).resolve()


@dataclass
class StepResult:
    """The outcome of a step. ``passed=False`` is a failed check, recorded like any other result."""

    passed: bool
    summary: str
    values: dict[str, Any] = field(default_factory=dict)  # JSON-ready; readable by later `when:`
    outputs: dict[str, str] = field(default_factory=dict)  # case-relative path -> sha256
    entries: list[Any] = field(default_factory=list)  # ledger entry ids the action itself wrote
    # {"key", "args"} of evidencekit.sop.messages: the summary in the checklist's other languages
    message: dict[str, Any] | None = None

    @classmethod
    def said(cls, passed: bool, key: str, *, values: dict[str, Any] | None = None,
             outputs: dict[str, str] | None = None, entries: list[Any] | None = None, **args: Any) -> StepResult:
        """A result whose summary is the catalogue message ``key`` with ``args`` (JSON-ready facts)."""
        from evidencekit.sop.messages import render

        return cls(passed, render(key, args), values or {}, outputs or {}, entries or [], {"key": key, "args": args})

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "summary": self.summary, "values": self.values,
                "outputs": self.outputs, "entries": self.entries, "message": self.message}


ActionFunc = Callable[[StepContext, Any], StepResult]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    func: ActionFunc
    params: type[BaseModel]
    module: str
    doc: str


_ACTIONS: dict[str, ActionSpec] = {}
_loaded = False


def action(name: str, params: type[BaseModel] = NoParams) -> Callable[[ActionFunc], ActionFunc]:
    """Register ``func`` as the step action ``name``; ``params`` validates the SOP's ``params:``."""

    def register(func: ActionFunc) -> ActionFunc:
        existing = _ACTIONS.get(name)
        if existing and existing.func is not func and existing.module != func.__module__:
            raise ValidationError("SOP action {name!r} registered twice ({module}, {module2})",
                                  name=name, module=existing.module, module2=func.__module__)
        doc = (func.__doc__ or "").strip().splitlines()
        _ACTIONS[name] = ActionSpec(name, func, params, func.__module__, doc[0] if doc else "")
        return func

    return register


def load_actions(refresh: bool = False) -> dict[str, ActionSpec]:
    """Import every module registered as kind ``sop_action`` (once, or again with ``refresh``); the registry."""
    global _loaded
    if refresh or not _loaded:
        _loaded = True
        from evidencekit.registry import registry, reset

        if refresh:
            reset()
        for item in registry().items("sop_action"):  # modules whose @action decorators register
            importlib.import_module(item.target)
    return dict(_ACTIONS)


def get_action(name: str) -> ActionSpec:
    """The registered action ``name``; ValidationError naming the known ones otherwise."""
    actions = load_actions()
    if name not in actions:
        raise ValidationError("unknown SOP action {name!r} (known: {listing})", name=name,
                              listing=', '.join(sorted(actions)))
    return actions[name]
