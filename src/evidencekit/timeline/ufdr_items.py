"""The decoded items a UFDR's report.xml holds (``<decodedData>``) as timeline events.

Models are read streamed (``iterparse``), one top-level ``<model>`` at a time: chats (each
message), instant messages, SMS/MMS, e-mails and calls give an event at their ``TimeStamp``;
any other model (contacts, ...) gives one event per time field it has. The times keep the digits
report.xml writes. A malformed report.xml is a warning; the events before the damage are kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, BinaryIO
from xml.etree.ElementTree import Element, ParseError, iterparse

from evidencekit.models import Locator
from evidencekit.sources.ufdr import REPORT, local, parse_time
from evidencekit.timeline.events import TimelineEvent

SOURCE_NATIVE = "native"
MESSAGE_TYPES = {"InstantMessage", "SMS", "MMS", "Email", "Call"}


class _Hashing:
    def __init__(self, inner: BinaryIO):
        self.inner, self.sha = inner, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self.sha.update(data)
        return data


def fields(model: Element) -> dict[str, tuple[str, str]]:
    """name -> (type, text) of a model's direct ``<field>`` children."""
    out = {}
    for child in model:
        if local(child.tag) == "field":
            value = next((v for v in child if local(v.tag) == "value"), None)
            out[child.get("name", "")] = (child.get("type", ""), (value.text or "").strip() if value is not None else "")
    return out


def parties(model: Element) -> list[dict[str, str]]:
    """Identifier/Name/Role of every Party the model holds (From, To, Parties, Participants)."""
    found = []
    for child in model:
        if local(child.tag) in ("modelField", "multiModelField"):
            for party in child:
                if local(party.tag) == "model" and party.get("type") == "Party":
                    data = {k: v for k, (_t, v) in fields(party).items()}
                    data.setdefault("Role", child.get("name", ""))
                    found.append(data)
    return found


def _describe(kind: str, f: dict[str, tuple[str, str]], people: list[dict[str, str]], chat: str) -> dict[str, Any]:
    sender = next((p for p in people if p.get("Role") == "From"), {})
    others = [p.get("Identifier", "") + (f" ({p['Name']})" if p.get("Name") else "") for p in people
              if p is not sender]
    return {"app": f.get("Source", ("", ""))[1], "type": kind, "chat": chat,
            "sender": sender.get("Identifier", "") + (f" ({sender['Name']})" if sender.get("Name") else ""),
            "parties": others, "text": f.get("Body", ("", ""))[1] or f.get("Subject", ("", ""))[1],
            "direction": f.get("Type", ("", ""))[1] or f.get("Folder", ("", ""))[1],
            "duration": f.get("Duration", ("", ""))[1]}


def _events_of(model: Element, chat: str = "") -> Iterator[tuple[str, str, int, int, dict[str, Any]]]:
    kind = model.get("type", "")
    f = fields(model)
    if kind == "Chat":
        chat_name = " ".join(v for v in (f.get("Source", ("", ""))[1], f.get("Id", ("", ""))[1]) if v)
        for child in model:
            if local(child.tag) == "multiModelField" and child.get("name") == "Messages":
                for msg in child:
                    if local(msg.tag) == "model":
                        yield from _events_of(msg, chat_name)
        return
    stamps = [("TimeStamp", f["TimeStamp"][1])] if kind in MESSAGE_TYPES and "TimeStamp" in f else \
        [(name, text) for name, (t, text) in f.items() if t == "TimeStamp"]
    for name, text in stamps:
        ns, digits = parse_time(text)
        if ns is not None:
            yield kind, name, ns, digits, {**_describe(kind, f, parties(model), chat), "model_id": model.get("id", "")}


def decoded_events(evidence: Any, exhibit: str, warnings: list[str]) -> Iterator[TimelineEvent]:
    """Events of the report's decoded models; ``evidence`` is an open :class:`UfdrReport`."""
    spec = {"__type__": "PathSpec", "type_indicator": "ZIP", "location": "/" + REPORT,
            "parent": {"__type__": "PathSpec", "type_indicator": "OS", "location": evidence.path}}
    locator = Locator(evidence.path, spec)
    found: list[TimelineEvent] = []
    with evidence._zip.open(REPORT) as raw:
        stream = _Hashing(raw)
        try:
            for model in _top_models(stream):
                for kind, name, ns, digits, extra in _events_of(model):
                    text = f"{extra['app'] or 'UFDR'} {kind}: {extra['sender'] or ', '.join(extra['parties'])}"
                    text += f": {extra['text']}" if extra["text"] else ""
                    found.append(TimelineEvent(
                        time=ns, timestamp_desc=name if name != "TimeStamp" else kind, source=SOURCE_NATIVE,
                        path=f"/{REPORT}", exhibit=exhibit, parser="evidencekit/ufdr_decoded", time_digits=digits,
                        message=text, locator=locator, extra={"data_type": f"ufdr:{kind}", **extra}))
                model.clear()
        except ParseError as err:
            warnings.append(f"ufdr_decoded: {REPORT} malformed ({err}): the decoded items after it are not read")
        while stream.read(1 << 20):
            pass
    sha = stream.sha.hexdigest()
    for event in found:  # the report's hash is known once it has been read whole
        yield replace(event, sha256=sha)


def _top_models(stream: Any) -> Iterator[Element]:
    """Each top-level ``<model>`` of ``<decodedData>``, complete; dropped from the tree once used."""
    depth = 0  # models open inside <decodedData>
    inside = False
    group: Element | None = None  # the <modelType> holding the current models
    for event, element in iterparse(stream, events=("start", "end")):
        tag = local(element.tag)
        if tag == "decodedData":
            inside = event == "start"
            continue
        if not inside:
            if event == "end" and tag == "file":
                element.clear()  # the file list is not needed here: keep memory flat
            continue
        if tag == "modelType" and depth == 0:
            group = element if event == "start" else None
        if tag != "model":
            continue
        if event == "start":
            depth += 1
            continue
        depth -= 1
        if depth == 0:
            yield element
            if group is not None and len(group) and group[0] is element:
                del group[0]  # top-level models end in order: the finished one is the first left
