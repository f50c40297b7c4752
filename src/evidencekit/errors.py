"""The one exception family. The CLI maps each class to an exit code and prints one line."""

from __future__ import annotations


def one_line(err: BaseException) -> str:
    """An exception's message on one line (its type's name when it has none): what a warning shows."""
    return " ".join(str(err).split()) or type(err).__name__


class EvidenceKitError(Exception):
    """Root of every error evidencekit raises on purpose. ``str(err)`` is the one line shown."""

    exit_code = 2


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
