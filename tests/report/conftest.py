"""The report tests use the findings tests' cases (the office workstation training image)."""

from __future__ import annotations

from findings.conftest import examiner, ws_case  # noqa: F401 - fixtures shared with tests/findings
