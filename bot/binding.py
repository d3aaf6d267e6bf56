"""Binding a follower's openid to a roster member with a one-time invite code (绑定 CODE)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import update

from bot.storage import members as store
from bot.storage.engine import db
from bot.storage.models import InviteCode


@dataclass
class Outcome:
    """A reply key from prompts/replies.toml and its values."""

    key: str
    values: dict = field(default_factory=dict)


def _failures_key(openid: str, now: datetime, window: int) -> tuple[str, int]:
    """The counter for openid in the current fixed window, and the seconds the window has left."""
    bucket, into = divmod(int(now.timestamp()), window)
    return f"zhibu:bind:failures:{openid}:{bucket}", window - into


def bind(openid: str, code: str | None, now: datetime) -> Outcome:
    """Try to bind openid with code; wrong guesses are limited per openid within a window."""
    cfg = current_app.config
    redis = current_app.extensions["redis"]
    user = store.get_or_create_wechat_user(openid, now)
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

    # Claim the code atomically: of two followers sending it at once, exactly one wins.
    claimed = db.session.execute(
        update(InviteCode).where(InviteCode.id == invite.id, InviteCode.used_at.is_(None))
        .values(used_at=now, used_by_openid=openid)).rowcount
    if claimed != 1:
        return Outcome("bind_used")
    user.member_id = invite.member_id
    user.bound_at = now
    user.subscribed = True
    invite.member.reachable = True
    db.session.flush()
    return Outcome("bind_ok", {"name": invite.member.name, "branch": invite.member.branch.name})
