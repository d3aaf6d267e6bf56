"""Reminder cadence and quiet hours (domain.md, Study: reminders are few, batched, never at night).

Per branch, in Branch.settings["reminders"] (defaults below):
    cadence  {"default": ["3d", "eve 20:00", "2h"], "<kind>": [...]}  when to remind before a
             meeting: Nd = N days before, Nh = N hours before, eve HH:MM = the evening before
    quiet    ["21:30", "08:00"]  Beijing time; a reminder due inside is shifted, never dropped
The first entry of a cadence is the invitation; the later ones are chasers a member may mute.
"""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from bot.clock import BEIJING, to_beijing

DEFAULTS = {"cadence": {"default": ["3d", "eve 20:00", "2h"]}, "quiet": ["21:30", "08:00"]}


def _settings(branch) -> dict:
    own = (branch.settings or {}).get("reminders", {})
    return {"cadence": {**DEFAULTS["cadence"], **own.get("cadence", {})},
            "quiet": own.get("quiet", DEFAULTS["quiet"])}


def cadence(branch, kind: str) -> list[str]:
    """The reminder slots for a kind of meeting in this branch."""
    table = _settings(branch)["cadence"]
    return table.get(kind, table["default"])


def _clock(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def slot_time(slot: str, starts_at: datetime) -> datetime:
    """When a slot (3d, 2h, 30m, eve 20:00) falls for a meeting starting at starts_at."""
    if m := re.fullmatch(r"(\d+)([dhm])", slot):
        unit = {"d": "days", "h": "hours", "m": "minutes"}[m.group(2)]
        return starts_at - timedelta(**{unit: int(m.group(1))})
    if m := re.fullmatch(r"eve\s+(\d{1,2}:\d{2})", slot):
        day_before = to_beijing(starts_at).date() - timedelta(days=1)
        return datetime.combine(day_before, _clock(m.group(1)), tzinfo=BEIJING)
    raise ValueError(f"unknown reminder slot: {slot}")


def in_quiet(moment: datetime, branch) -> bool:
    start, end = (_clock(t) for t in _settings(branch)["quiet"])
    here = to_beijing(moment).time()
    return here >= start or here < end if start > end else start <= here < end


def shift_out_of_quiet(moment: datetime, starts_at: datetime, branch) -> datetime:
    """Move a moment out of quiet hours: to their end, or, if that is too late for the meeting,
    to just before they began. Never dropped."""
    if not in_quiet(moment, branch):
        return moment
    start, end = (_clock(t) for t in _settings(branch)["quiet"])
    here = to_beijing(moment)
    morning = datetime.combine(here.date() if here.time() < end else
                               here.date() + timedelta(days=1), end, tzinfo=BEIJING)
    if morning < starts_at:
        return morning
    evening_day = here.date() if here.time() >= start else here.date() - timedelta(days=1)
    return datetime.combine(evening_day, start, tzinfo=BEIJING) - timedelta(minutes=1)


def due_times(meeting) -> list[tuple[str, datetime]]:
    """(slot, when to send) for a meeting, quiet hours applied; slots already past are kept
    (the planner decides what is still worth sending)."""
    out = []
    for slot in cadence(meeting.branch, meeting.kind):
        when = slot_time(slot, meeting.starts_at)
        out.append((slot, shift_out_of_quiet(when, meeting.starts_at, meeting.branch)))
    return out


def optional(meeting, slot: str) -> bool:
    """Chasers (every slot after the first) can be muted by a member."""
    return cadence(meeting.branch, meeting.kind).index(slot) > 0
