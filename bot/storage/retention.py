"""How long personal information is kept (PIPL; SECURITY.md says the same).

After RETENTION_DAYS (default 180) the raw XML and the words of a message are dropped: what
a member wrote, the bot's reply, the slots read from it, a location message's coordinates.
Kept: who, when, what kind, the intent and the status — what the records need; the records
themselves (attendance, leave, study, dues, reports) are the branch's and are not touched.
Sent messages lose their text and values the same way; texts kept for the review of the bot's
understanding (review_items) are deleted. Export files are deleted once their
download links have expired; the export log (who exported what) stays.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, select, update

from bot.storage.engine import db
from bot.storage.models import ExportLog, InboundMessage, OutboundMessage, ReviewItem


def purge(now: datetime) -> dict[str, int]:
    """Drop what has outlived its keeping; counts of what was dropped (the caller commits)."""
    cutoff = now - timedelta(days=current_app.config["RETENTION_DAYS"])
    inbound = db.session.execute(
        update(InboundMessage).where(InboundMessage.received_at < cutoff,
                                     InboundMessage.raw_xml != "")
        .values(raw_xml="", content=None, reply=None, slots=None, label=None, latitude=None,
                longitude=None, error=None),
        execution_options={"synchronize_session": False}).rowcount
    outbound = 0
    for record in db.session.execute(select(OutboundMessage).where(
            OutboundMessage.created_at < cutoff)).scalars():
        if record.payload:
            record.payload, outbound = {}, outbound + 1
    reviewed = db.session.execute(delete(ReviewItem).where(ReviewItem.created_at < cutoff),
                                  execution_options={"synchronize_session": False}).rowcount
    return {"inbound": inbound, "outbound": outbound, "review": reviewed,
            "exports": purge_exports(now)}


def purge_exports(now: datetime) -> int:
    """Delete the export files of the exports folder whose download links have expired."""
    from bot.exports.links import folder

    expired = now - timedelta(hours=current_app.config["EXPORT_LINK_HOURS"])
    root = folder().resolve()
    removed = 0
    for log in db.session.execute(select(ExportLog).where(
            ExportLog.created_at < expired, ExportLog.path.is_not(None))).scalars():
        path = Path(log.path).resolve()
        if root in path.parents:  # only our own folder; a CLI --out file is the operator's
            path.unlink(missing_ok=True)
            log.path = None
            removed += 1
    for stray in root.glob("*"):  # files written but never logged (a crash mid-export)
        if stray.is_file() and datetime.fromtimestamp(stray.stat().st_mtime, now.tzinfo) \
                < expired:
            stray.unlink(missing_ok=True)
            removed += 1
    return removed
