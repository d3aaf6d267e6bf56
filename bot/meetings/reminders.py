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
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import insert, select, update
from sqlalchemy.orm import joinedload

from bot.meetings import attendance
from bot.wechat import client as wechat
from bot.clock import BEIJING, to_beijing
from bot.replies import render
from bot.meetings import rules
from bot.meetings import store
from bot.storage.engine import db
from bot.storage.models import Meeting, MeetingAttendance, Member, OutboundMessage, Reminder

log = logging.getLogger(__name__)
HORIZON = timedelta(days=8)  # reminders are planned for meetings this far ahead
STALE = timedelta(minutes=10)  # a claim not sent by then is released (the worker died)
CHUNK = 1000  # members per send job
PAUSE_KEY = "zhibu:reminders:paused_until"
JOURNAL = "zhibu:reminders:delivered:"  # + idempotency key: the platform accepted this send
JOURNAL_TTL = 7 * 86400


@dataclass
class Planned:
    member: Member
    rows: list[Reminder]

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
    db.session.flush()
    return len(new_rows)


def paused_until(now: datetime, redis=None) -> datetime | None:
    """The end of a pause of the fan-out still running at `now`, or None."""
    raw = (redis or current_app.extensions["redis"]).get(PAUSE_KEY)
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


def _key(claim: str, member_id: int) -> str:
    return f"reminders:{claim}:{member_id}"


def journal(redis, claim: str, member_id: int, delivery) -> None:
    """Note at once (before any database write) that the platform accepted this digest."""
    redis.set(JOURNAL + _key(claim, member_id), delivery.channel, ex=JOURNAL_TTL)


def _recover_stale(now: datetime) -> None:
    """Claims whose worker died: settle what the journal says was delivered, release the rest."""
    redis = current_app.extensions["redis"]
    stale = db.session.execute(select(Reminder).where(
        Reminder.status == "sending", Reminder.claimed_at < now - STALE)).scalars().all()
    for row in stale:
        channel = redis.get(JOURNAL + _key(row.claim, row.member_id))
        if channel:
            row.status, row.note, row.updated_at = "sent", "recovered", now
            record = db.session.execute(select(OutboundMessage).where(
                OutboundMessage.idempotency_key == _key(row.claim, row.member_id))
            ).scalar_one_or_none()
            if record is not None:
                record.status, record.channel, record.errcode = "sent", channel.decode(), 0
                row.outbound_id = record.id
        else:
            row.status, row.claim, row.claimed_at, row.updated_at = "pending", None, None, now


def claim_due(now: datetime, dry_run: bool = False) -> tuple[str, list[Planned]]:
    """Release stale claims, skip what is no longer worth sending, claim the rest by member.
    The caller commits (the claim must be committed before anything is sent)."""
    _recover_stale(now)
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
    if dry_run or paused_until(now):  # (a dry run's caller rolls back what was touched)
        return claim, ([] if not dry_run else list(by_member.values()))
    ids = [r.id for item in by_member.values() for r in item.rows]
    for start in range(0, len(ids), 500):  # claim in a few statements, not one per member
        db.session.execute(update(Reminder).where(
            Reminder.id.in_(ids[start:start + 500]), Reminder.status == "pending").values(
            status="sending", claim=claim, claimed_at=now, updated_at=now),
            execution_options={"synchronize_session": False})
    mine = set(db.session.execute(select(Reminder.member_id).where(
        Reminder.claim == claim)).scalars())  # a concurrent run may have taken some
    return claim, [item for member_id, item in by_member.items() if member_id in mine]


def compose(member: Member, rows: list[Reminder], now: datetime) -> dict:
    """The digest's values: one line per meeting, the remote version for floating members,
    then what other topics add for this member (bot/digest/<topic>.py)."""
    from bot.digest import member_lines as lines_for

    lines = []
    for meeting in _meetings_of(rows):
        ask = render("reminder.ask_remote" if member.is_floating else "reminder.ask")
        lines.append(render("reminder.line", ask=ask, **attendance.details(meeting)))
    notes = "".join(render("reminder.note", note=note) for note in lines_for(member, now))
    return {"name": member.name, "lines": "\n".join(lines), "notes": notes,
            "title": render("reminder.title")}


def chunks(planned: list[Planned]) -> list[list[int]]:
    """The member ids of planned, CHUNK to a send batch."""
    ids = [p.member.id for p in planned]
    return [ids[start:start + CHUNK] for start in range(0, len(ids), CHUNK)]


@dataclass
class Batch:
    """One send batch between its three steps: prepared (records written; the caller commits
    before any call, so a killed worker leaves a trail), delivered (platform calls only, on
    threads), settled (outcomes written; the caller commits)."""

    claim: str
    now: datetime
    results: dict[int, str]
    prepared: list = field(default_factory=list)  # (member id, record id, Delivery)


