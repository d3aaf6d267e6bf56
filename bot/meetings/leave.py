"""RSVP and leave (请假): which meeting a member means, 参加, leave with a reason, approval.

A leave request needs a reason (asked for when missing), is accepted until the branch's cutoff
before the start, and waits for a leader's approval (批准 12 / 不批准 12, by its short number).
A member away for half a month or more asks leave for every meeting in the period at once.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta


from bot.meetings import attendance
from bot.chat import outbox
from bot.clock import BEIJING, to_beijing
from bot.replies import Outcome, render
from bot.meetings import rules
from bot.members.rules import is_leader
from bot.meetings import store
from bot.members import store as member_store
from bot.storage.engine import db
from bot.storage.models import Meeting, MeetingAttendance, Member

LONG_AWAY_DAYS = 15  # domain.md: away half a month or more
REASON_WAIT = timedelta(minutes=10)  # how long the bot waits for a missing reason



def resolve(member: Member, slots: dict, now: datetime) -> tuple[Meeting | None, str | None]:
    """The meeting meant: the one named (kind and/or date), else the nearest one due."""
    upcoming = store.upcoming_for(member, now, limit=20)
    if not upcoming:
        return None, "none"
    kind, day = slots.get("meeting"), slots.get("date")
    found = [m for m in upcoming if (not kind or m.kind == kind)
             and (not day or to_beijing(m.starts_at).date().isoformat() == day)]
    return (found[0], None) if found else (None, "not_found")


def rsvp_yes(member: Member, slots: dict, now: datetime) -> Outcome:
    """参加: the member will attend; a leave asked earlier is withdrawn."""
    meeting, problem = resolve(member, slots, now)
    if meeting is None:
        return Outcome(f"rsvp.{problem}")
    row = attendance.row_for(meeting, member, now)
    withdrew = row.rsvp == "leave"
    row.rsvp, row.leave_status, row.updated_at = "yes", None, now
    if row.attendance == "excused":
        attendance.set_status(meeting, member, None, f"member:{member.id}", now,
                              reason="withdrew leave")
    return Outcome("rsvp.ok_after_leave" if withdrew else "rsvp.ok",
                   {"meeting": attendance.label(meeting)})


def waiting_for_reason(member: Member, now: datetime) -> dict | None:
    """The slots of the leave request waiting for its reason, if any (and not expired)."""
    return member.dialogue("leave", now)


def forget_reason_wait(member: Member) -> None:
    member.end_dialogue()


def request(member: Member, slots: dict, now: datetime, reason: str | None = None) -> Outcome:
    """请假 for one meeting, or for every meeting of a long absence."""
    reason = reason or slots.get("reason")
    days = (slots.get("duration") or {}).get("days", 0)
    if days >= LONG_AWAY_DAYS:
        start = date.fromisoformat(slots["date"]) if slots.get("date") else \
            to_beijing(now).date()
        return _request_range(member, start, start + timedelta(days=days), reason, slots, now)
    meeting, problem = resolve(member, slots, now)
    if meeting is None:
        return Outcome(f"rsvp.{problem}")
    if now > rules.leave_deadline(meeting):
        return Outcome("leave.too_late", {"meeting": attendance.label(meeting),
                                          "minutes": rules.setting(meeting.branch,
                                                                   "leave_cutoff")})
    row = attendance.row_for(meeting, member, now)
    if row.rsvp == "leave" and row.leave_status in ("pending", "approved"):
        return Outcome("leave.already", {"meeting": attendance.label(meeting), "number": row.id,
                                         "status": render(f"leave_status.{row.leave_status}")})
    if not reason:
        _wait_for_reason(member, slots, now)
        return Outcome("leave.ask_reason", {"meeting": attendance.label(meeting)})
    _ask(row, meeting, member, reason, now)
    db.session.flush()
    _tell_leaders(member, [(row, meeting)], reason)
    return Outcome("leave.received", {"meeting": attendance.label(meeting), "reason": reason,
                                      "number": row.id})


def _request_range(member, start: date, end: date, reason, slots, now) -> Outcome:
    values = {"start": render("period.day", month=start.month, day=start.day),
              "end": render("period.day", month=end.month, day=end.day)}
    begin = max(now, datetime.combine(start, datetime.min.time(), tzinfo=BEIJING))
    finish = datetime.combine(end, datetime.max.time(), tzinfo=BEIJING)
    meetings = [m for m in store.upcoming_for(member, begin, limit=100) if m.starts_at <= finish
                and now <= rules.leave_deadline(m)]
    if not meetings:
        return Outcome("leave.none_in_range", values)
    if not reason:
        _wait_for_reason(member, slots, now)
        return Outcome("leave.ask_reason", {"meeting": render("period.range", **values)})
    asked = []
    for meeting in meetings:
        row = attendance.row_for(meeting, member, now)
        _ask(row, meeting, member, reason, now)
        asked.append((row, meeting))
    db.session.flush()
    _tell_leaders(member, asked, reason)
    return Outcome("leave.received_many", {**values, "count": len(asked), "reason": reason})


def _wait_for_reason(member: Member, slots: dict, now: datetime) -> None:
    member.start_dialogue("leave", slots, now, int(REASON_WAIT.total_seconds() // 60))


def _ask(row: MeetingAttendance, meeting: Meeting, member: Member, reason: str, now) -> None:
    row.rsvp, row.leave_reason, row.leave_status = "leave", reason, "pending"
    row.leave_requested_at, row.updated_at = now, now
    row.leave_decided_by = row.leave_decided_at = None


def _tell_leaders(member: Member, asked: list, reason: str) -> None:
    numbers = " ".join(str(row.id) for row, _ in asked)
    meetings = "、".join(attendance.label(m) for _, m in asked)
    for leader in member_store.leaders_of(member.branch_id):
        if leader.id != member.id:
            outbox.notify(leader.id, "leave.to_secretary", f"leave:{numbers}:{leader.id}",
                          name=member.name, meeting=meetings, reason=reason, number=numbers)


def decide(leader: Member, numbers: list[int], approve: bool, now: datetime) -> list[Outcome]:
    """批准 / 不批准 one or more leave requests by number; the member is told."""
    if not is_leader(leader.roles):
        return [Outcome("leader_only")]
    outcomes = []
    status = "approved" if approve else "denied"
    for number in numbers:
        row = db.session.get(MeetingAttendance, number)
        meeting = db.session.get(Meeting, row.meeting_id) if row is not None else None
        # another branch's request is answered exactly like one that does not exist
        if row is None or row.rsvp != "leave" or row.leave_status is None or \
                meeting.branch_id != leader.branch_id:
            outcomes.append(Outcome("leave.no_such", {"number": number}))
            continue
        member = db.session.get(Member, row.member_id)
        if row.leave_status != "pending":
            outcomes.append(Outcome("leave.decided_already", {
                "number": number, "decision": render(f"decision.{row.leave_status}")}))
            continue
        row.leave_status, row.leave_decided_by, row.leave_decided_at = status, leader.id, now
        if approve:
            attendance.set_status(meeting, member, "excused", f"member:{leader.id}", now,
                                  reason=row.leave_reason)
        outbox.notify(member.id, f"leave.{status}", f"leave-decision:{number}",
                      meeting=attendance.label(meeting))
        outcomes.append(Outcome("leave.decided", {
            "decision": render(f"decision.{status}"), "name": member.name, "number": number,
            "meeting": attendance.label(meeting)}))
    return outcomes

