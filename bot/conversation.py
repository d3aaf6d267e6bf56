"""A member's unfinished dialogue (the reason a leave request waits for, an 外出报告 being
filled in), kept on the member's row: it is read with the member for free on every message,
and saved or dropped with the message's own transaction — nothing half-saved, no extra round
trip. One dialogue at a time; each has its own expiry."""
from __future__ import annotations

from datetime import datetime, timedelta

from bot.storage.models import Member


def current(member: Member, topic: str, now: datetime) -> dict | None:
    """The state of the member's `topic` dialogue, if one is open and not expired."""
    found = member.conversation
    if not found or found.get("topic") != topic:
        return None
    if datetime.fromisoformat(found["expires"]) <= now:
        return None
    return dict(found["state"])


def start(member: Member, topic: str, state: dict, now: datetime, minutes: int) -> None:
    """Open (or continue) the member's dialogue; it lapses `minutes` from now."""
    member.conversation = {"topic": topic, "state": state,
                           "expires": (now + timedelta(minutes=minutes)).isoformat()}


def end(member: Member) -> None:
    member.conversation = None
