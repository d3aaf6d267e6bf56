"""撤回 / 说错了 / 不是这个意思: undo the member's last action within UNDO_MINUTES.

What a member's message changed is kept as a MemberAction (Member.remember): the row and what
it was before. Undoing puts the row back as it was (or removes it, if the message made it) and
keeps the action, marked undone — the audit trail keeps both. A leave request already decided
by a leader, or a notice already sent, cannot be undone here.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from bot.chat import outbox
from bot.replies import Outcome
from bot.storage.engine import db
from bot.storage.models import AttendanceChange, Member, MemberAction

UNDO_MINUTES = 10


def last_action(member: Member, now: datetime) -> MemberAction | None:
    """The member's latest action not undone, if it is recent enough to undo."""
    action = db.session.execute(select(MemberAction).where(
        MemberAction.member_id == member.id).order_by(MemberAction.id.desc()).limit(1)
    ).scalar_one_or_none()
    if action is None or action.undone_at is not None or \
            now - action.created_at > timedelta(minutes=UNDO_MINUTES):
        return None
    return action


def undo(member: Member, now: datetime) -> Outcome:
    """Undo the member's last action; what was undone (or why nothing was)."""
    action = last_action(member, now)
    if action is None:
        return Outcome("undo.nothing", {"minutes": UNDO_MINUTES})
    if action.kind == "notice":  # gone cannot be recalled; a scheduled one is cancelled
        from bot.notices.store import withdraw

        return withdraw(action, now)
    changes = []
    for item in action.undo["rows"]:
        table = db.metadata.tables[item["table"]]
        model = next(m.class_ for m in db.Model.registry.mappers if m.local_table is table)
        changes.append((model, db.session.get(model, item["id"]), item["before"]))
    if action.kind == "leave" and any(row is not None and row.leave_status != "pending"
                                      for _, row, _ in changes):
        return Outcome("undo.decided", {"what": action.summary})
    for model, row, before in changes:
        if row is None:
            continue
        if before is None:
            db.session.delete(row)
            continue
        if action.kind in ("rsvp", "leave") and row.attendance != before.get("attendance"):
            db.session.add(AttendanceChange(
                meeting_id=row.meeting_id, member_id=row.member_id, old=row.attendance,
                new=before.get("attendance"), changed_by=f"member:{member.id}",
                reason="undo", changed_at=now))
        for name, value in before.items():
            setattr(row, name, _value(model, name, value))
    action.undone_at = now
    if action.kind == "leave":
        from bot.clock import to_beijing
        from bot.members import store as member_store

        for leader in member_store.leaders_of(member.branch_id, to_beijing(now).date()):
            if leader.id != member.id:
                outbox.notify(leader.id, "undo.leave_withdrawn", f"undo:{action.id}:{leader.id}",
                              name=member.name, what=action.summary)
    return Outcome("undo.done", {"what": action.summary})


def _value(model, name: str, value):
    """A JSON value back in its column's type."""
    if value is None:
        return None
    kind = model.__table__.c[name].type.python_type if hasattr(
        model.__table__.c[name].type, "python_type") else str
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if kind is Decimal:
        return Decimal(value)
    return value
