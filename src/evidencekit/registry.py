"""One plugin registry for every extension point.

A plugin is a module with a ``register(registry)`` function that calls :meth:`Registry.add` for
what it provides. Built-in plugins are listed in ``builtin_plugins.txt`` beside this file (data,
not imports, so no layer's code names another's); third-party plugins are found through the
``evidencekit.plugins`` entry-point group. Both are loaded the same way, on first use.

Kinds (what ``target`` is):

=========== ==================================================================================
source      a detector: ``detect(path, head) -> bool`` and ``open(path, credentials, locked_ok)``;
            tried in ``order``, the dfvfs disk-image scanner last (the catch-all)
reader      a native timeline reader (``timeline.native.Reader``)
digest      ``func(db, ident) -> sha256`` of a layer's stored rows, by table (``db:<table>/<id>``)
schema      a ``case.schema.Migration``-like object with a global ``number``
exporter    a writer of one export format, by format name
sop_action  a module of SOP step actions (``sop.registry`` reads its decorators)
training    the module building one training scenario, by scenario name
command     the CLI module of one command group, by command name
=========== ==================================================================================

A target may be given as ``"package.module:attribute"`` so that registering costs no import;
:meth:`Registry.resolve` imports it when it is used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

ENTRY_POINT_GROUP = "evidencekit.plugins"
BUILTIN_LIST = Path(__file__).with_name("builtin_plugins.txt")
KINDS = ("source", "reader", "digest", "schema", "exporter", "sop_action", "training", "command")


@dataclass(frozen=True)
class Registration:
    kind: str
    name: str
    target: Any
    order: int
    plugin: str


class Registry:
    """Registrations by kind and name. Use :func:`registry` for the loaded, process-wide one."""

    def __init__(self) -> None:
        self._items: dict[str, dict[str, Registration]] = {kind: {} for kind in KINDS}
        self._plugin = "<direct>"

    def add(self, kind: str, name: str, target: Any, order: int = 0) -> None:
        """Register ``target`` as ``name`` of ``kind``; a second registration of a name is an error."""
        if kind not in self._items:
            raise ValueError(f"plugin {self._plugin}: unknown registration kind {kind!r} (known: {', '.join(KINDS)})")
        if name in self._items[kind]:
            raise ValueError(f"plugin {self._plugin}: {kind} {name!r} already registered by "
                             f"{self._items[kind][name].plugin}")
        self._items[kind][name] = Registration(kind, name, target, order, self._plugin)

    def add_migrations(self, layer: str, migrations: Any) -> None:
        """Register a layer's schema migrations, each as ``<layer>:<global number>``."""
        for migration in migrations:
            self.add("schema", f"{layer}:{migration.number}", migration)

    def items(self, kind: str) -> list[Registration]:
        """Registrations of ``kind`` in (order, name) order."""
        return sorted(self._items[kind].values(), key=lambda r: (r.order, r.name))

    def names(self, kind: str) -> list[str]:
        return [r.name for r in self.items(kind)]

    def find(self, kind: str, name: str) -> Registration | None:
        return self._items[kind].get(name)

    def get(self, kind: str, name: str) -> Any:
        """The resolved target of ``name``; KeyError when nothing of that name is registered."""
        return self.resolve(self._items[kind][name])

    def resolve(self, item: Registration) -> Any:
        target = item.target
        if isinstance(target, str) and ":" in target:
            module, _, attribute = target.partition(":")
            return getattr(importlib.import_module(module), attribute)
        return target

    def load_plugin(self, module_name: str) -> None:
        module = importlib.import_module(module_name)
        self._plugin = module_name
        try:
            module.register(self)
        finally:
            self._plugin = "<direct>"


def builtin_plugins() -> list[str]:
    lines = BUILTIN_LIST.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


_LOADED: Registry | None = None


def registry() -> Registry:
    """The process-wide registry: built-in plugins first, then the installed third-party ones."""
    global _LOADED
    if _LOADED is None:
        loaded = Registry()
        for name in builtin_plugins():
            loaded.load_plugin(name)
        for point in entry_points(group=ENTRY_POINT_GROUP):
            loaded.load_plugin(point.value.split(":")[0])
        _LOADED = loaded
    return _LOADED


def reset() -> None:
    """Forget the loaded registry: the next :func:`registry` call loads the plugins again."""
    global _LOADED
    _LOADED = None
