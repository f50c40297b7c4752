"""A re-scan replaces earlier results; the custody ledger must still verify intact."""

from __future__ import annotations

import os
import subprocess
import sys

from ektools import ROOT

SERVER = ROOT / "training_images" / "linux-server"


def test_rescans_keep_the_ledger_verifiable(tmp_path):
    env = dict(os.environ, EVIDENCEKIT_HOME=str(tmp_path / "home"), EVIDENCEKIT_EXAMINER="a")

    def ek(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "evidencekit", *args], env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result

    case = str(tmp_path / "case")
    ek("examiner", "init", "--name", "A", "--id", "a")
    ek("case", "init", case, "--number", "1", "--title", "t", "--authority", "w")
    ek("case", "add", case, str(SERVER / "server.img.gz"), "--exhibit", "E1")
    ek("case", "process", case)
    for _ in range(2):
        ek("scan", "types", case)
        ek("scan", "yara", case, "--rules", str(SERVER / "webshell.yar"))
    assert "intact" in ek("custody", "verify", case).stdout
