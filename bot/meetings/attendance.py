"""A member's attendance at a meeting, from the answer to the final status.

* Which meeting a member means; 参加; 请假 with a reason (asked for when missing), accepted
  until the branch's cutoff before the start, waiting for a leader's 批准 12 / 不批准 12; a
  member away half a month or more asks leave for every meeting in the period at once.
* Sign-in (签到 4821) inside the window; closing a meeting gives every due member exactly one
  status; a secretary's 补登 by hand. Every change of a status is kept in the audit trail
  (AttendanceChange).
* How replies name a meeting (label, details).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from bot.chat import outbox
from bot.clock import BEIJING, last_day, start_of_day, to_beijing
from bot.meetings import rules, store
from bot.meetings.rules import MEETING_KINDS
from bot.members import store as member_store
from bot.members.rules import is_leader
from bot.replies import Outcome, render, when
from bot.storage.engine import db
from bot.storage.models import AttendanceChange, Meeting, MeetingAttendance, Member, state_of

NEAR = timedelta(hours=6)  # how far from now a meeting being signed in to (or just ended) is


def row_for(meeting: Meeting, member: Member, now: datetime) -> MeetingAttendance:
    """The member's row for meeting, created empty if there is none yet."""
    row = db.session.execute(select(MeetingAttendance).where(
        MeetingAttendance.meeting_id == meeting.id,
        MeetingAttendance.member_id == member.id)).scalar_one_or_none()
    if row is None:
        row = MeetingAttendance(meeting_id=meeting.id, member_id=member.id, updated_at=now)
        db.session.add(row)
    return row


def set_status(meeting: Meeting, member: Member, new: str, by: str, now: datetime,
               reason: str | None = None) -> tuple[str | None, MeetingAttendance]:
    """Change the member's attendance at meeting, audited; returns (old status, row)."""
    row = row_for(meeting, member, now)
    old = row.attendance
    if old != new:
        row.attendance, row.updated_at = new, now
        db.session.add(AttendanceChange(meeting_id=meeting.id, member_id=member.id, old=old,
                                        new=new, changed_by=by, reason=reason, changed_at=now))
    return old, row


def open_for(member: Member, now: datetime) -> list[Meeting]:
    """Meetings the member is due at whose sign-in window is open now."""
    nearby = store.in_range(now - NEAR, now + NEAR, member.branch_id)
    return [m for m in nearby if rules.checkin_open(m, now) and store.is_due(m, member)]


CODE_LOOKUP = (timedelta(days=2), timedelta(days=45))  # a code is looked for this far back/ahead


def sign_in(member: Member, code: str | None, now: datetime) -> Outcome:
    """签到 CODE (or a bare 签到 where the branch allows it). A code is told wrong only while
    a meeting's window is open; before it the member hears when it opens, after it that it
    has closed and whom to ask for 补登."""
    window = open_for(member, now)
    if code is None:
        if len(window) == 1 and rules.setting(member.branch, "bare_checkin"):
            return _sign_in(window[0], member, now)
        return Outcome("checkin.need_code") if window else _nothing_open(member, now)
    back, ahead = CODE_LOOKUP
    named = [m for m in store.in_range(now - back, now + ahead, member.branch_id)
             if m.checkin_code == code]
    if not named:
        return Outcome("checkin.wrong_code") if window else _nothing_open(member, now)
    meeting = min(named, key=lambda m: (not rules.checkin_open(m, now),
                                        abs(m.starts_at - now)))
    if not store.is_due(meeting, member):
        return Outcome("checkin.not_due", {"meeting": label(meeting)})
    if meeting.status == "closed":
        return Outcome("checkin.closed", {"meeting": label(meeting)})
    opens, closes = rules.checkin_window(meeting)
    if now < opens:
        return Outcome("checkin.too_early", {"meeting": label(meeting), "opens": when(opens)})
    if now > closes:
        return Outcome("checkin.too_late", {"meeting": label(meeting), "closes": when(closes)})
    return _sign_in(meeting, member, now)


