"""Rules of meetings (domain.md: 三会一课 and 主题党日; Leave and absence): who is due, the
sign-in window and the leave cutoff, the reminder cadence and quiet hours, and what 三会一课
requires each month and quarter. The calendar's own rules (每月第一个星期五 …) and China's
holidays are in calendar.py.

Local practice, so each number is a default a branch changes in Branch.settings:
    "attendance": checkin_before / checkin_after  sign-in window around the start, minutes (30/30)
                  leave_cutoff                    leave accepted until this many minutes before (20)
                  bare_checkin                    a bare 签到 signs in when one meeting is open (false)
    "reminders":  cadence {"default": ["3d", "eve 20:00", "2h"], "<kind>": [...]}: when to remind
                  before a meeting (Nd days, Nh hours before, eve HH:MM the evening before); the
                  first is the invitation, the later ones are chasers a member may mute
                  quiet ["21:30", "08:00"] Beijing time; nothing is sent inside (shifted, never
                  dropped) — reminders, digests and notices alike
"""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from bot.clock import BEIJING, to_beijing

MEETING_KINDS = {
    "theme_day": "主题党日", "branch_assembly": "支部党员大会", "committee": "支委会",
    "group": "党小组会", "party_lecture": "党课", "org_life": "组织生活会",
}
# Who is due at each kind of meeting.
AUDIENCE = {"theme_day": "branch", "branch_assembly": "branch", "committee": "committee",
            "group": "group", "party_lecture": "branch", "org_life": "branch"}
# Statuses as stored, and as printed on the attendance sheet.
STATUS_LABELS = {"present": "出席", "remote": "远程参加", "excused": "请假", "absent": "缺席"}
# Shown, never stored: a member nobody recorded at a meeting entered afterwards (补录), or a
# meeting from before the branch started here (bot/meetings/store.py counted).
UNRECORDED = "unrecorded"
SHOWN_LABELS = {**STATUS_LABELS, UNRECORDED: "未记录"}

ATTENDANCE = {"checkin_before": 30, "checkin_after": 30, "leave_cutoff": 20,
              "bare_checkin": False}
REMINDERS = {"cadence": {"default": ["3d", "eve 20:00", "2h"]}, "quiet": ["21:30", "08:00"]}

# 三会一课: each quarter a 支部党员大会 and a 党课; each month a 主题党日, a 支委会 and a
# 党小组会 in every group. Met by a meeting held (closed with someone present or remote).
REQUIRED = (("branch_assembly", "quarter"), ("party_lecture", "quarter"),
            ("theme_day", "month"), ("committee", "month"), ("group", "month"))
WARN_DAYS = 14  # the secretary's digest warns this long before the quarter ends


# Attendance ------------------------------------------------------------------------------------

def setting(branch, key: str):
    """The branch's attendance setting `key`, or its default."""
    return branch.setting("attendance", ATTENDANCE)[key]


def checkin_window(meeting) -> tuple[datetime, datetime]:
    """When members may sign in to meeting."""
    branch = meeting.branch
    return (meeting.starts_at - timedelta(minutes=setting(branch, "checkin_before")),
            meeting.starts_at + timedelta(minutes=setting(branch, "checkin_after")))


def checkin_open(meeting, now: datetime) -> bool:
    start, end = checkin_window(meeting)
    return meeting.status == "scheduled" and start <= now <= end


def leave_deadline(meeting) -> datetime:
    """The last moment a leave request is accepted."""
    return meeting.starts_at - timedelta(minutes=setting(meeting.branch, "leave_cutoff"))


def closes_at(meeting) -> datetime:
    """When a meeting's attendance is final (the end of its sign-in window)."""
    return checkin_window(meeting)[1]


def status_at_close(row) -> str:
    """The one status a due member ends with: their sign-in, approved leave, or absent."""
    if row is not None and row.attendance in ("present", "remote", "excused"):
        return row.attendance
    if row is not None and row.rsvp == "leave" and row.leave_status == "approved":
        return "excused"
    return "absent"


NOT_DUE, OPEN = "not_due", "open"  # a month's cell: not of the audience; not closed yet


def cell(meeting, due: bool, counted: bool, status: str | None) -> str:
    """One member's cell in a month's attendance (the workbook, the console's matrix): a
    status, unrecorded, open, or not_due (not of the audience, or not yet a member)."""
    if not due:
        return NOT_DUE
    if not counted:
        return UNRECORDED
    return attendance_of(meeting, status) or OPEN


def attendance_of(meeting, status: str | None) -> str | None:
    """A due member's status as shown: their own; at a closed meeting without one, absent —
    or unrecorded at a meeting the secretary entered afterwards (补录), whose attendance is
    only what was marked; None while the meeting is still open."""
    if status:
        return status
    if meeting.status != "closed":
        return None
    return UNRECORDED if meeting.backfilled else "absent"


# Reminders and quiet hours ---------------------------------------------------------------------

def _reminders(branch) -> dict:
    own = branch.setting("reminders", REMINDERS)
    return {"cadence": {**REMINDERS["cadence"], **own["cadence"]}, "quiet": own["quiet"]}


def cadence(branch, kind: str) -> list[str]:
    """The reminder slots for a kind of meeting in this branch."""
    table = _reminders(branch)["cadence"]
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
    """Is moment inside the branch's quiet hours (default 21:30–08:00 Beijing)?"""
    start, end = (_clock(t) for t in _reminders(branch)["quiet"])
    here = to_beijing(moment).time()
    return here >= start or here < end if start > end else start <= here < end


def quiet_end(moment: datetime, branch) -> datetime:
    """The end of the quiet hours moment falls in (moment itself when it is not quiet)."""
    if not in_quiet(moment, branch):
        return moment
    _, end = (_clock(t) for t in _reminders(branch)["quiet"])
    here = to_beijing(moment)
    day = here.date() if here.time() < end else here.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=BEIJING)


def shift_out_of_quiet(moment: datetime, starts_at: datetime, branch) -> datetime:
    """Move a moment out of quiet hours: to their end, or, if that is too late for the meeting,
    to just before they began. Never dropped."""
    if not in_quiet(moment, branch):
        return moment
    morning = quiet_end(moment, branch)
    if morning < starts_at:
        return morning
    start, _ = (_clock(t) for t in _reminders(branch)["quiet"])
    here = to_beijing(moment)
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
