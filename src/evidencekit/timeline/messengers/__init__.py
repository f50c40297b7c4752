"""Messenger databases read by evidencekit: WhatsApp, Telegram, Viber (timeline source ``native``).

Each reader is one module with its app's real schema. ``MESSENGERS`` maps a reader name to the
path endings it reads (Android data folders, ``adb backup`` folders, iOS app group containers)
and to its function ``(db, found, exhibit) -> events``. A schema the reader does not know raises
:class:`UnknownSchema`, which the build records as a warning. Text is taken as stored (UTF-8):
Russian, Kazakh and Uzbek come through as written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from evidencekit.timeline.events import TimelineEvent

SOURCE_NATIVE = "native"


class UnknownSchema(ValueError):
    """The database is not in a layout the reader knows (named in the message)."""


@dataclass(frozen=True)
class Message:
    """One message or call as the app stored it; ``time`` ns UTC at ``digits`` precision."""

    time: int
    digits: int
    kind: str  # "message" or "call"
    chat: str
    sender: str
    direction: str  # "incoming" | "outgoing"
    text: str = ""
    attachment: str | None = None
    record: int | None = None
    duration: float | None = None


def tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}


def columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def require(db: sqlite3.Connection, app: str, layout: dict[str, set[str]]) -> None:
    """UnknownSchema unless every table has at least the columns named."""
    have = tables(db)
    for table, cols in layout.items():
        if table not in have:
            raise UnknownSchema(f"{app}: unknown schema (no table {table}; user_version "
                                f"{db.execute('PRAGMA user_version').fetchone()[0]})")
        missing = cols - columns(db, table)
        if missing:
            raise UnknownSchema(f"{app}: unknown schema version (table {table} lacks {', '.join(sorted(missing))})")


def events(items: Iterator[Message], found: Any, exhibit: str, app: str, parser: str) -> Iterator[TimelineEvent]:
    for m in items:
        if m.kind == "call":
            desc = "Call Start"
            text = f"{app} {m.direction} call {m.chat}" + (f", {m.duration:.0f} s" if m.duration is not None else "")
        else:
            desc = "Message Sent" if m.direction == "outgoing" else "Message Received"
            text = f"{app} {m.chat} {m.sender}: {m.text}" + (f" [{m.attachment}]" if m.attachment else "")
        extra = {"data_type": f"{parser}:{m.kind}", "app": app, "chat": m.chat, "sender": m.sender,
                 "direction": m.direction, "text": m.text, "attachment": m.attachment, "record": m.record,
                 "duration": m.duration}
        yield TimelineEvent(time=m.time, timestamp_desc=desc, source=SOURCE_NATIVE, path=found.real, exhibit=exhibit,
                            parser=f"evidencekit/{parser}", time_digits=m.digits, message=text, sha256=found.sha256,
                            locator=found.locator, extra={k: v for k, v in extra.items() if v is not None})


def _readers() -> dict[str, tuple[tuple[str, ...], Callable[..., Iterator[TimelineEvent]]]]:
    from evidencekit.timeline.messengers import telegram, viber, whatsapp

    return {
        "whatsapp_android": (("/com.whatsapp/databases/msgstore.db", "/com.whatsapp/db/msgstore.db"),
                             whatsapp.android),
        "whatsapp_ios": (("/ChatStorage.sqlite",), whatsapp.ios),
        "telegram_android": (("/org.telegram.messenger/files/cache4.db", "/org.telegram.messenger/f/cache4.db",
                              "/org.telegram.messenger.web/files/cache4.db"), telegram.android),
        "viber_android": (("/com.viber.voip/databases/viber_messages", "/com.viber.voip/db/viber_messages"),
                          viber.messages),
        "viber_calls": (("/com.viber.voip/databases/viber_data", "/com.viber.voip/db/viber_data"), viber.calls),
    }


MESSENGERS = _readers()
