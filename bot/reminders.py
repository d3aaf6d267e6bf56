"""Meeting reminders: planned per member and slot, claimed, merged into one digest, sent once.

run(now) materialises the reminder rows of the coming meetings, skips the ones no longer worth
sending (the member answered; a muted chaser; a cancelled meeting), claims the due rows with a
fresh token and sends one digest per member. A send touches only rows still holding its token:
a second planner run, a retried job, or a claim reset after a killed worker can neither send a
row twice nor lose it. 45009/45011 (quotas) pause the fan-out; the rows wait for the next run.
"""
from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from bot import wechat
from bot.attendance import label
from bot.clock import BEIJING, to_beijing
from bot.replies import render, when
from bot.rules import reminders as rules
from bot.rules.calendar import MEETING_KINDS
from bot.storage import meetings as store
from bot.storage.engine import db
from bot.storage.models import Meeting, MeetingAttendance, Member, Reminder

log = logging.getLogger(__name__)
HORIZON = timedelta(days=8)  # reminders are planned for meetings this far ahead
STALE = timedelta(minutes=10)  # a claim not sent by then is released (the worker died)
# Sends in flight at once. Each is one HTTPS call of about 50 ms, so 16 give ~300 calls/s: the
# fan-out of 5,000 members takes well under half a minute; the per-minute quota errors (45011)
# pause the fan-out rather than retrying into it.
CONCURRENCY = 16
CHUNK = 200  # members per send job
PAUSE_KEY = "zhibu:reminders:paused_until"


@dataclass
class Planned:
    member: Member
    rows: list[Reminder]

    def describe(self) -> str:
        meetings = sorted({r.meeting_id for r in self.rows})
        slots = ",".join(sorted({r.slot for r in self.rows}))
        return f"{self.member.name}\t{len(meetings)} 次会议\t[{slots}]"


def materialise(now: datetime) -> int:
    """Create the reminder rows of meetings coming up (idempotent); how many were new."""
    created = 0
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
                    db.session.add(Reminder(meeting_id=meeting.id, member_id=member.id,
                                            slot=slot, due_at=at, status="pending",
                                            updated_at=now))
                    created += 1
                elif row.status == "pending" and row.due_at != at:
                    row.due_at, row.updated_at = at, now  # the meeting was moved
    db.session.commit()
    return created


def paused_until(now: datetime) -> datetime | None:
    raw = current_app.extensions["redis"].get(PAUSE_KEY)
    if not raw:
        return None
    until = datetime.fromisoformat(raw.decode())
    return until if until > now else None


def _pause(errcode: int | None, now: datetime) -> None:
    if errcode == 45009:  # daily quota: wait for the next day (Beijing)
        here = to_beijing(now)
        until = datetime.combine(here.date() + timedelta(days=1), datetime.min.time(),
                                 tzinfo=BEIJING)
    else:  # per-minute quota, busy, network
        until = now + timedelta(minutes=1)
    current_app.extensions["redis"].set(PAUSE_KEY, until.isoformat(), ex=2 * 86400)
    log.warning("reminder fan-out paused until %s (errcode %s)", until, errcode)


def _worth_sending(row: Reminder, meeting: Meeting, member: Member,
                   answered: set[tuple[int, int]]) -> str | None:
    """Why a due row is skipped, or None to send it."""
    if (meeting.id, member.id) in answered:
        return "answered"
    if member.reminders_muted and rules.optional(meeting, row.slot):
        return "muted"
    if not member.reachable:
        return "unreachable"
    return None


def claim_due(now: datetime, dry_run: bool = False) -> tuple[str, list[Planned]]:
    """Release stale claims, skip what is no longer worth sending, claim the rest by member."""
    db.session.execute(update(Reminder).where(
        Reminder.status == "sending", Reminder.claimed_at < now - STALE).values(
        status="pending", claim=None, claimed_at=None, updated_at=now))
    rows = db.session.execute(
        select(Reminder, Meeting, Member).join(Meeting, Reminder.meeting_id == Meeting.id)
        .join(Member, Reminder.member_id == Member.id)
        .where(Reminder.status == "pending", Reminder.due_at <= now,
               Meeting.status == "scheduled", Meeting.starts_at > now)
        .order_by(Reminder.member_id, Reminder.due_at)).all()
    answered = set(db.session.execute(select(MeetingAttendance.meeting_id,
                                             MeetingAttendance.member_id).where(
        MeetingAttendance.rsvp.is_not(None))).all())
    by_member: dict[int, Planned] = {}
    for row, meeting, member in rows:
        reason = _worth_sending(row, meeting, member, answered)
        if reason and not dry_run:
            row.status, row.note, row.updated_at = "skipped", reason, now
        elif not reason:
            by_member.setdefault(member.id, Planned(member, [])).rows.append(row)
    claim = uuid.uuid4().hex
    if dry_run or paused_until(now):
        db.session.rollback() if dry_run else db.session.commit()
        return claim, ([] if not dry_run else list(by_member.values()))
    planned = []
    for item in by_member.values():
        ids = [r.id for r in item.rows]
        got = db.session.execute(update(Reminder).where(
            Reminder.id.in_(ids), Reminder.status == "pending").values(
            status="sending", claim=claim, claimed_at=now, updated_at=now)).rowcount
        if got:
            planned.append(item)
    db.session.commit()
    return claim, planned


