"""The when: language: evaluation and precise errors; nothing is eval()-ed."""

from __future__ import annotations

import pytest

from evidencekit.sop.expr import ExprError, Expression

ENV = {"exhibit": {"kind": "disk_image", "id": "E1"},
       "steps": {"verify": {"result": "passed", "values": {"matches": 3}},
                 "seal": {"result": "failed", "values": {"intact": False}}}}


@pytest.mark.parametrize("text,expected", [
    ("exhibit.kind in [disk_image, storage_media]", True),
    ("exhibit.kind not in [disk_image, storage_media]", False),
    ("steps.verify.result == passed", True),
    ("steps.seal.values.intact == false and steps.verify.values.matches > 2", True),
    ("not steps.verify.values.matches >= 3 or exhibit.id == 'E1'", True),
    ("(steps.seal.result == passed or steps.seal.result == deviated) and true", False),
    ("steps.missing.values.x > 0", False),
    ("steps.verify.values.matches < 'a'", False),
    ('exhibit.kind == "disk_image"', True),
])
def test_evaluate(text: str, expected: bool) -> None:
    assert Expression(text).evaluate(ENV) is expected


@pytest.mark.parametrize("text,pos,fragment", [
    ("exhibit.kind ==", 15, "expected a value"),
    ("exhibit.kind = disk", 13, "unexpected character '='"),
    ("__import__('os').system('x')", 16, "unexpected character '.'"),
    ("os.system == 1", 0, "unknown name 'os.system'"),
    ("exhibit", 0, "needs an attribute"),
    ("(exhibit.kind == a", 18, "expected ')'"),
    ("exhibit.kind in [a, b", 21, "expected ']'"),
])
def test_errors(text: str, pos: int, fragment: str) -> None:
    with pytest.raises(ExprError) as info:
        Expression(text)
    assert fragment in str(info.value) and info.value.pos == pos


def test_variables_listed_for_validation() -> None:
    expr = Expression("exhibit.kind == a or steps.verify.values.matches > 0")
    assert expr.variables() == [(("exhibit", "kind"), 0), (("steps", "verify", "values", "matches"), 21)]
