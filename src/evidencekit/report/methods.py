"""Methods and tools as the ledger recorded them: each examination step, and every library
version each step ran with (the versions are signed into every entry's ``tools``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evidencekit.case.ledger import LedgerEntry as Entry

# Entries that derived something from the evidence: the steps the methods section describes.
METHOD_ACTIONS = ("received", "verified", "processed", "analysed", "exported", "extracted")
TOOL_ORDER = ("evidencekit", "dfvfs", "pytsk3", "libtsk", "libewf", "libewf_system", "plaso", "yara-python",
              "libyara", "python-magic", "libmagic", "cryptography", "python", "sqlite")


def step_kind(e: Entry) -> dict[str, Any]:
    """A catalogue key and arguments that describe one step (rendered in the report's language)."""
    d = e.body.get("details", {})
    if e.action == "received":
        return {"key": "step_received", "chain": " → ".join(d.get("format_chain", [])), "check": d.get("acquisition_check")}
    if e.action == "verified":
        return {"key": "step_verified", "phase": d.get("phase", "sop"), "result": d.get("result") or d.get("status")}
    if e.action == "processed":
        return {"key": "step_processed", "files": d.get("files", 0), "hashes": ", ".join(d.get("hashes", []))}
    if e.action == "analysed":
        analysis = str(d.get("analysis", ""))
        if analysis.startswith("timeline:"):
            return {"key": "step_timeline", "source": analysis.split(":", 1)[1], "events": d.get("events", 0)}
        return {"key": "step_scan", "analysis": analysis, "files": d.get("files_scanned", d.get("files", 0)),
                "matched": d.get("files_matched", d.get("hits", 0))}
    if e.action == "exported":
        return {"key": "step_exported", "what": d.get("export") or d.get("format", ""),
                "file": d.get("file") or d.get("bundle", "")}
    return {"key": "step_extracted", "files": d.get("files", 0), "manifest": d.get("manifest", "")}


def steps(entries: list[Entry]) -> list[dict[str, Any]]:
    out = []
    for e in entries:
        if e.action not in METHOD_ACTIONS:
            continue
        out.append({"seq": e.seq, "time": e.time_ns, "examiner": e.examiner, "exhibit": e.exhibit,
                    "action": e.action, "what": step_kind(e)})
    return out


def tools(entries: list[Entry]) -> list[dict[str, Any]]:
    """One row per tool and version: the entries (as ranges) that ran with it."""
    seen: dict[tuple[str, str], list[int]] = {}
    for e in entries:
        if e.action not in METHOD_ACTIONS:
            continue
        for name, ver in (e.body.get("tools") or {}).items():
            seen.setdefault((name, str(ver)), []).append(e.seq)
    order = {name: i for i, name in enumerate(TOOL_ORDER)}
    rows = sorted(seen.items(), key=lambda kv: (order.get(kv[0][0], len(order)), kv[0][0], min(kv[1])))
    return [{"name": name, "version": ver, "entries": ranges(seqs)} for (name, ver), seqs in rows]


def ranges(seqs: list[int]) -> str:
    """``[1, 2, 3, 7, 9, 10]`` -> ``"1–3, 7, 9–10"``."""
    out: list[str] = []
    nums = sorted(set(seqs))
    start = prev = nums[0] if nums else 0
    for n in nums[1:] + [None]:  # type: ignore[list-item]
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}–{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(out) if nums else ""


def entry_rows(entries: list[Entry], action: str, pick: Callable[[dict[str, Any]], dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per ledger entry of ``action``: who, when, which exhibit, and what ``pick`` takes
    from the entry's details."""
    return [{"seq": e.seq, "time": e.time_ns, "examiner": e.examiner, "exhibit": e.exhibit,
             **pick(e.body.get("details", {}))} for e in entries if e.action == action]


def deviations(entries: list[Entry]) -> list[dict[str, Any]]:
    return entry_rows(entries, "deviation", lambda d: {
        "justification": d.get("justification", ""), "step": d.get("step"),
        "phase": d.get("phase"), "mismatches": d.get("mismatches", [])})
