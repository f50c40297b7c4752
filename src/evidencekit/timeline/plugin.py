"""The timeline's built-in registrations: its tables, the digest of a build's rows, native readers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evidencekit.registry import Registry


def register(registry: Registry) -> None:
    from evidencekit.timeline.schema import MIGRATIONS

    registry.add_migrations("timeline", MIGRATIONS)
    registry.add("digest", "timeline_runs", "evidencekit.timeline.store:run_digest")
    registry.add("reader", "ios_calls", "evidencekit.timeline.native:IOS_CALLS")
    registry.add("reader", "ios_whatsapp", "evidencekit.timeline.native:IOS_WHATSAPP")
    registry.add("reader", "whatsapp_android", "evidencekit.timeline.messengers:WHATSAPP_ANDROID")
    registry.add("reader", "whatsapp_ios", "evidencekit.timeline.messengers:WHATSAPP_IOS")
    registry.add("reader", "telegram_android", "evidencekit.timeline.messengers:TELEGRAM_ANDROID")
    registry.add("reader", "viber_android", "evidencekit.timeline.messengers:VIBER_ANDROID")
    registry.add("reader", "viber_calls", "evidencekit.timeline.messengers:VIBER_CALLS")
    registry.add("reader", "viber_ios", "evidencekit.timeline.messengers:VIBER_IOS")
