"""Meeting reminders: planned per member and slot, claimed, merged into one digest, sent once.

run(now) materialises the reminder rows of the coming meetings, skips the ones no longer worth
sending (the member answered; a muted chaser; a cancelled meeting), claims the due rows with a
fresh token and sends one digest per member. A send touches only rows still holding its token:
a second planner run, a retried job, or a claim reset after a killed worker can neither send a
row twice nor lose it. 45009/45011 (quotas) pause the fan-out; the rows wait for the next run.
The claiming, sending and recovering are bot/wechat/fanout.py's, shared with notices.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select

from bot.clock import to_beijing
from bot.meetings import attendance, rules, store
from bot.members.rules import on_roll
from bot.replies import render
from bot.storage.engine import bulk_written, db
from bot.storage.models import Meeting, MeetingAttendance, Member, Reminder
from bot.wechat import fanout

log = logging.getLogger(__name__)
HORIZON = timedelta(days=8)  # reminders are planned for meetings this far ahead


@dataclass
class Planned:
    member: Member
    rows: list[Reminder]
    member_id: int = 0  # read while planning: the commit that follows expires the member

    def __post_init__(self):
        self.member_id = self.member.id

    def describe(self, result: str) -> str:
        """One line of `reminders run`: who, how many meetings, which slots, what happened."""
        found = _meetings_of(self.rows)
        return render("cli.reminder_line", name=self.member.name, meetings=len(found),
                      slots=",".join(sorted({r.slot for r in self.rows})),
                      labels="、".join(attendance.label(m) for m in found), result=result)


def _meetings_of(rows: list[Reminder]) -> list[Meeting]:
    """The meetings of these reminder rows, earliest first."""
    return sorted((db.session.get(Meeting, m) for m in {r.meeting_id for r in rows}),
                  key=lambda m: (m.starts_at, m.id))


def materialise(now: datetime) -> int:
    """Create the reminder rows of meetings coming up (idempotent); how many were new."""
    new_rows = []
    for meeting in store.in_range(now, now + HORIZON, include_cancelled=True):
        existing = {(r.member_id, r.slot): r for r in db.session.execute(
            select(Reminder).where(Reminder.meeting_id == meeting.id)).scalars()}
        if meeting.status != "scheduled":
            for row in existing.values():
                if row.status == "pending":
                    row.status, row.note, row.updated_at = "skipped", "cancelled", now
            continue
        due = rules.due_times(meeting)
        for member in store.due_members(meeting):
            for slot, at in due:
                row = existing.get((member.id, slot))
                if row is None:
                    new_rows.append({"meeting_id": meeting.id, "member_id": member.id,
                                     "slot": slot, "due_at": at, "status": "pending",
                                     "updated_at": now})
                elif row.status == "pending" and row.due_at != at:
                    row.due_at, row.updated_at = at, now  # the meeting was moved
    if new_rows:  # one bulk INSERT, not one ORM object per member and slot
        db.session.execute(insert(Reminder), new_rows)
        bulk_written(len(new_rows), Reminder)
    db.session.flush()
    return len(new_rows)


def _worth_sending(row: Reminder, meeting: Meeting, member: Member,
                   answered: set[tuple[int, int]]) -> str | None:
    """Why a due row is skipped, or None to send it."""
    if not on_roll(member, to_beijing(meeting.starts_at).date()):
        return "left"  # transferred out (转出) since the row was made: no longer theirs
    if (meeting.id, member.id) in answered:
        return "answered"
    if member.reminders_muted and rules.optional(meeting, row.slot):
        return "muted"
    if not member.reachable:
        return "unreachable"
    return None


class ReminderFanout(fanout.Fanout):
    """Reminders: a member's claimed rows (several meetings, several slots) become one digest."""

    model = Reminder

    def key(self, claim: str, member_id: int) -> str:
        return f"reminders:{claim}:{member_id}"

    def __init__(self):
        self.notes: dict[int, list[str]] = {}

    def message(self, member: Member, rows: list[Reminder], now: datetime) -> tuple[str, dict]:
        return "reminder.digest", compose(member, rows, now, self.notes.get(member.id))

    def hold(self, rows: dict[int, list], members: list[Member], now: datetime) -> object:
        """The batch's meetings (held so that compose() finds them in the session: its identity
        map is weak) and every topic's digest lines for its members, read at once."""
        from bot.digest import lines_of_members

        self.notes = lines_of_members(members, now)
        return list(db.session.execute(select(Meeting).where(Meeting.id.in_(
            {r.meeting_id for member_rows in rows.values() for r in member_rows}))).scalars())


