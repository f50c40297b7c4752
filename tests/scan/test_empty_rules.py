"""A YARA rules file with no rule in it (empty, or only comments) is refused: a scan with zero
rules would report "no match" for every file. Real CLI runs, real yara-python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("text", ["", "// only a comment\n/* and a block */\n", 'import "pe"\n'])
@pytest.mark.parametrize("as_folder", [False, True])
def test_rules_without_a_rule_are_refused(tmp_path: Path, ext4_image: Path, text: str, as_folder: bool) -> None:
    rules = tmp_path / "rules" / "none.yar"
    rules.parent.mkdir()
    rules.write_text(text)
    given = rules.parent if as_folder else rules
    proc = subprocess.run([sys.executable, "-c", "from evidencekit.cli import main; main()", "scan", "yara",
                           str(ext4_image), "--rules", str(given)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and not proc.stdout, proc.stdout
    assert proc.stderr == f"evidencekit: error: {given}: holds no YARA rule (empty, or only comments and " \
                          "imports): nothing scanned\n"


def test_one_rule_is_enough(tmp_path: Path, ext4_image: Path) -> None:
    """The control: the same run with one rule scans and exits 0."""
    rules = tmp_path / "one.yar"
    rules.write_text('rule never_there { strings: $a = "no such text anywhere 7d1f" condition: $a }\n')
    proc = subprocess.run([sys.executable, "-c", "from evidencekit.cli import main; main()", "scan", "yara",
                           str(ext4_image), "--rules", str(rules)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