def prepare(member_ids: list[int], claim: str, now: datetime) -> Batch:
    """The claimed rows of these members as one digest each, records written (flush)."""
    rows: dict[int, list[Reminder]] = {}
    for row in db.session.execute(select(Reminder).where(
            Reminder.member_id.in_(member_ids), Reminder.claim == claim,
            Reminder.status == "sending").order_by(Reminder.id)).scalars():
        rows.setdefault(row.member_id, []).append(row)
    batch = Batch(claim, now, {mid: "nothing" for mid in member_ids if mid not in rows})
    if paused_until(now):
        for member_id, member_rows in rows.items():
            _release(member_rows, now)
            batch.results[member_id] = "paused"
        db.session.flush()
        return batch
    # held here so that compose() finds them in the session (its identity map is weak)
    batch_meetings = list(db.session.execute(select(Meeting).where(Meeting.id.in_(
        {r.meeting_id for member_rows in rows.values() for r in member_rows}))).scalars())
    members = {m.id: m for m in db.session.execute(select(Member).where(
        Member.id.in_(list(rows))).options(joinedload(Member.wechat))).scalars()}
    keys = [_key(claim, member_id) for member_id in rows]
    records = {r.idempotency_key: r for r in db.session.execute(select(OutboundMessage).where(
        OutboundMessage.idempotency_key.in_(keys))).scalars()}
    prepared = []
    for member_id, member_rows in rows.items():
        member = members[member_id]
        record, delivery = wechat.prepare(member, "reminder.digest", now,
                                          idempotency_key=_key(claim, member_id),
                                          record=records.get(_key(claim, member_id)),
                                          **compose(member, member_rows, now))
        if delivery is None:
            _settle(member_rows, record, now)
            batch.results[member_id] = f"{record.status} via {record.channel}"
        else:
            prepared.append((member_id, record, delivery))
    db.session.flush()
    batch.prepared = [(member_id, record.id, delivery) for member_id, record, delivery in prepared]
    del batch_meetings
    return batch


def deliver(batch: Batch) -> None:
    """The platform calls of a prepared batch, REMINDER_CONCURRENCY at a time (default 16:
    each call takes about 50 ms, so ~300 calls/s). No database here: the threads see plain
    values only. A quota error (45009/45011) pauses the fan-out: what has not gone out waits."""
    api = wechat.client()
    redis = current_app.extensions["redis"]

    def call(item) -> None:
        member_id, _, delivery = item
        if paused_until(batch.now, redis):  # another send hit a quota: do not add to it
            return
        wechat.deliver(api, delivery, batch.now)
        if delivery.errcode == 0:
            journal(redis, batch.claim, member_id, delivery)

    with ThreadPoolExecutor(max_workers=current_app.config["REMINDER_CONCURRENCY"]) as pool:
        list(pool.map(call, batch.prepared))


def settle(batch: Batch) -> dict[int, str]:
    """Write every outcome of a delivered batch (flush); the result per member."""
    now, record_ids = batch.now, {member_id: rid for member_id, rid, _ in batch.prepared}
    # Reload what the commit expired in three queries (not one lazy load, and one autoflush,
    # per member), then write every outcome in one flush.
    records = {r.id: r for r in db.session.execute(select(OutboundMessage).where(
        OutboundMessage.id.in_(list(record_ids.values())))).scalars()}
    members = {m.id: m for m in db.session.execute(select(Member).where(
        Member.id.in_(list(record_ids)))).scalars()}
    rows: dict[int, list[Reminder]] = {}
    for row in db.session.execute(select(Reminder).where(
            Reminder.member_id.in_(list(record_ids)), Reminder.claim == batch.claim)).scalars():
        rows.setdefault(row.member_id, []).append(row)
    results = batch.results
    with db.session.no_autoflush:
        for member_id, _, delivery in batch.prepared:
            member, member_rows = members[member_id], rows[member_id]
            record = records[record_ids[member_id]]
            if not delivery.attempts:  # held back by a pause
                _release(member_rows, now)
                results[member_id] = "paused"
                continue
            wechat.finish(record, delivery, member, now)
            if delivery.retry_later:
                _pause(delivery.errcode, now)
                _release(member_rows, now)
                results[member_id] = f"paused ({delivery.errcode})"
            else:
                _settle(member_rows, record, now)
                results[member_id] = f"{record.status} via {record.channel}"
    db.session.flush()
    return results


def _settle(rows: list[Reminder], record, now: datetime) -> None:
    for row in rows:
        row.status = "sent" if record.status == "sent" else "failed"
        row.outbound_id, row.updated_at = record.id, now
        row.note = None if record.status == "sent" else f"errcode {record.errcode}"


def _release(rows: list[Reminder], now: datetime) -> None:
    for row in rows:
        row.status, row.claim, row.claimed_at, row.updated_at = "pending", None, None, now


def awaiting_answer(member: Member, now: datetime) -> list[Meeting]:
    """Upcoming meetings this member was reminded of and has not answered (参加 / 请假)."""
    reminded = select(Reminder.meeting_id).where(Reminder.member_id == member.id,
                                                 Reminder.status == "sent")
    answered = select(MeetingAttendance.meeting_id).where(
        MeetingAttendance.member_id == member.id, MeetingAttendance.rsvp.is_not(None))
    return list(db.session.execute(select(Meeting).where(
        Meeting.id.in_(reminded), Meeting.id.not_in(answered), Meeting.status == "scheduled",
        Meeting.starts_at > now).order_by(Meeting.starts_at)).scalars())