def compose(member: Member, rows: list[Reminder]) -> dict:
    """The digest's values: one line per meeting, the remote version for floating members."""
    lines = []
    for meeting_id in sorted({r.meeting_id for r in rows}):
        meeting = db.session.get(Meeting, meeting_id)
        ask = render("reminder.ask_remote" if member.is_floating else "reminder.ask")
        lines.append(render(
            "reminder.line", when=when(meeting.starts_at), kind=MEETING_KINDS[meeting.kind],
            place=render("schedule.place", place=meeting.place) if meeting.place else "",
            topic=render("schedule.topic", topic=meeting.topic) if meeting.topic else "",
            ask=ask))
    return {"name": member.name, "lines": "\n".join(lines), "title": render("reminder.title")}


def send_one(member_id: int, claim: str, now: datetime) -> str:
    """Send the member's claimed rows as one digest; what happened."""
    rows = list(db.session.execute(select(Reminder).where(
        Reminder.member_id == member_id, Reminder.claim == claim,
        Reminder.status == "sending")).scalars())
    if not rows:
        return "nothing"
    if paused_until(now):
        _release(rows, now)
        return "paused"
    member = db.session.get(Member, member_id)
    try:
        record = wechat.send(member, "reminder.digest", now,
                             idempotency_key=f"reminders:{claim}:{member_id}",
                             **compose(member, rows))
    except wechat.PlatformError as exc:
        _pause(exc.errcode, now)
        _release(rows, now)
        return f"paused ({exc.errcode})"
    for row in rows:
        row.status = "sent" if record.status == "sent" else "failed"
        row.outbound_id, row.updated_at = record.id, now
        row.note = None if record.status == "sent" else f"errcode {record.errcode}"
    db.session.commit()
    return f"{record.status} via {record.channel}"


def _release(rows: list[Reminder], now: datetime) -> None:
    for row in rows:
        row.status, row.claim, row.claimed_at, row.updated_at = "pending", None, None, now
    db.session.commit()


def send_batch(member_ids: list[int], claim: str, now: datetime) -> dict[int, str]:
    """Send to many members with up to CONCURRENCY sends in flight; result per member."""
    app = current_app._get_current_object()

    def one(member_id: int) -> tuple[int, str]:
        with app.app_context():
            try:
                return member_id, send_one(member_id, claim, now)
            finally:
                db.session.remove()

    db.session.commit()
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        return dict(pool.map(one, member_ids))


def run(now: datetime, dry_run: bool = False, inline: bool = False) -> list[tuple[Planned, str]]:
    """The planner: what was (or would be) sent, as (planned, result) pairs.

    inline sends here and now (the CLI); otherwise send jobs of CHUNK members are enqueued.
    """
    materialise(now)
    claim, planned = claim_due(now, dry_run=dry_run)
    if dry_run or not planned:
        return [(p, "would send" if dry_run else "") for p in planned]
    ids = [p.member.id for p in planned]
    if inline:
        results = send_batch(ids, claim, now)
        return [(p, results[p.member.id]) for p in planned]
    from bot.jobs.meetings import send_reminder_batch

    queue = current_app.extensions["rq_queue"]
    for start in range(0, len(ids), CHUNK):
        queue.enqueue(send_reminder_batch, ids[start:start + CHUNK], claim)
    return [(p, "queued") for p in planned]


def label_rows(rows: list[Reminder]) -> str:
    """For the CLI: the meetings a digest is about."""
    return "、".join(label(db.session.get(Meeting, mid)) for mid in sorted({r.meeting_id
                                                                            for r in rows}))
