"""`make demo`: the main job of a lab, end to end, on the sample evidence shipped in training_images/.

An examiner identity is created, a case opened under a (fictional) warrant, three exhibits
registered, verified and inventoried, a timeline built and exported with its hash, and the chain
of custody verified and exported for exchange. Every step is an ordinary `evidencekit` command,
printed before it runs, so the demo doubles as a worked example.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "training_images"


def steps(out: Path) -> list[list[str]]:
    case = str(out / "case")
    office = str(IMAGES / "office-workstation" / "workstation.E01")
    usb = str(IMAGES / "usb-data-theft" / "usb.img.gz")
    android = str(IMAGES / "mobile" / "android-extraction.zip")
    return [
        ["examiner", "init", "--name", "Demo Examiner", "--id", "demo"],
        ["info", office],
        ["verify", office],
        ["files", usb, "--hash", "md5,sha256", "--format", "csv", "-o", str(out / "usb-files.csv")],
        ["case", "init", case, "--number", "DEMO-2026/001", "--title", "Demonstration case",
         "--authority", "Court order 12-34/2026 (fictional)", "--authority-date", "2026-11-01"],
        ["case", "add", case, office, "--exhibit", "E1", "--description", "Office workstation disk (E01)",
         "--seal", "SEAL-0001"],
        ["case", "add", case, usb, "--exhibit", "E2", "--description", "USB stick image", "--seal", "SEAL-0002"],
        ["case", "add", case, android, "--exhibit", "E3", "--description", "Android logical extraction"],
        ["case", "process", case],
        ["case", "status", case],
        ["timeline", "build", case, "--artifacts", "none"],
        ["timeline", "export", case, "--format", "csv", "--out", str(out / "case" / "exports" / "timeline.csv")],
        ["custody", "verify", case],
        ["custody", "export", case, "--out", str(out / "custody-bundle")],
        ["custody", "verify", str(out / "custody-bundle")],
    ]


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "demo-output").resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, EVIDENCEKIT_HOME=str(out / "home"), EVIDENCEKIT_EXAMINER="demo")
    for args in steps(out):
        print(f"\n$ evidencekit {shlex.join(args)}", flush=True)
        result = subprocess.run([sys.executable, "-m", "evidencekit", *args], env=env)
        if result.returncode != 0:
            print(f"demo: step failed with exit code {result.returncode}", file=sys.stderr)
            return result.returncode
    print(f"""
Demo complete. Results are in {out}:
  case/                 the case: case.db (inventory, timeline, custody ledger), exports/, reports/
  case/exports/         timeline.csv and its .sha256, recorded in the custody ledger
  usb-files.csv         every entry of the USB image with hashes and MACB times
  custody-bundle/       the signed custody ledger for exchange; check it with
                        evidencekit custody verify {out / 'custody-bundle'}
Examiner keys for the demo live in {out / 'home'} (not in your home directory).""")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
