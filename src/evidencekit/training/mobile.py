"""Scenario mobile: an Android logical extraction (zip) and an iOS backup folder of the other side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evidencekit.training import android, ios

NAME = "mobile"
TOOLS: tuple[str, ...] = ()  # Python standard library only


def build(work: Path, out: Path) -> dict[str, Any]:
    return {**android.build(work, out), **ios.build(work, out)}
