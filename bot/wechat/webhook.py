"""The platform endpoint /wechat: verify → (decrypt) → accept once → parse → dispatch → reply.

The platform's three modes (WECHAT_ENCRYPT_MODE, resolved when the app starts; with an AES key
and nothing set: safe). Signatures (`sign`, `matches`) are checked here in constant time:
* plain (明文): the body is XML, `signature` signs token, timestamp and nonce.
* compat (兼容) and safe (安全): the body carries <Encrypt>, `msg_signature` signs it too; only
  the decrypted message is read. A body without <Encrypt> and a valid msg_signature is refused:
  nobody downgrades a safe account to plain.
A URL's signature does not cover a plain body, so a (timestamp, nonce) pair is accepted once
with one body: the same body again is the platform's retry (answered from the stored reply),
another body is a replay and is refused. Redis answers the check (one SET NX for the window);
the pairs are also kept in the database, so a Redis outage (or a Redis that lost them) does
not open it: a new pair is written in the message's own transaction (not one commit more per
message) — whatever the request commits first, the message and its reply or a failed or
malformed one kept, carries it — and a commit that would take a pair another request holds
fails, its work with it. Refused requests get 403 and nothing is stored.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from flask import Blueprint, Response, current_app, g, has_request_context, request
from sqlalchemy import delete, event, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from redis.exceptions import RedisError
from wechatpy.crypto import PrpCrypto
from wechatpy.utils import random_string

from bot import clock
from bot.chat import inbound
from bot.storage.engine import db
from bot.storage.models import WebhookNonce

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)
MAX_NONCE = 64  # the platform's nonces are ten digits
NONCE_KEY = "zhibu:inbound:nonce:"  # + timestamp:nonce → the body's sha256, for the window


def sign(*parts: str) -> str:
    """sha1 of the sorted concatenation, as the platform computes signature and msg_signature."""
    return hashlib.sha1("".join(sorted(str(p) for p in parts)).encode("utf-8")).hexdigest()


def matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a computed signature with the one in the request."""
    if not given:
        return False
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("ascii",
                                                                                       "replace"))


def _refuse(reason: str) -> Response:
    log.warning("refused /wechat request: %s (from %s)", reason, request.remote_addr)
    return Response("forbidden", status=403, mimetype="text/plain")


def _timestamp(raw: str) -> int | None:
    """The request's timestamp if it is plain digits within the allowed skew of our clock."""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 12):
        return None
    skew = current_app.config["WECHAT_MAX_CLOCK_SKEW"]
    return int(raw) if abs(clock.now().timestamp() - int(raw)) <= skew else None


def _keys() -> list[bytes]:
    """The AES keys accepted: the current one, and the previous one while the platform
    switches (WECHAT_AES_KEY_PREVIOUS)."""
    cfg = current_app.config
    keys = []
    for value in (cfg.get("WECHAT_AES_KEY"), cfg.get("WECHAT_AES_KEY_PREVIOUS")):
        if value:
            keys.append(base64.b64decode(value + "="))
    return keys


def _decrypt(encrypt: str) -> str | None:
    """The plaintext of <Encrypt> under one of our keys and our AppID, or None."""
    for key in _keys():
        try:
            return PrpCrypto(key).decrypt(encrypt, current_app.config["WECHAT_APP_ID"])
        except Exception:  # noqa: BLE001 - wrong key, padding, AppID: try the next key
            continue
    return None


def seen_before(timestamp: int, nonce: str, body: bytes) -> bool | None:
    """Has (timestamp, nonce) come before: True with this body (the platform's retry), False
    with another (a replay: refuse it), None if never — then it is kept with whatever this
    request commits first (see _keep_pending_nonce). Redis answers first (one SET NX, which
    also settles two requests racing with one pair); without Redis, the database does."""
    digest = hashlib.sha256(body).hexdigest()
    key = f"{NONCE_KEY}{timestamp}:{nonce}"
    try:
        redis = current_app.extensions["redis"]
        if redis.set(key, digest, nx=True, ex=_nonce_window_seconds()):
            stored = None
        else:
            stored = (redis.get(key) or b"").decode() or None
    except RedisError:
        stored = db.session.connection().execute(select(WebhookNonce.body_sha).where(
            WebhookNonce.timestamp == timestamp, WebhookNonce.nonce == nonce)).scalar()
    if stored is not None:
        return stored == digest
    setattr(g, inbound.PENDING_NONCE, {"timestamp": timestamp, "nonce": nonce,
                                       "body_sha": digest, "seen_at": clock.now()})
    return None


