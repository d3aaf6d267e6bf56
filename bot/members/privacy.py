"""我的信息: what the branch keeps about a member, shown to the member (PIPL: the right to know).

Counts of each kind of record, never other members' data; the words of messages are kept
RETENTION_DAYS, the records themselves for the branch's files.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from bot.clock import to_beijing
from bot.replies import render
from bot.members.rules import DUES_CATEGORY_LABELS, ROLE_LABELS, STATUS_LABELS
from bot.storage.engine import db
from bot.storage.models import (DuesPayment, FloatingReport, InboundMessage, MeetingAttendance,
                                Member, StudyCheckin)


def _count(model, member_id: int) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(
        model.member_id == member_id)).scalar_one()


def summary(member: Member) -> str:
    """The member's own data, as a reply."""
    roles = "、".join(ROLE_LABELS[r] for r in sorted(member.roles)) or render("privacy.no_role")
    bound = to_beijing(member.wechat.bound_at).strftime("%Y-%m-%d") \
        if member.wechat and member.wechat.bound_at else "-"
    return render(
        "privacy.summary", name=member.name, phone=member.phone_masked,
        branch=member.branch.name, group=member.group.name if member.group else "-",
        roles=roles, status=STATUS_LABELS.get(member.status, member.status),
        category=DUES_CATEGORY_LABELS.get(member.dues_category or "", "-"),
        base=member.dues_base if member.dues_base is not None else "-",
        floating=render("privacy.yes") if member.is_floating else render("privacy.no"),
        bound=bound, messages=_count(InboundMessage, member.id),
        meetings=_count(MeetingAttendance, member.id), study=_count(StudyCheckin, member.id),
        dues=_count(DuesPayment, member.id), reports=_count(FloatingReport, member.id),
        days=current_app.config["RETENTION_DAYS"])
