"""Reference hashes, the one model: an expected hash value, where it was stated, and the checks of
computed digests against references at a phase of the work (``verify``, a case's intake and its
processing gates before and after the walk)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reference:
    """One expected hash value and where it was stated: the one model of a reference hash, for
    ``verify`` and for a case's integrity checks alike."""

    algorithm: str  # md5 | sha1 | sha256
    value: str  # lower-case hex
    # "container" | "expect" | "sidecar" (stated with the evidence), "registered" | "acquisition"
    # (recorded with an exhibit at intake), "before" (the media hash of an earlier phase)
    origin: str
    source: str  # "container", "--expect", "<sidecar path>:<line>", or the origin
    description: str  # e.g. "EWF stored hash", "FTK Imager report: MD5 checksum (verified)"
    subject: str | None = None  # None: the decoded media (tree/archive, see docs); else a file whose bytes it covers


@dataclass(frozen=True)
class Check:
    reference: Reference
    computed: str
    status: str  # "match" | "mismatch"


PHASES = ("intake", "before", "after")  # of a case's integrity checks: registration, around processing


@dataclass(frozen=True)
class IntegrityCheck:
    """The decoded media's digests against reference hashes at one phase of a case's work."""

    phase: str
    references: tuple[Reference, ...]
    got: dict[str, str]

    @property
    def checks(self) -> list[Check]:
        return [Check(r, self.got[r.algorithm], "match" if self.got[r.algorithm] == r.value else "mismatch")
                for r in self.references if r.algorithm in self.got]

    @property
    def mismatches(self) -> list[str]:
        """Human-readable mismatches ([] when all agree), e.g. "acquisition md5 expected … got …"."""
        return [f"{c.reference.origin} {c.reference.algorithm} expected {c.reference.value} got {c.computed}"
                for c in self.checks if c.status == "mismatch"]

    @property
    def result(self) -> str:
        if not self.got:
            return "not applicable (no single media)"
        return "mismatch" if self.mismatches else "match"

    def as_details(self) -> dict[str, Any]:
        return {"phase": self.phase, "result": self.result, "mismatches": self.mismatches}

    def as_inputs(self) -> dict[str, str]:
        """The ledger inputs: ``<phase>_media_<alg>`` computed, ``<origin>_<alg>`` expected."""
        out = {f"{self.phase}_media_{alg}": h for alg, h in self.got.items()}
        out.update({f"{r.origin}_{r.algorithm}": r.value for r in self.references})
        return out


def references_from(origin: str, values: dict[str, str]) -> list[Reference]:
    """References of one origin from ``{algorithm: hex}`` (hex lower-cased)."""
    return [Reference(alg, value.lower(), origin, origin, origin) for alg, value in values.items()]
