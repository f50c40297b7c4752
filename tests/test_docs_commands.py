"""Every shell block of README.md and docs/*.md runs as written (as sqlite-utils tests its docs).

A fenced ``sh``/``bash``/``console`` block is run in bash with ``set -e`` against the shipped
samples: ``evidencekit`` on PATH (this tree's code), a fresh ``EVIDENCEKIT_HOME``, ``/tmp/``
redirected into the test's own folder, ``../shared/corpus`` pointing at the corpus. In a
``console`` block only the ``$ `` lines (and their ``\\`` continuations) are commands; the other
lines are output. A block preceded by ``<!-- docs-test: skip: REASON -->`` is not run (its
commands name files a reader supplies); ``<!-- docs-test: after PAGE -->`` at the top of a page
runs that page's blocks first in the same session.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ektools import CORPUS

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(?P<skip><!-- docs-test: skip: [^\n]*?-->\n)?```(?P<lang>sh|bash|console|shell)\n(?P<body>.*?)^```",
                   re.M | re.S)
AFTER = re.compile(r"<!-- docs-test: after (\S+) -->")


def blocks(page: Path) -> list[str]:
    """The runnable scripts of ``page`` (skipped blocks left out)."""
    out = []
    for match in FENCE.finditer(page.read_text(encoding="utf-8")):
        if match["skip"]:
            continue
        body = match["body"]
        if match["lang"] == "console":
            body = _console_commands(body)
        out.append(body)
    return out


def _console_commands(body: str) -> str:
    commands, continuing = [], False
    for line in body.splitlines():
        if line.startswith("$ ") or continuing:
            commands.append(line[2:] if line.startswith("$ ") else line)
            continuing = line.rstrip().endswith("\\")
    return "\n".join(commands) + "\n"


def script(page: Path) -> str:
    found = AFTER.search(page.read_text(encoding="utf-8"))
    before = script(ROOT / found.group(1)) if found else ""
    return before + "".join(blocks(page))


def _shim(bin_dir: Path) -> None:
    bin_dir.mkdir()
    shim = bin_dir / "evidencekit"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "from evidencekit.cli import main; main()" "$@"\n')
    shim.chmod(0o755)
    validator = Path(sys.executable).with_name("case_validate")
    if validator.exists():
        (bin_dir / "case_validate").symlink_to(validator)


RUNNABLE = [p for p in PAGES if blocks(p)]


@pytest.mark.parametrize("page", RUNNABLE, ids=[p.name for p in RUNNABLE])
def test_command_blocks_run_as_written(page: Path, tmp_path: Path) -> None:
    text = script(page)
    if "../shared/corpus" in text and not CORPUS.is_dir():
        pytest.skip(f"{page.name} uses the corpus, absent at {CORPUS}")
    work = tmp_path / "work"
    work.mkdir()
    (work / "training_images").symlink_to(ROOT / "training_images")
    _shim(tmp_path / "bin")
    text = text.replace("/tmp/", f"{tmp_path}/tmp/").replace("../shared/corpus", str(CORPUS))
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "EVIDENCEKIT_HOME": str(tmp_path / "home"),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    for name in ("EVIDENCEKIT_EXAMINER", "EVIDENCEKIT_PASSPHRASE"):
        env.pop(name, None)
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", text], cwd=work, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{page.name}: exit {done.returncode}\n{done.stderr[-3000:]}"


PYTHON = re.compile(r"^```python\n(?P<body>.*?)^```", re.M | re.S)


def test_library_examples_run(tmp_path: Path) -> None:
    """docs/library.md's Python blocks, as one script from a folder holding the samples."""
    text = "\n".join(m["body"] for m in PYTHON.finditer((ROOT / "docs" / "library.md").read_text(encoding="utf-8")))
    assert "open_evidence" in text and "case.timeline" in text
    work = tmp_path / "work"
    work.mkdir()
    (work / "training_images").symlink_to(ROOT / "training_images")
    (tmp_path / "tmp").mkdir()
    script = work / "library.py"
    script.write_text(text.replace("/tmp/", f"{tmp_path}/tmp/"), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(script)], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "deleted:" in done.stdout and "'status': " not in done.stderr


def test_readme_says_how_to_get_evidencekit_on_the_path() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ". .venv/bin/activate" in text and ".venv/bin/evidencekit " not in text