def _nothing_open(member: Member, now: datetime) -> Outcome:
    """No sign-in is open for the member: the one that just ended, else the next one."""
    ended = [m for m in store.in_range(now - NEAR, now, member.branch_id)
             if store.is_due(m, member) and rules.closes_at(m) < now]
    if ended:
        meeting = ended[-1]
        return Outcome("checkin.too_late", {"meeting": label(meeting),
                                            "closes": when(rules.closes_at(meeting))})
    coming = store.upcoming_for(member, now, limit=1)
    if coming:
        return Outcome("checkin.none_open_next", {
            "meeting": label(coming[0]), "opens": when(rules.checkin_window(coming[0])[0])})
    return Outcome("checkin.none_open")


def _sign_in(meeting: Meeting, member: Member, now: datetime) -> Outcome:
    row = row_for(meeting, member, now)
    if row.attendance in ("present", "remote"):
        return Outcome("checkin.already", {"meeting": label(meeting)})
    status = "remote" if member.is_floating else "present"  # 流动党员: 远程参加
    _, row = set_status(meeting, member, status, f"member:{member.id}", now)
    row.signed_in_at = now
    return Outcome("checkin.ok_remote" if status == "remote" else "checkin.ok",
                   {"meeting": label(meeting)})


def close(meeting: Meeting, now: datetime, by: str = "system") -> dict[str, int]:
    """Give every due member exactly one status; the meeting is closed. Counts by status."""
    rows = store.attendance_rows(meeting)
    counts = {"due": 0, "present": 0, "remote": 0, "excused": 0, "absent": 0}
    for member in store.due_members(meeting):
        status = rules.status_at_close(rows.get(member.id))
        set_status(meeting, member, status, by, now)
        counts["due"] += 1
        counts[status] += 1
    meeting.status, meeting.closed_at, meeting.updated_at = "closed", now, now
    db.session.flush()
    return counts


def close_finished(now: datetime) -> int:
    """Close every scheduled meeting whose sign-in window has ended; how many were closed."""
    candidates = db.session.execute(select(Meeting).where(
        Meeting.status == "scheduled", Meeting.starts_at <= now)).scalars().all()
    done = 0
    for meeting in candidates:
        if rules.closes_at(meeting) <= now:
            close(meeting, now)
            done += 1
    return done


def mark(meeting: Meeting, member: Member, status: str, reason: str, by: str,
         now: datetime) -> str | None:
    """补登: a secretary sets a member's status by hand, with a reason; returns the old one."""
    old, _ = set_status(meeting, member, status, by, now, reason=reason)
    db.session.flush()
    return old


# Answers: 参加 and 请假 --------------------------------------------------------------------

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
    row = row_for(meeting, member, now)
    before = _before(row)
    withdrew = row.rsvp == "leave"
    row.rsvp, row.leave_status, row.updated_at = "yes", None, now
    if row.attendance == "excused":
        set_status(meeting, member, None, f"member:{member.id}", now,
                   reason="withdrew leave")
    member.remember("rsvp", [(row, before)], render("undo.rsvp", meeting=label(meeting)), now)
    return Outcome("rsvp.ok_after_leave" if withdrew else "rsvp.ok",
                   {"meeting": label(meeting)})


