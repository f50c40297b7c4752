"""The SOP library: where SOP files are found, by id or by path.

Search order: the folders in ``$EVIDENCEKIT_SOP_PATH`` (``os.pathsep``-separated), then the
``sops/`` folder shipped with evidencekit. The first file whose ``id`` matches wins.
"""

from __future__ import annotations

from pathlib import Path

from evidencekit import settings
from evidencekit.errors import ValidationError
from evidencekit.sop.loader import LoadedSop, load_sop
from evidencekit.sop.yamlsrc import SopValidationError

SHIPPED = Path(__file__).resolve().parents[3] / "sops"


def search_path() -> list[Path]:
    """The folders searched for SOPs, in order."""
    return [*settings.get().sop_path, SHIPPED]


def sop_files(folders: list[Path] | None = None) -> list[Path]:
    """Every ``*.yaml``/``*.yml`` file directly inside the search folders."""
    out: list[Path] = []
    for folder in folders if folders is not None else search_path():
        if folder.is_dir():
            out += sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return out


def list_sops(folders: list[Path] | None = None) -> tuple[list[LoadedSop], list[SopValidationError]]:
    """The valid SOPs (first of each id) and the errors of the invalid files."""
    found: dict[str, LoadedSop] = {}
    errors: list[SopValidationError] = []
    for path in sop_files(folders):
        try:
            loaded = load_sop(path)
        except SopValidationError as err:
            errors.append(err)
            continue
        found.setdefault(loaded.sop.id, loaded)
    return list(found.values()), errors


def find_sop(ref: str, folders: list[Path] | None = None) -> LoadedSop:
    """An SOP by file path or by id; ValidationError naming the folders searched otherwise."""
    as_path = Path(ref)
    if as_path.suffix in (".yaml", ".yml") and as_path.is_file():
        return load_sop(as_path)
    folders = folders if folders is not None else search_path()
    for path in sop_files(folders):
        if path.stem == ref:
            loaded = load_sop(path)
            if loaded.sop.id == ref:
                return loaded
    for loaded in list_sops(folders)[0]:
        if loaded.sop.id == ref:
            return loaded
    where = ", ".join(str(f) for f in folders)
    raise ValidationError("SOP {ref!r} not found (searched {where}; set EVIDENCEKIT_SOP_PATH)", ref=ref,
                          where=where)
