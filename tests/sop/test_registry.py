"""Step actions register through the entry-point group, built-ins exactly as a plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidencekit.case import Case
from evidencekit.registry import ENTRY_POINT_GROUP, registry
from evidencekit.sop import SopValidationError, validate_text
from evidencekit.sop.answers import Answers
from evidencekit.sop.loader import load_sop
from evidencekit.sop.registry import get_action, load_actions
from evidencekit.sop.runner import run_sop

BUILTINS = ("verify_hash", "inventory", "timeline", "export_timeline", "yara_scan", "hashset_match", "custody_export")

PLUGIN = '''
from pydantic import BaseModel, ConfigDict
from evidencekit.sop.registry import StepContext, StepResult, action

class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minimum: int = 1

@action("lab_min_files", params=Params)
def min_files(ctx: StepContext, params: Params) -> StepResult:
    """Fail when the exhibit's inventory has fewer files than ``minimum``."""
    (n,) = ctx.case.db.execute("SELECT count(*) FROM files WHERE exhibit = ? AND type = 'file'",
                               (ctx.exhibit["id"],)).fetchone()
    return StepResult(n >= params.minimum, f"{n} files (minimum {params.minimum})", values={"files": n})


def register(registry):
    registry.add("sop_action", "lab_checks", "lab_checks")
'''

SOP = """\
schema: evidencekit-sop/1
id: lab-plugin-check
version: "0.1"
title: {en: Plugin check, ru: Проверка модуля}
purpose: {en: Test, ru: Тест}
scope: [any]
steps:
  - id: inventory
    kind: automated
    title: {en: Inventory, ru: Перечень}
    instructions: {en: Walk, ru: Обход}
    action: inventory
  - id: enough
    kind: automated
    title: {en: Enough files, ru: Достаточно файлов}
    instructions: {en: Count, ru: Подсчёт}
    action: lab_min_files
    params: {minimum: MINIMUM}
"""


def test_builtins_register_as_a_plugin_would() -> None:
    declared = {item.target for item in registry().items("sop_action")}
    for name in BUILTINS:
        assert get_action(name).module in declared, f"{name} is not registered as an sop_action"


def _install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lab_checks.py").write_text(PLUGIN)
    dist = tmp_path / "lab_checks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: lab-checks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nlab_checks = lab_checks\n")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_a_plugin_is_one_module_and_one_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    case_e1: Case, alice) -> None:
    assert "lab_min_files" not in load_actions(refresh=True)
    with pytest.raises(SopValidationError, match="unknown action 'lab_min_files'"):
        validate_text(SOP.replace("MINIMUM", "2"), "plugin.yaml")
    _install_plugin(tmp_path, monkeypatch)
    assert "lab_min_files" in load_actions(refresh=True)
    with pytest.raises(SopValidationError, match=r"plugin\.yaml:18:23: steps\[1\]\.params\.minimum: parameter"):
        validate_text(SOP.replace("MINIMUM", "many"), "plugin.yaml")
    for minimum, status in ((2, "completed"), (50, "stopped")):
        path = tmp_path / f"plugin-{minimum}.yaml"
        path.write_text(SOP.replace("MINIMUM", str(minimum)).replace("lab-plugin-check", f"lab-plugin-{minimum}"))
        out = run_sop(case_e1, "E1", load_sop(path), alice, answers=Answers())
        assert out.status == status and out.run.steps["enough"].values["files"] == 3
