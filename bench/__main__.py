"""Run every benchmark module (or those named on the command line) and print their reports."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import bench

WORK = Path(__file__).resolve().parent.parent / "bench-output"


def main(names: list[str]) -> int:
    WORK.mkdir(exist_ok=True)
    modules = [m.name for m in pkgutil.iter_modules(bench.__path__) if m.name not in ("images", "util")]
    for name in sorted(modules):
        if names and name not in names:
            continue
        module = importlib.import_module(f"bench.{name}")
        if not hasattr(module, "run"):
            continue
        print(f"== bench {name}", flush=True)
        for line in module.run(WORK):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
