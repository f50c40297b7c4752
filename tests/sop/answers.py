"""Scripted answers for the shipped SOPs, as an examiner would write them in an answers file."""

from __future__ import annotations

from typing import Any

ATTESTATIONS: dict[str, dict[str, Any]] = {
    "receipt": {"seal_intact": True, "seal_number": "S-0412", "received_from": "DC Ivanova, CID",
                "photographs_taken": True, "media": "usb_flash"},
    "documentation": {"acquisition_log_present": True, "acquisition_tool": "ewfacquire 20140816",
                      "write_blocker": "Tableau T35u", "acquired_on": "2026-11-20"},
    "storage": {"new_seal_number": "S-0413", "store_location": "Evidence store B, shelf 4"},
    "authority": {"authority_checked": True, "authority_reference": "W-77 of 2026-11-01",
                  "questions": "Are there documents about the budget?"},
    "write_blocker": {"write_blocker_model": "Tableau T35u, s/n 000ECC35", "write_blocker_tested": True},
    "findings": {"summary": "Budget spreadsheet found in /docs.", "items_of_interest": 1},
    "extraction_record": {"device": "Samsung SM-G991B, IMEI 356938035643809", "tool": "adb backup 1.0.41",
                          "extraction_type": "logical", "network_isolated": True},
    "rule_sets": {"sets_validated": True, "sets_version": "triage 2026.1 / known-bad 2026.1"},
    "assessment": {"decision": "known_test_file", "rationale": "EICAR test file, harmless by design"},
    "draft": {"report_reference": "DFU-2026-0142-R1", "report_version": "1", "findings_cited": True},
    "release": {"released_to": "Investigator Petrov", "released_on": "2026-11-27", "method": "in_person"},
}


def author_answers(sop: Any = None) -> dict[str, Any]:
    """The attestations (only those of ``sop``'s steps when given, as an answers file must be)."""
    ids = {s.id for s in sop.steps} if sop is not None else set(ATTESTATIONS)
    return {"steps": {k: v for k, v in ATTESTATIONS.items() if k in ids}}


def reviewer_answers(sop: Any, decision: str = "approve") -> dict[str, Any]:
    """The reviews of ``sop`` (and its attestations, for steps the reviewer reaches after them)."""
    reviews = {s.id: {"decision": decision, "comment": "checked against the case data"}
               for s in sop.steps if s.kind == "review"}
    return {"steps": {**author_answers(sop)["steps"], **reviews}}
