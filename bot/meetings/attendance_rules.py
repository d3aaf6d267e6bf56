"""Attendance rules (domain.md, Leave and absence): windows and cutoffs, per branch.

Local practice, so each is a default a branch can change in Branch.settings["attendance"]:
    checkin_before / checkin_after   sign-in window around the start, minutes (30 / 30)
    leave_cutoff                     leave accepted until this many minutes before the start (20)
    bare_checkin                     a bare 签到 signs in when exactly one meeting is open (false)
"""
from __future__ import annotations

from datetime import datetime, timedelta

DEFAULTS = {"checkin_before": 30, "checkin_after": 30, "leave_cutoff": 20, "bare_checkin": False}
# Statuses as stored, and as printed on the attendance sheet.
STATUS_LABELS = {"present": "出席", "remote": "远程参加", "excused": "请假", "absent": "缺席"}


def setting(branch, key: str):
    """The branch's value for key, or the default."""
    return {**DEFAULTS, **(branch.settings or {}).get("attendance", {})}[key]


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
