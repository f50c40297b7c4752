"""The one exception family. The CLI maps each class to an exit code and prints one line.

A message can be a template with named parameters, ``EvidenceError("{path}: wrong password",
path=p)``: ``str(err)`` is the English line, and :func:`render` gives it in another language
through a ``gettext`` function the caller passes (the CLI's ``errors`` catalogue), so the library
neither prints nor knows the CLI. ``plural="{n} ... {path}"`` with ``n=`` gives the catalogue's plural
forms. The error classes are the extraction keywords of that catalogue
(tests/test_error_messages.py): a literal template of a new message needs a translation there.
"""

from __future__ import annotations

from typing import Any, Protocol


def one_line(err: BaseException) -> str:
    """An exception's message on one line (its type's name when it has none): what a warning shows."""
    return " ".join(str(err).split()) or type(err).__name__


class EvidenceKitError(Exception):
    """Root of every error evidencekit raises on purpose. ``str(err)`` is the one line shown.

    ``template`` and ``params``: the message before formatting (see the module docstring)."""

    exit_code = 2

    def __init__(self, message: str = "", /, plural: str | None = None, **params: Any):
        self.template, self.plural, self.params = message, plural, params
        if plural is not None and params.get("n") != 1:
            message = plural  # English: the singular for n == 1, else the plural
        super().__init__(message.format(**params) if params else message)

    def __reduce__(self) -> tuple[Any, ...]:
        # Through worker processes with the template kept, whatever a subclass's __init__ takes.
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[EvidenceKitError], args: tuple[Any, ...], state: dict[str, Any]) -> EvidenceKitError:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


class EvidenceError(EvidenceKitError):
    """Evidence cannot be opened or read: not an image, truncated, missing segment, unknown format."""


class CredentialError(EvidenceError):
    """An encrypted volume needs a password or recovery key, or the one given is wrong."""


class CaseError(EvidenceKitError):
    """A case directory is missing, not a case, locked, or from a newer schema."""


class CustodyError(EvidenceKitError):
    """A custody ledger or bundle cannot be read, or an examiner key is missing or locked."""


class ValidationError(EvidenceKitError):
    """User-supplied data (SOP, answers, hash list, rules, manifest) is malformed."""


class ToolMissingError(EvidenceKitError):
    """An external program (a Debian package) that this action needs is not installed."""


class OutputError(EvidenceKitError):
    """An output file cannot be written: the disk is full, the file too large, no permission."""


class Catalogue(Protocol):
    """What :func:`render` needs of a catalogue: ``gettext.GNUTranslations`` has both."""

    def gettext(self, message: str, /) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int, /) -> str: ...


def render(err: BaseException, catalogue: Catalogue | None = None) -> str:
    """``err``'s line with its template translated through ``catalogue`` (English without one),
    with the catalogue's plural forms for a message made with ``plural=`` and ``n=``; a parameter
    that is itself an error is rendered the same way. A message made without a template (an
    f-string) is looked up whole, and stays English when the catalogue lacks it."""
    if catalogue is None or not isinstance(err, EvidenceKitError) or "template" not in vars(err):
        return str(err)
    if not err.params:
        return catalogue.gettext(str(err))
    params = {k: render(v, catalogue) if isinstance(v, BaseException) else v for k, v in err.params.items()}
    try:
        if err.plural is not None:
            return catalogue.ngettext(err.template, err.plural, int(params["n"])).format(**params)
        return catalogue.gettext(err.template).format(**params)
    except (KeyError, IndexError, ValueError):  # a translation naming a parameter the message lacks
        return str(err)
