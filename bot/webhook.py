"""The platform endpoint /wechat: verify → (decrypt) → parse → dedupe → dispatch → reply.

Forged, unsigned or stale requests are refused with 403 before anything is read or stored.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import random_string

from bot import clock, inbound
from bot.signing import matches, sign

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)


def _refuse(reason: str) -> Response:
    log.warning("refused /wechat request: %s (from %s)", reason, request.remote_addr)
    return Response("forbidden", status=403, mimetype="text/plain")


def _fresh(timestamp: str) -> bool:
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    skew = current_app.config["WECHAT_MAX_CLOCK_SKEW"]
    return abs(clock.now().timestamp() - sent) <= skew


def _crypto() -> WeChatCrypto | None:
    cfg = current_app.config
    if not cfg.get("WECHAT_AES_KEY"):
        return None
    return WeChatCrypto(cfg["WECHAT_TOKEN"], cfg["WECHAT_AES_KEY"], cfg["WECHAT_APP_ID"])


@bp.route("/wechat", methods=["GET", "POST"])
def wechat() -> Response:
    """The URL registered in the official account's server settings."""
    cfg = current_app.config
    token = cfg["WECHAT_TOKEN"]
    args = request.args
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not matches(sign(token, timestamp, nonce), args.get("signature")):
        return _refuse("bad or missing signature")
    if not _fresh(timestamp):
        return _refuse("stale timestamp")
    if request.method == "GET":
        return Response(args.get("echostr", ""), mimetype="text/plain")

    limit = cfg["WECHAT_MAX_BODY"]
    if request.content_length is not None and request.content_length > limit:
        return Response("request body too large", status=413, mimetype="text/plain")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        return Response("request body too large", status=413, mimetype="text/plain")

    safe = args.get("encrypt_type", "raw").lower() == "aes"
    if not safe:
        return _xml(inbound.process(body))

    crypto = _crypto()
    if crypto is None:
        return _refuse("encrypted message but WECHAT_AES_KEY is not configured")
    encrypt = inbound.encrypted_part(body)
    if encrypt is None:
        return _refuse("safe mode without <Encrypt>")
    if not matches(sign(token, timestamp, nonce, encrypt), args.get("msg_signature")):
        return _refuse("bad or missing msg_signature")
    try:
        plain = PrpCrypto(crypto.key).decrypt(encrypt, cfg["WECHAT_APP_ID"])
    except Exception:  # noqa: BLE001 - a signed but undecryptable body: refuse, store nothing
        log.exception("could not decrypt a signed message")
        return Response("bad request", status=400, mimetype="text/plain")
    reply = inbound.process(plain.encode("utf-8"))
    if reply == inbound.SUCCESS:
        return _xml(reply)
    return _xml(crypto.encrypt_message(reply, random_string(16), timestamp))


def _xml(payload: str) -> Response:
    if payload == inbound.SUCCESS:
        return Response(payload, mimetype="text/plain")
    return Response(payload, mimetype="application/xml")
