"""Meetings as members see them: schedule questions and sign-in (签到 4821)."""
from __future__ import annotations

from bot import attendance
from bot.handlers import Handler
from bot.replies import render, when
from bot.rules.calendar import MEETING_KINDS
from bot.storage import meetings as store


def describe(meeting, key: str) -> str:
    """One meeting in a sentence (key: schedule.next or schedule.line)."""
    return render(key, when=when(meeting.starts_at), kind=MEETING_KINDS[meeting.kind],
                  place=render("schedule.place", place=meeting.place) if meeting.place else "",
                  topic=render("schedule.topic", topic=meeting.topic) if meeting.topic else "")


class ScheduleHandler(Handler):
    """The member's next meetings from the real calendar (only those they are due at)."""

    intents = ("schedule_query",)

    def handle(self, msg) -> str:
        kind = msg.intent.slots.get("meeting")
        found = store.upcoming_for(msg.member, msg.now, limit=3, kind=kind)
        if not found:
            return render("schedule.none_kind", kind=MEETING_KINDS[kind]) if kind \
                else render("schedule.none")
        if kind or len(found) == 1:
            return describe(found[0], "schedule.next")
        return "\n".join([render("schedule.list_intro"),
                          *(describe(m, "schedule.line") for m in found)])


class CheckinHandler(Handler):
    """签到 4821: sign in to the meeting whose window is open; floating members sign in remotely."""

    intents = ("meeting_checkin",)

    def handle(self, msg) -> str:
        outcome = attendance.sign_in(msg.member, msg.intent.slots.get("code"), msg.now)
        return render(outcome.key, **outcome.values)
