"""Binding a follower's openid to a roster member with a one-time invite code (绑定 CODE).

Guessing is limited twice over, in sliding windows by the app's clock: so many wrong codes per
follower, and so many across all followers together (someone guessing from many accounts). A
code that does not exist, was used, has expired or belongs to a member already bound gets the
same answer, so a guess never learns that it hit a real code.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import update

from bot.redisconn import FailureWindow
from bot.replies import Outcome
from bot.members import store
from bot.storage.engine import db
from bot.storage.models import InviteCode, WechatUser

FAILURES = "zhibu:bind:failures:"  # + openid, or "*" for all followers together


def bind(user: WechatUser, code: str | None, now: datetime) -> Outcome:
    """Try to bind the follower with code; wrong guesses are limited (see the module).

    Runs without autoflush: the follower and its link are written in the message's one flush at
    commit, where the unique member_id stops a second follower bound to the same member.
    """
    with db.session.no_autoflush:
        return _bind(user, code, now)


def _bind(user: WechatUser, code: str | None, now: datetime) -> Outcome:
    cfg = current_app.config
    redis = current_app.extensions["redis"]
    if user.member is not None:
        return Outcome("bind_already", {"name": user.member.name})
    if not code:
        return Outcome("bind_missing_code")
    seconds = cfg["BIND_FAILURE_WINDOW"]
    mine = FailureWindow(redis, FAILURES + user.openid, cfg["BIND_MAX_FAILURES"], seconds, now)
    everyone = FailureWindow(redis, FAILURES + "*", cfg["BIND_MAX_FAILURES_ALL"], seconds, now)
    if mine.full():
        return Outcome("bind_rate_limited", {"minutes": mine.minutes_left()})
    if everyone.full():
        return Outcome("bind_busy")

    invite = store.find_invite(code)
    if invite is None or invite.used_at is not None or invite.expires_at <= now or \
            invite.member.wechat is not None:
        everyone.add()
        remaining = cfg["BIND_MAX_FAILURES"] - mine.add()
        if remaining <= 0:
            return Outcome("bind_rate_limited", {"minutes": mine.minutes_left()})
        return Outcome("bind_bad_code", {"remaining": remaining})

    # Claim the code atomically: of two followers sending it at once, exactly one wins (the
    # unique member_id of wechat_users stops the other at the same flush).
    user.member, user.bound_at, user.subscribed = invite.member, now, True
    claimed = db.session.execute(
        update(InviteCode).where(InviteCode.id == invite.id, InviteCode.used_at.is_(None))
        .values(used_at=now, used_by_openid=user.openid)).rowcount
    if claimed != 1:
        user.member, user.bound_at = None, None
        return Outcome("bind_bad_code", {"remaining": cfg["BIND_MAX_FAILURES"] - mine.count()})
    invite.member.reachable = True
    return Outcome("bind_ok", {"name": invite.member.name, "branch": invite.member.branch.name,
                               "days": cfg["RETENTION_DAYS"]})