def _nonce_window_seconds() -> int:
    """How long a pair is remembered: as long as the freshness check could let it in again."""
    return 2 * current_app.config["WECHAT_MAX_CLOCK_SKEW"] + 60


@event.listens_for(Session, "before_commit")
def _keep_pending_nonce(session) -> None:
    """The request's new (timestamp, nonce) goes into its first commit: a plain INSERT (Core,
    not the ORM's unit of work), so a commit taking a pair another request holds fails
    (IntegrityError) and keeps nothing."""
    if has_request_context() and g.get(inbound.PENDING_NONCE):
        session.connection().execute(insert(WebhookNonce.__table__),
                                     [g.get(inbound.PENDING_NONCE)])


@event.listens_for(Session, "after_commit")
def _pending_nonce_kept(session) -> None:
    if has_request_context():
        g.pop(inbound.PENDING_NONCE, None)


def _keep_nonce_alone() -> None:
    """The pair of a request that committed nothing (a retry answered from the first delivery's
    reply, or the database refused what it wrote): kept by itself. Already there (the
    platform repeated the pair of the delivery it retried): nothing to do."""
    if not g.get(inbound.PENDING_NONCE):
        return
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("could not keep a request's timestamp and nonce")
    g.pop(inbound.PENDING_NONCE, None)


def prune_nonces(now) -> int:
    """Forget the pairs whose timestamps the freshness check refuses anyway; how many. (Redis
    forgets its copies by itself.)"""
    from datetime import timedelta

    cutoff = now - timedelta(seconds=_nonce_window_seconds())
    return db.session.execute(delete(WebhookNonce).where(WebhookNonce.seen_at < cutoff)).rowcount


@bp.route("/wechat", methods=["GET", "POST"])
def wechat() -> Response:
    """The URL registered in the official account's server settings."""
    cfg = current_app.config
    token = cfg["WECHAT_TOKEN"]
    args = request.args
    raw_timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not token or not matches(sign(token, raw_timestamp, nonce), args.get("signature")):
        return _refuse("bad or missing signature")
    timestamp = _timestamp(raw_timestamp)
    if timestamp is None:
        return _refuse("stale or malformed timestamp")
    if not nonce or len(nonce) > MAX_NONCE:
        return _refuse("missing or overlong nonce")
    if request.method == "GET":
        return Response(args.get("echostr", ""), mimetype="text/plain")

    limit = cfg["WECHAT_MAX_BODY"]
    if request.content_length is not None and request.content_length > limit:
        return Response("request body too large", status=413, mimetype="text/plain")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        return Response("request body too large", status=413, mimetype="text/plain")

    mode = cfg["WECHAT_ENCRYPT_MODE"]
    if mode == "plain":
        if args.get("encrypt_type", "raw").lower() != "raw":
            return _refuse("encrypted message but the account is in plain mode")
        message = body
    else:
        encrypt = inbound.encrypted_part(body)
        if encrypt is None:
            return _refuse(f"{mode} mode: body without <Encrypt>")
        if not matches(sign(token, raw_timestamp, nonce, encrypt), args.get("msg_signature")):
            return _refuse("bad or missing msg_signature")
        plain = _decrypt(encrypt)
        message = plain.encode("utf-8") if plain is not None else None

    try:
        if seen_before(timestamp, nonce, body) is False:
            return _refuse("replayed timestamp and nonce with another body")
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not check the request's nonce: answered, not handled")
        return _reply(inbound.unavailable(message or b""), mode, raw_timestamp)
    try:
        if message is None:  # signed by the platform, not decryptable with our keys: kept,
            # never read as plain (a compat body's plain fields are not covered by the signature)
            payload = inbound.keep_undecryptable(body)
        else:
            payload = inbound.process(message)
    except Exception:  # noqa: BLE001 - the last net: a polite answer, never a 500
        db.session.rollback()
        log.exception("could not answer a signed request")
        payload = inbound.unavailable(message or b"")
    _keep_nonce_alone()
    return _reply(payload, mode, raw_timestamp)


def _reply(payload: str, mode: str, timestamp: str) -> Response:
    if payload == inbound.SUCCESS:
        return Response(payload, mimetype="text/plain")
    if mode != "plain":
        from wechatpy.crypto import WeChatCrypto

        cfg = current_app.config
        crypto = WeChatCrypto(cfg["WECHAT_TOKEN"], cfg["WECHAT_AES_KEY"], cfg["WECHAT_APP_ID"])
        payload = crypto.encrypt_message(payload, random_string(16), str(int(timestamp)))
    return Response(payload, mimetype="application/xml")
