"""The notices topic's line in the secretary's digest: a notice still not acknowledged by some
who received it, a day after it went out (for a week), to the secretaries and its sender."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from bot.digest.core import Item, contributes
from bot.notices import rules
from bot.notices.store import describe
from bot.replies import render
from bot.storage.engine import db
from bot.storage.models import Branch, Notice, NoticeRecipient, NoticeSend


@contributes(45)
def unacknowledged(branch: Branch, now: datetime) -> list[Item]:
    """通知 #12 还有 8 人未确认: notices sent DIGEST_AFTER to DIGEST_DAYS ago."""
    rows = db.session.execute(
        select(Notice, func.count(NoticeRecipient.id))
        .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
        .join(NoticeSend, (NoticeSend.notice_id == Notice.id)
              & (NoticeSend.member_id == NoticeRecipient.member_id) & (NoticeSend.round == 0))
        .where(Notice.branch_id == branch.id, Notice.status.in_(("sending", "sent")),
               Notice.send_at <= now - rules.DIGEST_AFTER,
               Notice.send_at > now - rules.DIGEST_DAYS,
               NoticeRecipient.acked_at.is_(None), NoticeSend.status == "sent")
        .group_by(Notice.id).order_by(Notice.id)).all()
    return [Item("notices", f"notice:{notice.id}:{count}", render(
        "notice.digest_line" if notice.reminded_at else "notice.digest_line_remind",
        count=count, **describe(notice)),
        also_to=(notice.sender_id,) if notice.sender_id else ())
        for notice, count in rows]
