"""Exports asked for in chat: built by a worker, the link pushed to the one who asked."""
from __future__ import annotations

from flask import current_app

from bot import clock
from bot.jobs import with_app


@with_app
def attendance_for(member_id: int, year: int, month: int) -> str:
    """Build the branch's attendance workbook for a leader and send them the download link."""
    from bot.wechat import client as wechat
    from bot.exports import attendance as export
    from bot.exports.links import link_for
    from bot.members.rules import LEADER_ROLES
    from bot.storage.engine import db
    from bot.storage.models import Member

    member = db.session.get(Member, member_id)
    if member is None or not member.roles & LEADER_ROLES:
        return "not allowed"
    now = clock.now()
    log = export.save(member.branch, year, month, now, f"member:{member.id}", "chat")
    db.session.commit()
    record = wechat.send(member, "export.link", now, idempotency_key=f"export:{log.id}",
                         month=month, link=link_for(log),
                         hours=current_app.config["EXPORT_LINK_HOURS"])
    return f"{record.status} {log.path}"
