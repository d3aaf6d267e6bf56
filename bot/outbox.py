"""Pushes decided while handling a message go out only once its transaction has committed.

A handler calls notify(); the send jobs are enqueued after the commit, and dropped on rollback,
so a message whose work was rolled back never tells anyone anything.
"""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
KEY = "zhibu_outbox"


def notify(member_id: int, key: str, idempotency_key: str, **values) -> None:
    """Send reply `key` to a member once the current transaction commits."""
    from bot.storage.engine import db

    db.session().info.setdefault(KEY, []).append((member_id, key, idempotency_key, values))


@event.listens_for(Session, "after_commit")
def _send(session) -> None:
    pending = session.info.pop(KEY, None)
    if not pending:
        return
    from bot.jobs.platform import send_to_member

    queue = current_app.extensions["rq_queue"]
    for member_id, key, idempotency_key, values in pending:
        try:
            queue.enqueue(send_to_member, member_id, key, idempotency_key, values)
        except Exception:  # noqa: BLE001 - Redis down: the decision stands, the push is lost
            log.exception("could not enqueue %s for member %s", key, member_id)


@event.listens_for(Session, "after_rollback")
def _drop(session) -> None:
    session.info.pop(KEY, None)
