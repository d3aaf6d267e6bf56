"""The platform endpoint /wechat: verify → (decrypt) → accept once → parse → dispatch → reply.

The platform's three modes (WECHAT_ENCRYPT_MODE, resolved when the app starts; with an AES key
and nothing set: safe). Signatures (`sign`, `matches`) are checked here in constant time:
* plain (明文): the body is XML, `signature` signs token, timestamp and nonce.
* compat (兼容) and safe (安全): the body carries <Encrypt>, `msg_signature` signs it too; only
  the decrypted message is read. A body without <Encrypt> and a valid msg_signature is refused:
  nobody downgrades a safe account to plain.
A URL's signature does not cover a plain body, so a (timestamp, nonce) pair is accepted once
with one body: the same body again is the platform's retry (answered from the stored reply),
another body is a replay and is refused. The pairs live in the database, so a Redis outage
does not open this check. Refused requests get 403 and nothing is stored.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from flask import Blueprint, Response, current_app, request
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from wechatpy.crypto import PrpCrypto
from wechatpy.utils import random_string

from bot import clock
from bot.chat import inbound
from bot.storage.engine import db
from bot.storage.models import WebhookNonce

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)
MAX_NONCE = 64  # the platform's nonces are ten digits


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


def accept_once(timestamp: int, nonce: str, body: bytes) -> bool:
    """Remember (timestamp, nonce) with this body; False if it came before with another body."""
    digest = hashlib.sha256(body).hexdigest()
    now = clock.now()
    try:  # a plain INSERT: no unit of work for one row on every message
        db.session.execute(insert(WebhookNonce).values(timestamp=timestamp, nonce=nonce,
                                                       body_sha=digest, seen_at=now))
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
    stored = db.session.execute(select(WebhookNonce.body_sha).where(
        WebhookNonce.timestamp == timestamp, WebhookNonce.nonce == nonce)).scalar_one_or_none()
    return stored == digest


def prune_nonces(now) -> int:
    """Forget the pairs whose timestamps the freshness check refuses anyway; how many."""
    from datetime import timedelta

    skew = current_app.config["WECHAT_MAX_CLOCK_SKEW"]
    cutoff = now - timedelta(seconds=2 * skew + 60)
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
        if not accept_once(timestamp, nonce, body):
            return _refuse("replayed timestamp and nonce with another body")
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not check the request's nonce: answered, not handled")
        return _reply(inbound.unavailable(message or b""), mode, raw_timestamp)
    try:
        if message is None:  # signed by the platform, not decryptable with our keys: kept,
            # never read as plain (a compat body's plain fields are not covered by the signature)
            return _reply(inbound.keep_undecryptable(body), mode, raw_timestamp)
        return _reply(inbound.process(message), mode, raw_timestamp)
    except Exception:  # noqa: BLE001 - the last net: a polite answer, never a 500
        db.session.rollback()
        log.exception("could not answer a signed request")
        return _reply(inbound.unavailable(message or b""), mode, raw_timestamp)


def _reply(payload: str, mode: str, timestamp: str) -> Response:
    if payload == inbound.SUCCESS:
        return Response(payload, mimetype="text/plain")
    if mode != "plain":
        from wechatpy.crypto import WeChatCrypto

        cfg = current_app.config
        crypto = WeChatCrypto(cfg["WECHAT_TOKEN"], cfg["WECHAT_AES_KEY"], cfg["WECHAT_APP_ID"])
        payload = crypto.encrypt_message(payload, random_string(16), str(int(timestamp)))
    return Response(payload, mimetype="application/xml")
