"""Messenger databases read by evidencekit: WhatsApp, Telegram, Viber (timeline source ``native``).

Each reader is one module with its app's real schema; an :class:`AppReader` names the path endings
it reads (Android data folders, ``adb backup`` folders, iOS app group containers) and its function
``(db, found, exhibit) -> events``, registered in ``timeline/plugin.py`` (kind ``reader``). A schema the reader does not know raises
:class:`UnknownSchema`, which the build records as a warning. Text is taken as stored (UTF-8):
Russian, Kazakh and Uzbek come through as written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
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


COCOA_EPOCH = 978_307_200


def cocoa_ns(value: Any) -> int:
    """ns UTC of a Core Data time (float seconds since 2001), kept to the microsecond it holds."""
    return int((Decimal(repr(float(value))) + COCOA_EPOCH) * 1_000_000_000)


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


@dataclass(frozen=True)
class AppReader:
    """A messenger reader (plugin registry kind ``reader``): the endings of the real paths of the
    database it reads, and ``read(db connection, found, exhibit, warnings) -> events`` (rows it
    could read only in part are warnings appended to ``warnings``, once the events are read)."""

    suffixes: tuple[str, ...]
    read: Callable[..., Iterator[TimelineEvent]]


def _whatsapp_android(db: sqlite3.Connection, found: Any, exhibit: str,
        warnings: list[str] | None = None) -> Iterator[TimelineEvent]:
    from evidencekit.timeline.messengers import whatsapp

    return whatsapp.android(db, found, exhibit)


def _whatsapp_ios(db: sqlite3.Connection, found: Any, exhibit: str,
        warnings: list[str] | None = None) -> Iterator[TimelineEvent]:
    from evidencekit.timeline.messengers import whatsapp

    return whatsapp.ios(db, found, exhibit)


def _telegram(db: sqlite3.Connection, found: Any, exhibit: str,
        warnings: list[str] | None = None) -> Iterator[TimelineEvent]:
    from evidencekit.timeline.messengers import telegram

    return telegram.android(db, found, exhibit, warnings)


def _viber(db: sqlite3.Connection, found: Any, exhibit: str,
        warnings: list[str] | None = None) -> Iterator[TimelineEvent]:
    from evidencekit.timeline.messengers import viber

    return viber.messages(db, found, exhibit)


def _viber_calls(db: sqlite3.Connection, found: Any, exhibit: str,
        warnings: list[str] | None = None) -> Iterator[TimelineEvent]:
    from evidencekit.timeline.messengers import viber

    return viber.calls(db, found, exhibit)


def _viber_ios(db: sqlite3.Connection, found: Any, exhibit: str,
        warnings: list[str] | None = None) -> Iterator[TimelineEvent]:
    from evidencekit.timeline.messengers import viber

    return viber.ios(db, found, exhibit)


WHATSAPP_ANDROID = AppReader(("/com.whatsapp/databases/msgstore.db", "/com.whatsapp/db/msgstore.db"),
                             _whatsapp_android)
WHATSAPP_IOS = AppReader(("/ChatStorage.sqlite",), _whatsapp_ios)
TELEGRAM_ANDROID = AppReader(("/org.telegram.messenger/files/cache4.db", "/org.telegram.messenger/f/cache4.db",
                              "/org.telegram.messenger.web/files/cache4.db"), _telegram)
VIBER_ANDROID = AppReader(("/com.viber.voip/databases/viber_messages", "/com.viber.voip/db/viber_messages"), _viber)
VIBER_CALLS = AppReader(("/com.viber.voip/databases/viber_data", "/com.viber.voip/db/viber_data"), _viber_calls)
VIBER_IOS = AppReader(("/com.viber/database/Contacts.data",), _viber_ios)