KIND = ReminderFanout()


def journal(redis, claim: str, member_id: int, delivery) -> None:
    """Note at once that the platform accepted this member's digest (bot/wechat/fanout.py)."""
    fanout.journal(redis, KIND.key(claim, member_id), delivery)


def claim_due(now: datetime, dry_run: bool = False) -> tuple[str, list[Planned]]:
    """Release stale claims, skip what is no longer worth sending, claim the rest by member.
    The caller commits (the claim must be committed before anything is sent)."""
    fanout.recover_stale(KIND, now)
    rows = db.session.execute(
        select(Reminder, Meeting, Member).join(Meeting, Reminder.meeting_id == Meeting.id)
        .join(Member, Reminder.member_id == Member.id)
        .where(Reminder.status == "pending", Reminder.due_at <= now,
               Meeting.status == "scheduled", Meeting.starts_at > now)
        .order_by(Reminder.member_id, Reminder.due_at)).all()
    answered = set(db.session.execute(select(MeetingAttendance.meeting_id,
                                             MeetingAttendance.member_id).where(
        MeetingAttendance.meeting_id.in_({meeting.id for _, meeting, _ in rows}),
        or_(MeetingAttendance.rsvp.is_not(None), MeetingAttendance.attendance.is_not(None))
    )).all())  # answered 参加 / 请假, signed in, or given a status (leave approved, 补登)
    by_member: dict[int, Planned] = {}
    for row, meeting, member in rows:
        reason = _worth_sending(row, meeting, member, answered)
        if reason and not dry_run:
            row.status, row.note, row.updated_at = "skipped", reason, now
        elif not reason:
            by_member.setdefault(member.id, Planned(member, [])).rows.append(row)
    if dry_run:  # (a dry run's caller rolls back what was touched)
        return "", list(by_member.values())
    if fanout.paused_until(now):
        return "", []
    ids = [r.id for item in by_member.values() for r in item.rows]
    claim, mine = fanout.claim(KIND, ids, now)
    return claim, [item for member_id, item in by_member.items() if member_id in mine]


def compose(member: Member, rows: list[Reminder], now: datetime,
            notes: list[str] | None = None) -> dict:
    """The digest's values: one line per meeting, the remote version for floating members,
    then what other topics add for this member (bot/digest/<topic>.py; `notes`, if read
    already for a batch)."""
    from bot.digest import member_lines as lines_for

    lines = []
    for meeting in _meetings_of(rows):
        ask = render("reminder.ask_remote" if member.is_floating else "reminder.ask")
        lines.append(render("reminder.line", ask=ask, **attendance.details(meeting)))
    notes = "".join(render("reminder.note", note=note)
                    for note in (lines_for(member, now) if notes is None else notes))
    return {"name": member.name, "lines": "\n".join(lines), "notes": notes,
            "title": render("reminder.title")}


def chunks(planned: list[Planned]) -> list[list[int]]:
    """The member ids of planned, a send job's worth each."""
    return fanout.chunks([p.member_id for p in planned])


def awaiting_answer(member: Member, now: datetime) -> list[Meeting]:
    """Upcoming meetings this member was reminded of and has not answered (参加 / 请假)."""
    reminded = select(Reminder.meeting_id).where(Reminder.member_id == member.id,
                                                 Reminder.status == "sent")
    answered = select(MeetingAttendance.meeting_id).where(
        MeetingAttendance.member_id == member.id, MeetingAttendance.rsvp.is_not(None))
    return list(db.session.execute(select(Meeting).where(
        Meeting.id.in_(reminded), Meeting.id.not_in(answered), Meeting.status == "scheduled",
        Meeting.starts_at > now).order_by(Meeting.starts_at)).scalars())
