"""Helpers shared by the built-in actions."""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from types import ModuleType

from evidencekit.sop.registry import StepResult


def optional_module(name: str) -> ModuleType | None:
    """Import a layer's module; None when that layer is not installed in this build."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def not_available(what: str) -> StepResult:
    """The failed result of an action whose layer is absent: recorded, never a crash."""
    return StepResult(False, f"not available: {what} is not part of this evidencekit build",
                      values={"available": False})


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
