"""The bounded YAML reader: billion laughs, recursive aliases, deep nesting, duplicate keys."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from case.util import run_cli
from evidencekit.errors import ValidationError
from evidencekit.yamlsafe import MAX_ALIAS_NODES, YamlError, load_yaml


def billion_laughs(levels: int = 9) -> str:
    """The classic: each level a list of nine aliases of the level before (9^levels strings)."""
    names = "abcdefghijklmnop"[:levels]
    lines = ["a: &a [" + ", ".join(['"lol"'] * 9) + "]"]
    lines += [f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]" for prev, cur in zip(names, names[1:], strict=False)]
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_at_once_with_file_and_line() -> None:
    text = billion_laughs(9)
    assert len(text) < 500
    started = time.monotonic()
    with pytest.raises(YamlError) as caught:
        load_yaml(text, "bomb.yaml")
    assert time.monotonic() - started < 1
    err = caught.value
    assert (err.source, err.line) == ("bomb.yaml", 5)  # the first alias past the bound: level e
    assert str(err).startswith("bomb.yaml:5:") and "billion laughs" in str(err)


def test_aliases_within_the_bound_still_work() -> None:
    data = load_yaml("base: &base {hashes: [md5, sha256], jobs: 2}\nfirst: *base\nsecond: {<<: *base, jobs: 4}\n", "ok")
    assert data["first"] == {"hashes": ["md5", "sha256"], "jobs": 2} and data["second"]["jobs"] == 4
    wide = "x: &x [" + ", ".join(["1"] * 99) + "]\nys: [" + ", ".join(["*x"] * (MAX_ALIAS_NODES // 100)) + "]\n"
    assert len(load_yaml(wide, "wide")["ys"]) == MAX_ALIAS_NODES // 100  # 99 * 100 + 100 nodes: just inside


@pytest.mark.parametrize(("text", "line", "cause"), [
    ("a: &a [1, *a]\n", 1, "recursive"),
    ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a'"),
    ("[" * 3000 + "]" * 3000 + "\n", 1, "nested too deeply"),
    ("a: [1, 2\n", 2, "malformed YAML"),
])
def test_other_hostile_yaml_is_one_clear_error(text: str, line: int, cause: str) -> None:
    with pytest.raises(YamlError) as caught:
        load_yaml(text, "f.yaml")
    assert caught.value.line == line and cause in str(caught.value) and "\n" not in str(caught.value)


def test_sop_validate_and_grader_refuse_a_bomb(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs(9))
    started = time.monotonic()
    proc = run_cli("sop", "validate", str(bomb))
    assert time.monotonic() - started < 20 and proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{bomb}:5:" in proc.stderr and "billion laughs" in proc.stderr
    from evidencekit.training.grader import read_sheet

    with pytest.raises(ValidationError, match="line 5"):
        read_sheet(bomb)
