"""Jobs of the meetings topic: keeping the calendar planned ahead."""
from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from bot import clock
from bot.jobs import with_app

log = logging.getLogger(__name__)


@with_app
def plan_upcoming(months: int = 2) -> str:
    """Materialise this month's and next month's meetings for every branch (idempotent)."""
    from bot.meetings import planning as meetings
    from bot.meetings.calendar import RuleError
    from bot.storage.engine import db
    from bot.storage.models import Branch

    now, created = clock.now(), 0
    for branch in db.session.execute(select(Branch).order_by(Branch.id)).scalars():
        for year, month in clock.next_months(now, months):
            try:
                created += meetings.plan_month(branch, year, month, now)[0]
            except RuleError as exc:  # a branch's own rule is wrong: the others still plan
                log.warning("branch %s: calendar rule not understood: %s", branch.name, exc)
    db.session.commit()
    return f"planned {created}"


@with_app
def close_finished_meetings() -> str:
    """Give every member of each finished meeting exactly one status (出席/远程/请假/缺席)."""
    from bot.meetings import attendance
    from bot.storage.engine import db

    closed = attendance.close_finished(clock.now())
    db.session.commit()
    return f"closed {closed}"


def run_reminders(now: datetime, dry_run: bool = False, inline: bool = False) -> list:
    """The reminder planner as of now: what was (or would be) sent, as (planned, result) pairs.

    The claim is committed first; then send jobs of CHUNK members are queued, or (inline, the
    CLI) sent here and now. A dry run claims nothing.
    """
    from bot.meetings import reminders
    from bot.storage.engine import db

    reminders.materialise(now)
    db.session.commit()  # the reminder rows of the coming meetings (idempotent)
    claim, planned = reminders.claim_due(now, dry_run=dry_run)
    if dry_run:  # nothing claimed, nothing recovered or skipped
        db.session.rollback()
        return [(p, "would send") for p in planned]
    db.session.commit()
    if not planned:
        return []
    if inline:
        results = send_batch([p.member_id for p in planned], claim, now)
        return [(p, results[p.member_id]) for p in planned]
    queue = current_app.extensions["rq_queue"]
    for ids in reminders.chunks(planned):
        queue.enqueue(send_reminder_batch, ids, claim)
    return [(p, "queued") for p in planned]


def send_batch(member_ids: list[int], claim: str, now: datetime) -> dict[int, str]:
    """Send the claimed reminders of these members, one digest each: records committed before
    any platform call, outcomes committed after; the result per member."""
    from bot.jobs.platform import send_claimed
    from bot.meetings.reminders import KIND

    return send_claimed(KIND, member_ids, claim, now)


@with_app
def plan_reminders() -> str:
    """The reminder planner: claim what is due and enqueue the send jobs."""
    return f"planned {len(run_reminders(clock.now()))}"


@with_app
def send_reminder_batch(member_ids: list[int], claim: str) -> str:
    """Send the claimed reminders of these members (one digest each)."""
    results = send_batch(member_ids, claim, clock.now())
    return f"{sum(1 for r in results.values() if r.startswith('sent'))} sent of {len(results)}"
