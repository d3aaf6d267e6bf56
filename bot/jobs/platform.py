"""Jobs that talk to the platform: keeping the shared token fresh, sending one message."""
from __future__ import annotations

import logging
from datetime import datetime

from bot import clock
from bot.jobs import with_app

log = logging.getLogger(__name__)


@with_app
def refresh_access_token() -> str:
    """Renew the shared access token ahead of expiry so no request waits for a fetch."""
    from bot.wechat import client as wechat

    try:
        wechat.client().tokens.get()
    except wechat.PlatformError as exc:
        # Best effort: the client fetches a token itself when it needs one.
        log.warning("could not refresh the access token ahead of time: %s", exc)
        return f"failed: {exc}"
    return "ok"


@with_app
def send_to_member(member_id: int, key: str, idempotency_key: str | None = None,
                   values: dict | None = None) -> str:
    """Send prompts key `key` to one member (customer-service or template); idempotent by key."""
    from bot.wechat import client as wechat
    from bot.storage.engine import db
    from bot.storage.models import Member

    member = db.session.get(Member, member_id)
    if member is None:
        return "no such member"
    record = wechat.send(member, key, clock.now(), idempotency_key=idempotency_key,
                         **(values or {}))
    return f"{record.status} via {record.channel} (errcode {record.errcode})"


def send_claimed(kind, member_ids: list[int], claim: str, now: datetime) -> dict[int, str]:
    """One send job of a fan-out (bot/wechat/fanout.py), as a pipeline of slices: each slice's
    records committed before any of its platform calls, its outcomes committed as soon as its
    calls are done, while the next slices are prepared and called; the result per member."""
    from bot.storage.engine import db
    from bot.wechat import fanout

    results: dict[int, str] = {}

    def settle(done) -> None:
        for batch in done:
            results.update(fanout.settle(batch))
            db.session.commit()

    pipe = fanout.Pipeline(now)
    try:
        for ids in fanout.chunks(member_ids, fanout.SLICE):
            batch = fanout.prepare(kind, ids, claim, now)
            db.session.commit()  # expires the ORM objects: the threads see plain values
            pipe.submit(batch)
            settle(pipe.finished())
        settle(pipe.finished(wait=True))
    finally:
        pipe.close()
    return results
