"""Jobs of the notices topic: send what is due (notices and their reminders), one batch each."""
from __future__ import annotations

from datetime import datetime

from flask import current_app

from bot import clock
from bot.jobs import with_app


def run_notices(now: datetime, inline: bool = False) -> list[tuple[int, int, dict | int]]:
    """Claim every notice round due now and send it: queued as send jobs, or (inline, the CLI)
    here and now. (notice id, round, results by member, or the count queued) per round."""
    from bot.notices import sending
    from bot.storage.engine import db
    from bot.wechat import fanout

    plans = sending.claim_due(now)
    db.session.commit()  # the claims, before anything is sent
    done = []
    for plan in plans:
        if inline:
            results: dict = {}
            for ids in fanout.chunks(plan.member_ids):
                results.update(send_notice_batch(plan.notice_id, plan.round, ids, plan.claim))
            done.append((plan.notice_id, plan.round, results))
            continue
        queue = current_app.extensions["rq_queue"]
        for ids in fanout.chunks(plan.member_ids):
            queue.enqueue(send_notice_batch, plan.notice_id, plan.round, ids, plan.claim)
        done.append((plan.notice_id, plan.round, len(plan.member_ids)))
    return done


@with_app
def send_due_notices() -> str:
    """The notices planner: claim what is due and queue the send jobs."""
    rounds = run_notices(clock.now())
    return f"queued {sum(count for _, _, count in rounds)} pushes of {len(rounds)} rounds"


@with_app
def send_notice_batch(notice_id: int, round_: int, member_ids: list[int], claim: str) -> dict:
    """Send one claimed batch of a notice's round; the notice is sent once nothing is left."""
    from bot.jobs.platform import send_claimed
    from bot.notices import sending
    from bot.storage.engine import db

    results = send_claimed(sending.NoticeFanout(notice_id, round_), member_ids, claim,
                           clock.now())
    sending.finish_if_done(notice_id)
    db.session.commit()
    return results
