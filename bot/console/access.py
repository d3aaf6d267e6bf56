"""Who may use the console, and how they sign in.

Two ways in: the one-time link a bound leader gets by sending 控制台 in chat, and, where a
computer has no WeChat, a password set with `flask --app wsgi console add-user NAME --branch
BRANCH` (argon2-hashed; the phone number is the user name). Either way the session lasts
CONSOLE_SESSION_HOURS by the app's clock, and every request checks the member's roles again:
a leader who stepped down (换届) is out at once. Wrong passwords are limited in sliding windows
per account and across all accounts, like invite codes.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from sqlalchemy import select

from bot.clock import to_beijing
from bot.members.rules import console_scope, left_by, normalise_phone
from bot.redisconn import FailureWindow
from bot.storage.engine import db
from bot.storage.models import ConsoleUser, Member

MIN_PASSWORD = 10  # characters
FAILURES = "zhibu:console:failures:"  # + a digest of the phone, or "*" for every account
PER_ACCOUNT, PER_ACCOUNT_SECONDS = 5, 15 * 60
ALL_ACCOUNTS, ALL_SECONDS = 30, 60 * 60
_hasher = PasswordHasher()


class Refused(ValueError):
    """A sign-in or a new user refused; args[0] is the prompts key, args[1] its values."""


def scope(member: Member, now: datetime) -> str | None:
    """What the console shows the member (console_scope): nothing once they have left the
    branch (转出), whatever roles they held."""
    return None if left_by(member, to_beijing(now).date()) else console_scope(member.roles)


def set_password(member: Member, password: str, by: str, now: datetime) -> ConsoleUser:
    """Let a leader sign in with a password (a new one replaces the old). The caller commits."""
    if scope(member, now) is None:
        raise Refused("console.not_leader", {"name": member.name})
    if len(password) < MIN_PASSWORD:
        raise Refused("console.short_password", {"length": MIN_PASSWORD})
    user = db.session.execute(select(ConsoleUser).where(
        ConsoleUser.member_id == member.id)).scalar_one_or_none()
    if user is None:
        user = ConsoleUser(member_id=member.id, created_at=now, created_by=by)
        db.session.add(user)
    user.password_hash = _hasher.hash(password)
    db.session.flush()
    return user


def _windows(phone: str, now: datetime) -> tuple[FailureWindow, FailureWindow]:
    redis = current_app.extensions["redis"]
    digest = hashlib.sha256(phone.encode("utf-8")).hexdigest()[:24]  # no phone in Redis
    return (FailureWindow(redis, FAILURES + digest, PER_ACCOUNT, PER_ACCOUNT_SECONDS, now),
            FailureWindow(redis, FAILURES + "*", ALL_ACCOUNTS, ALL_SECONDS, now))


def sign_in(phone_text: str, password: str, now: datetime) -> Member:
    """The leader these credentials belong to; Refused (one answer for every wrong pair, and
    a wait once too many were wrong). May raise RedisError: the caller says so politely."""
    phone = normalise_phone(phone_text or "") or (phone_text or "").strip()[:20]
    mine, everyone = _windows(phone, now)
    if mine.full() or everyone.full():
        raise Refused("console.too_many", {"minutes": max(
            w.minutes_left() for w in (mine, everyone) if w.full())})
    found = db.session.execute(select(ConsoleUser, Member).join(
        Member, ConsoleUser.member_id == Member.id).where(Member.phone == phone)).first()
    user, member = found if found else (None, None)
    try:
        if user is None:
            _hasher.hash(password or "-")  # the same work for an unknown account
            raise VerifyMismatchError
        _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        mine.add()
        everyone.add()
        raise Refused("console.wrong", {}) from None
    if scope(member, now) is None:
        raise Refused("console.not_leader_now", {})
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.signed_in_at = now
    return member


def session_valid(signed_in_at: str | None, now: datetime) -> bool:
    """Is a session signed in at `signed_in_at` (ISO) still within CONSOLE_SESSION_HOURS?"""
    if not signed_in_at:
        return False
    try:
        began = datetime.fromisoformat(signed_in_at)
    except ValueError:
        return False
    hours = current_app.config["CONSOLE_SESSION_HOURS"]
    return began <= now < began + timedelta(hours=hours)
