"""Binding a follower's openid to a roster member with a one-time invite code (绑定 CODE)."""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import update

from bot.replies import Outcome
from bot.storage import members as store
from bot.storage.engine import db
from bot.storage.models import InviteCode, WechatUser



def _failures_key(openid: str, now: datetime, window: int) -> tuple[str, int]:
    """The counter for openid in the current fixed window, and the seconds the window has left."""
    bucket, into = divmod(int(now.timestamp()), window)
    return f"zhibu:bind:failures:{openid}:{bucket}", window - into


def bind(user: WechatUser, code: str | None, now: datetime) -> Outcome:
    """Try to bind the follower with code; wrong guesses are limited per openid within a window.

    Runs without autoflush: the follower and its link are written in the message's one flush at
    commit, where the unique member_id stops a second follower bound to the same member.
    """
    with db.session.no_autoflush:
        return _bind(user, code, now)


def _bind(user: WechatUser, code: str | None, now: datetime) -> Outcome:
    cfg = current_app.config
    redis = current_app.extensions["redis"]
    openid = user.openid
    if user.member is not None:
        return Outcome("bind_already", {"name": user.member.name})
    if not code:
        return Outcome("bind_missing_code")
    window = cfg["BIND_FAILURE_WINDOW"]
    key, left = _failures_key(openid, now, window)
    minutes = max(1, (left + 59) // 60)
    if int(redis.get(key) or 0) >= cfg["BIND_MAX_FAILURES"]:
        return Outcome("bind_rate_limited", {"minutes": minutes})

    invite = store.find_invite(code)
    problem = None
    if invite is None:
        problem = Outcome("bind_bad_code")
    elif invite.used_at is not None:
        problem = Outcome("bind_used")
    elif invite.expires_at <= now:
        problem = Outcome("bind_expired")
    elif invite.member.wechat is not None:
        problem = Outcome("bind_member_taken")
    if problem is not None:
        with redis.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, window)
            count = pipe.execute()[0]
        remaining = cfg["BIND_MAX_FAILURES"] - count
        if problem.key == "bind_bad_code":
            if remaining <= 0:
                return Outcome("bind_rate_limited", {"minutes": minutes})
            problem.values["remaining"] = remaining
        return problem

    # Claim the code atomically: of two followers sending it at once, exactly one wins (the
    # unique member_id of wechat_users stops the other at the same flush).
    user.member, user.bound_at, user.subscribed = invite.member, now, True
    claimed = db.session.execute(
        update(InviteCode).where(InviteCode.id == invite.id, InviteCode.used_at.is_(None))
        .values(used_at=now, used_by_openid=openid)).rowcount
    if claimed != 1:
        user.member, user.bound_at = None, None
        return Outcome("bind_used")
    invite.member.reachable = True
    return Outcome("bind_ok", {"name": invite.member.name, "branch": invite.member.branch.name})