def _before(row: MeetingAttendance) -> dict | None:
    """A row's answer as it was (None for a row this message creates), for 撤回."""
    if row.id is None:
        return None
    return state_of(row, "rsvp", "leave_reason", "leave_status", "leave_requested_at",
                    "leave_decided_by", "leave_decided_at", "attendance")


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
        return Outcome("leave.too_late", {"meeting": label(meeting),
                                          "minutes": rules.setting(meeting.branch,
                                                                   "leave_cutoff")})
    row = row_for(meeting, member, now)
    if row.rsvp == "leave" and row.leave_status in ("pending", "approved"):
        return Outcome("leave.already", {"meeting": label(meeting), "number": row.id,
                                         "status": render(f"leave_status.{row.leave_status}")})
    # 参加 said before: the member hears that this replaces it
    was_coming = render("leave.was_coming") if row.rsvp == "yes" else ""
    if not reason:
        _wait_for_reason(member, slots, now)
        return Outcome("leave.ask_reason", {"meeting": label(meeting) + was_coming})
    before = _before(row)
    _ask(row, meeting, member, reason, now)
    member.remember("leave", [(row, before)], render("undo.leave", meeting=label(meeting)), now)
    _tell_leaders(member, [(row, meeting)], reason, now)
    return Outcome("leave.received", {"meeting": label(meeting) + was_coming, "reason": reason,
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
    asked, changes = [], []
    for meeting in meetings:
        row = row_for(meeting, member, now)
        changes.append((row, _before(row)))
        _ask(row, meeting, member, reason, now)
        asked.append((row, meeting))
    member.remember("leave", changes, render("undo.leave_many", count=len(asked), **values), now)
    _tell_leaders(member, asked, reason, now)
    return Outcome("leave.received_many", {**values, "count": len(asked), "reason": reason})


def _wait_for_reason(member: Member, slots: dict, now: datetime) -> None:
    member.start_dialogue("leave", slots, now, int(REASON_WAIT.total_seconds() // 60))


def _ask(row: MeetingAttendance, meeting: Meeting, member: Member, reason: str, now) -> None:
    row.rsvp, row.leave_reason, row.leave_status = "leave", reason, "pending"
    row.leave_requested_at, row.updated_at = now, now
    row.leave_decided_by = row.leave_decided_at = None


def _tell_leaders(member: Member, asked: list, reason: str, now: datetime) -> None:
    numbers = " ".join(str(row.id) for row, _ in asked)
    meetings = "、".join(label(m) for _, m in asked)
    for leader in member_store.leaders_of(member.branch_id, to_beijing(now).date()):
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
        row = db.session.get(MeetingAttendance, number) if 0 < number < 2 ** 31 else None
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
            set_status(meeting, member, "excused", f"member:{leader.id}", now,
                                  reason=row.leave_reason)
        outbox.notify(member.id, f"leave.{status}", f"leave-decision:{number}",
                      meeting=label(meeting))
        outcomes.append(Outcome("leave.decided", {
            "decision": render(f"decision.{status}"), "name": member.name, "number": number,
            "meeting": label(meeting)}))
    return outcomes


def on_behalf(member: Member, meeting: Meeting, answer: str, reason: str | None,
              leader: Member, now: datetime, approve: bool = False) -> Outcome:
    """代登记: a leader enters a member's 参加 or 请假 (a member without WeChat, often the
    eldest) exactly as the member's own would be made, marked as entered on their behalf; a
    leave may be approved at once. The leader-facing sentence, or the refusal."""
    slots = {"meeting": meeting.kind, "date": to_beijing(meeting.starts_at).date().isoformat()}
    if answer == "yes":
        outcome = rsvp_yes(member, slots, now)
    else:
        outcome = request(member, slots, now, reason=reason)
    if outcome.key not in ("rsvp.ok", "rsvp.ok_after_leave", "leave.received"):
        return outcome
    row = row_of(meeting, member) or row_for(meeting, member, now)
    row.entered_by = f"member:{leader.id}"
    if answer == "yes":
        return Outcome("behalf.yes", {"name": member.name, "meeting": label(meeting)})
    approved = ""
    if approve and is_leader(leader.roles):  # (a 党小组长 enters it; a leader decides)
        db.session.flush()
        if decide(leader, [row.id], True, now)[0].key == "leave.decided":
            approved = render("behalf.approved")
    return Outcome("behalf.leave", {"name": member.name, "meeting": label(meeting),
                                    "reason": reason, "number": row.id, "approved": approved})


# How a meeting is named ----------------------------------------------------------------------

def label(meeting: Meeting) -> str:
    """主题党日（11月27日（周五）14:30）: how replies name a meeting."""
    return render("meeting.label", kind=MEETING_KINDS[meeting.kind],
                  when=when(meeting.starts_at))


def describe(meeting: Meeting, key: str, leader: bool = False) -> str:
    """One meeting in a sentence (key: schedule.next or schedule.line); leaders also see its
    number and sign-in code, to announce at the meeting."""
    code = render("schedule.code", id=meeting.id, code=meeting.checkin_code) if leader else ""
    return render(key, code=code, **details(meeting))


def schedule(member: Member, slots: dict, now: datetime) -> str:
    """下次开会是什么时候 / 这周有活动吗 / 明天开会吗: the member's coming meetings (of a kind, if
    named) — of the days asked about (a `span`, or a `date`), else the next ones."""
    kind, leader = slots.get("meeting"), is_leader(member.roles)
    days = slots.get("span") or ((slots["date"],) * 2 if "date" in slots else None)
    if days:
        first, last = (date.fromisoformat(day) for day in days)
        within = store.upcoming_for(member, max(now, start_of_day(first)), limit=10, kind=kind,
                                    before=start_of_day(last + timedelta(days=1)))
        if first == last:
            span = render("schedule.day", month=first.month, day=first.day)
        elif first.day == 1 and last == last_day(first):
            span = render("schedule.month", month=first.month)
        else:
            span = render("schedule.days", month=first.month, day=first.day,
                          last_month=last.month, last_day=last.day)
        if within:
            return "\n".join([render("schedule.list_in", span=span),
                              *(describe(m, "schedule.line", leader) for m in within)])
        later = store.upcoming_for(member, now, limit=1, kind=kind)
        return render("schedule.none_in", span=span,
                      kind=MEETING_KINDS[kind] if kind else render("schedule.any")) + (
            describe(later[0], "schedule.next", leader) if later else "")
    found = store.upcoming_for(member, now, limit=3, kind=kind)
    if not found:
        return render("schedule.none_kind", kind=MEETING_KINDS[kind]) if kind \
            else render("schedule.none")
    if kind or len(found) == 1:
        return describe(found[0], "schedule.next", leader)
    return "\n".join([render("schedule.list_intro"),
                      *(describe(m, "schedule.line", leader) for m in found)])


def details(meeting: Meeting) -> dict:
    """A meeting's when, kind, place and topic, ready for a reply sentence."""
    return {"when": when(meeting.starts_at), "kind": MEETING_KINDS[meeting.kind],
            "place": render("schedule.place", place=meeting.place) if meeting.place else "",
            "topic": render("schedule.topic", topic=meeting.topic) if meeting.topic else ""}


# A month at a glance (the console's 考勤) -------------------------------------------------------

@dataclass
class MonthMatrix:
    """A branch's month: its meetings, its members, and each member's cell at each meeting
    (rules.cell: a status, unrecorded, open or not_due)."""

    meetings: list[Meeting]
    members: list[Member]
    cells: list[list[str]]


def month_matrix(branch, year: int, month: int, group_id: int | None = None) -> MonthMatrix:
    """Every member × every meeting of the month, in four queries whatever the size
    (`group_id`: one group's members, and the meetings they could be due at)."""
    from bot.clock import last_day, month_bounds

    start, end = month_bounds(year, month)
    found = store.in_range(start, end, branch.id)
    statuses = store.month_statuses([m.id for m in found])
    first = start.date()  # (month_bounds: Beijing midnights)
    members = member_store.roster(branch.id, first, group_id=group_id,
                                  last=last_day(first))
    if group_id is not None:
        found = [m for m in found if m.audience == "branch" or m.group_id == group_id]
    columns = [(m, store.counted(m)) for m in found]
    cells = []
    for member in members:
        roles = member.roles
        cells.append([rules.cell(m, store.audience_includes(m, member, roles), counted,
                                 statuses.get((m.id, member.id)))
                      for m, counted in columns])
    return MonthMatrix(found, members, cells)


def rates_by_month(branch, now: datetime, months: int = 6) -> list[tuple[str, float | None]]:
    """出席率 of the branch's last `months` months ("2026-11", share present or remote among
    the statuses of its closed meetings that count; None for a month with none)."""
    from bot.clock import add_months, month_of

    last = month_of(to_beijing(now))
    keys = [add_months(last, -i) for i in range(months - 1, -1, -1)]
    first_year, first_month = (int(part) for part in keys[0].split("-"))
    since = datetime(first_year, first_month, 1, tzinfo=BEIJING)
    tally: dict[str, list[int]] = {key: [0, 0] for key in keys}
    for _, starts_at, status in store.final_statuses(branch.id, since):
        key = month_of(to_beijing(starts_at))
        if key in tally:
            tally[key][0] += status in ("present", "remote")
            tally[key][1] += 1
    return [(key, present / total if total else None) for key, (present, total) in tally.items()]


def trail(meeting: Meeting, member: Member) -> list[AttendanceChange]:
    """The audit trail of one member's status at one meeting, oldest first."""
    return list(db.session.execute(select(AttendanceChange).where(
        AttendanceChange.meeting_id == meeting.id, AttendanceChange.member_id == member.id)
        .order_by(AttendanceChange.changed_at, AttendanceChange.id)).scalars())


# Questions about attendance ------------------------------------------------------------------

def my_month(member: Member, now: datetime) -> Outcome:
    """我这个月参加了几次会: the member's own meetings this month, by status."""
    from bot.clock import month_bounds

    here = to_beijing(now)
    start, end = month_bounds(here.year, here.month)
    counts = {"present": 0, "remote": 0, "excused": 0, "absent": 0, "coming": 0,
              rules.UNRECORDED: 0}
    for meeting in store.in_range(start, end, member.branch_id):
        if not store.is_due(meeting, member):
            continue
        row = row_of(meeting, member)
        counts[rules.attendance_of(meeting, row.attendance if row else None) or "coming"] += 1
    due = sum(counts.values())
    if not due:
        return Outcome("attendance.mine_none", {"month": here.month})
    unrecorded = counts.pop(rules.UNRECORDED)
    return Outcome("attendance.mine", {
        "month": here.month, "due": due, **counts, "unrecorded": render(
            "attendance.mine_unrecorded", count=unrecorded) if unrecorded else ""})


def row_of(meeting: Meeting, member: Member) -> MeetingAttendance | None:
    """The member's row for meeting, if there is one."""
    return db.session.execute(select(MeetingAttendance).where(
        MeetingAttendance.meeting_id == meeting.id,
        MeetingAttendance.member_id == member.id)).scalar_one_or_none()


def meeting_meant(leader: Member, slots: dict, now: datetime) -> Meeting | None:
    """The meeting a leader asks about: the one named (kind, date), else today's, else the
    next one, else the last one held."""
    nearby = store.in_range(now - timedelta(days=45), now + timedelta(days=45),
                            leader.branch_id)
    kind, day = slots.get("meeting"), slots.get("date")
    named = [m for m in nearby if (not kind or m.kind == kind) and
             (not day or to_beijing(m.starts_at).date().isoformat() == day)]
    if kind or day:
        upcoming = [m for m in named if m.starts_at >= now - timedelta(hours=3)]
        return (upcoming or named[::-1] or [None])[0]
    today = [m for m in nearby if to_beijing(m.starts_at).date() == to_beijing(now).date()]
    upcoming = [m for m in nearby if m.starts_at > now]
    past = [m for m in nearby if m.starts_at <= now]
    return (today or upcoming or past[::-1] or [None])[0]


def answers(meeting: Meeting, with_reasons: bool = True) -> str:
    """谁请假了 / 到会情况: the meeting's answers before it, its attendance once it began."""
    rows = store.attendance_rows(meeting)
    due = store.due_members(meeting)
    groups: dict[str, list[str]] = {}
    for member in due:
        row = rows.get(member.id)
        if meeting.status == "closed" or row is not None and row.attendance:
            status = rules.attendance_of(meeting, row.attendance if row else None)
            key = {"present": "present", "remote": "remote", "excused": "leave",
                   "absent": "absent", rules.UNRECORDED: rules.UNRECORDED}[status]
        elif row is None or row.rsvp is None:
            key = "none"
        else:
            key = "yes" if row.rsvp == "yes" else "leave"
        name = member.name
        if key == "leave" and row is not None and row.leave_reason and with_reasons:
            name = render("attendance.name_reason", name=member.name, reason=row.leave_reason,
                          status=render(f"leave_status.{row.leave_status or 'pending'}"))
        groups.setdefault(key, []).append(name)
    lines = [render("attendance.answers_head", meeting=label(meeting), due=len(due))]
    for key in ("present", "remote", "yes", "leave", "absent", rules.UNRECORDED, "none"):
        if key in groups:
            names = groups[key]
            shown = "、".join(names[:20]) + (render("attendance.more", count=len(names) - 20)
                                             if len(names) > 20 else "")
            lines.append(render(f"attendance.answers_{key}", count=len(names), names=shown))
    return "\n".join(lines)


def pending_list(leader: Member) -> str:
    """待批请假: the branch's leave requests waiting for a decision, with their numbers."""
    found = store.pending_leave(leader.branch_id)
    if not found:
        return render("leave.pending_none")
    lines = [render("leave.pending_head", count=len(found))]
    lines += [render("leave.pending_line", number=row.id, name=member.name,
                     meeting=label(meeting), reason=row.leave_reason or "")
              for row, meeting, member in found]
    lines.append(render("leave.pending_how", number=found[0][0].id))
    return "\n".join(lines)
