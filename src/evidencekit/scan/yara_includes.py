"""Every file a YARA rule set includes: read by us, so that each is hashed and named in the ledger.

``yara.compile(include_callback=...)`` hands each ``include "..."`` to :class:`IncludeReader`,
which resolves it against the including file's folder (as libyara itself does), refuses one that
leaves the rules folder unless allowed, and returns the text it read: what is compiled is exactly
what is hashed. libyara names a nested including file by the name it was included as, not its
path, so the reader remembers which file each name resolved to (per namespace); a name that
resolved to two different files there cannot be told apart and is refused.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


class IncludeReader:
    """``include_callback`` for yara.compile; ``read`` holds every included file's bytes, ``problems``
    why an include was refused (yara itself only says that the callback gave nothing)."""

    def __init__(self, folder: Path, allow_outside: bool = False):
        self.folder = folder.resolve()
        self.allow_outside = allow_outside
        self.read: dict[Path, bytes] = {}
        self.problems: list[str] = []
        self._resolved: dict[tuple[str, str], set[Path]] = {}

    def __call__(self, requested: str, including: str | None, namespace: str) -> str | None:
        where = self._including_file(including, namespace)
        if where is None:
            self.problems.append(f"{including}: included under that name from two different places, so its "
                                 f"include {requested!r} cannot be resolved; give the included files distinct names")
            return None
        target = (where.parent / requested).resolve()
        if not self.allow_outside and not target.is_relative_to(self.folder):
            self.problems.append(f"{where}: include {requested!r} is outside the rules folder {self.folder} "
                                 "(--allow-outside-includes allows it)")
            return None
        try:
            data = target.read_bytes()
            text = data.decode("utf-8")
        except OSError as err:
            self.problems.append(f"{where}: include {requested!r}: cannot be read ({err.strerror})")
            return None
        except UnicodeDecodeError:
            self.problems.append(f"{where}: include {requested!r}: {target} is not UTF-8 text")
            return None
        self.read.setdefault(target, data)
        self._resolved.setdefault((namespace, requested), set()).add(target)
        return text

    def _including_file(self, including: str | None, namespace: str) -> Path | None:
        if including is None:
            return self.folder / "."
        known = self._resolved.get((namespace, including))
        if known is None:  # a top-level file: yara names it by the path it was given
            return Path(including).resolve()
        return next(iter(known)) if len(known) == 1 else None

    def manifest_names(self) -> list[tuple[str, str]]:
        """(name, sha256) of each included file: relative to the rules folder, absolute outside it."""
        out = []
        for path, data in self.read.items():
            name = path.relative_to(self.folder).as_posix() if path.is_relative_to(self.folder) else str(path)
            out.append((name, hashlib.sha256(data).hexdigest()))
        return sorted(out)
