"""Work decided while handling a message (or in any transaction) is queued only once the
transaction has committed: a push to a member (notify), a job (later). Dropped on rollback,
so work that was rolled back never tells anyone anything.
"""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
KEY = "zhibu_outbox"


def later(job, *args) -> None:
    """Queue the RQ job `job(*args)` once the current transaction commits."""
    from bot.storage.engine import db

    db.session().info.setdefault(KEY, []).append((job, args))


def notify(member_id: int, key: str, idempotency_key: str, **values) -> None:
    """Send reply `key` to a member once the current transaction commits."""
    from bot.jobs.platform import send_to_member

    later(send_to_member, member_id, key, idempotency_key, values)


@event.listens_for(Session, "after_commit")
def _send(session) -> None:
    pending = session.info.pop(KEY, None)
    if not pending:
        return
    queue = current_app.extensions["rq_queue"]
    for job, args in pending:
        try:
            queue.enqueue(job, *args)
        except Exception:  # noqa: BLE001 - Redis down: the decision stands, the push is lost
            log.exception("could not enqueue %s", getattr(job, "__name__", job))


@event.listens_for(Session, "after_rollback")
def _drop(session) -> None:
    session.info.pop(KEY, None)
