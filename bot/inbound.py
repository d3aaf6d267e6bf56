"""One inbound message: parse, store (raw XML kept), dedupe retries, dispatch, remember the reply."""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

import xmltodict
from flask import current_app
from sqlalchemy import select
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError
from wechatpy import parse_message
from wechatpy.replies import TextReply

from bot import clock, dispatch
from bot.replies import render
from bot.storage import members as store
from bot.storage.engine import db
from bot.storage.models import InboundMessage, Member, WechatUser

log = logging.getLogger(__name__)
SUCCESS = "success"  # tells the platform to stop retrying, shows the member nothing
# Events a member causes by acting; they open the 48-hour customer-service window.
INTERACTIVE_EVENTS = {"subscribe", "subscribe_scan", "scan", "click", "view"}
# How long a retry waits for the first delivery of the same message to finish.
DUPLICATE_WAIT_SECONDS = 3.0
# How long a claim on a message is kept in Redis (the platform retries within about 15 s).
CLAIM_SECONDS = 3600
# last_interaction_at is rewritten at most this often (the window errs on the short side).
INTERACTION_RESOLUTION = timedelta(minutes=1)


@dataclass
class Incoming:
    """A parsed message as handlers see it."""

    openid: str
    msg_type: str  # text, image, voice, video, shortvideo, location, link, event …
    event: str | None
    text: str | None  # the text, or a voice message's Recognition
    event_key: str | None
    location: dict | None
    now: datetime  # UTC
    record: InboundMessage
    user: WechatUser
    raw: object  # the wechatpy message
    intent: object = None  # bot.intents.Intent for text

    @property
    def member(self) -> Member | None:
        return self.user.member

    @property
    def today(self):
        """The Beijing date the message arrived."""
        return clock.to_beijing(self.now).date()


def encrypted_part(body: bytes) -> str | None:
    """The <Encrypt> value of a safe-mode body, or None if the body has none or is not XML."""
    try:
        doc = xmltodict.parse(body.decode("utf-8", errors="replace"))
        value = doc["xml"]["Encrypt"]
    except Exception:  # noqa: BLE001 - any parse failure means: no usable <Encrypt>
        return None
    return value if isinstance(value, str) and value else None


def _parse(body: bytes):
    """(wechatpy message, XML text); the message is None when the body is not a usable message."""
    xml_text = body.decode("utf-8", errors="replace")
    try:
        message = parse_message(xml_text)
        if message is None or not message.source or not message.type:
            return None, xml_text
        return message, xml_text
    except Exception:  # noqa: BLE001 - malformed XML of any kind is answered, never raised
        return None, xml_text


def _dedupe_key(message) -> str:
    if message.type != "event" and message.id:
        return f"msg:{message.id}"
    event = getattr(message, "event", "") or ""
    return f"evt:{message.source}:{message.time}:{event}"


def _coordinate(value) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, TypeError, ValueError):
        return None


def _record(message, xml_text: str, now: datetime) -> InboundMessage:
    event = getattr(message, "event", None) if message.type == "event" else None
    record = InboundMessage(
        dedupe_key=_dedupe_key(message), openid=message.source, msg_type=message.type,
        event=event, msg_id=message.id or None,
        sent_at=clock.from_timestamp(message.time) if message.time else None,
        received_at=now, raw_xml=xml_text, status="processing")
    if message.type == "text":
        record.content = message.content
    elif message.type == "voice":
        record.content = message.recognition
    elif message.type == "location":
        record.latitude = _coordinate(message.location_x)
        record.longitude = _coordinate(message.location_y)
        record.scale = int(message.scale) if str(message.scale or "").isdigit() else None
        record.label = message.label
    elif message.type == "event" and event == "location":
        record.latitude = _coordinate(message.latitude)
        record.longitude = _coordinate(message.longitude)
    return record


def _reply_xml(message, text: str) -> str:
    if not text:
        return SUCCESS
    return TextReply(content=text, message=message).render()


def _wait_for_first(key: str, message) -> str:
    """A retry of a message we already have: the first delivery's reply, never a second run."""
    deadline = time.monotonic() + DUPLICATE_WAIT_SECONDS
    while True:
        db.session.rollback()
        row = db.session.execute(
            select(InboundMessage).where(InboundMessage.dedupe_key == key)).scalar_one_or_none()
        if row is not None:
            return _reply_xml(message, row.reply or "")
        if time.monotonic() > deadline:
            return SUCCESS
        time.sleep(0.05)


def _store_malformed(xml_text: str, now: datetime) -> None:
    """Keep a signed body we could not read as a message (once), for the record."""
    digest = hashlib.sha1(xml_text.encode("utf-8", errors="replace")).hexdigest()
    log.warning("malformed message body (%d chars) answered with success", len(xml_text))
    db.session.add(InboundMessage(dedupe_key=f"malformed:{digest}", msg_type="malformed",
                                  received_at=now, raw_xml=xml_text, status="malformed",
                                  processed_at=now))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def _follower(message, now: datetime) -> WechatUser:
    """The sender's follower row; a message or a click opens the 48-hour window."""
    user = store.get_or_create_wechat_user(message.source, now)
    if message.type != "event" or getattr(message, "event", None) in INTERACTIVE_EVENTS:
        last = user.last_interaction_at
        if last is None or now - last >= INTERACTION_RESOLUTION:
            user.last_interaction_at = now
    return user


def _handle(message, xml_text: str, now: datetime) -> str:
    """Dispatch, then store the message with its result: one transaction, one commit."""
    user = _follower(message, now)
    record = _record(message, xml_text, now)
    location = None
    if record.latitude is not None:
        location = {"latitude": float(record.latitude), "longitude": float(record.longitude),
                    "scale": record.scale, "label": record.label}
    incoming = Incoming(openid=message.source, msg_type=message.type, event=record.event,
                        text=record.content, event_key=getattr(message, "key", None),
                        location=location, now=now, record=record, user=user, raw=message)
    result = dispatch.dispatch(incoming)
    if result.status == "error":  # the handler's work was rolled back, and the follower with it
        user = _follower(message, now)
    record.status, record.reply, record.error = result.status, result.text, result.error
    record.member_id = user.member_id
    if incoming.intent is not None:
        record.intent, record.slots = incoming.intent.name, incoming.intent.slots
    record.processed_at = clock.now()
    db.session.add(record)
    db.session.commit()
    return _reply_xml(message, result.text)


def process(body: bytes) -> str:
    """Handle one verified message body exactly once; return the reply XML or 'success'.

    A Redis claim on the dedupe key makes a retry that arrives while the first delivery is being
    handled wait for its reply; the unique dedupe key in the database is the lasting guarantee
    (a duplicate that slips past the claim fails at commit, and its handler's work rolls back).
    """
    now = clock.now()
    message, xml_text = _parse(body)
    if message is None:
        _store_malformed(xml_text, now)
        return SUCCESS
    key = _dedupe_key(message)
    claim = _claim(key)
    if claim is False:
        return _wait_for_first(key, message)
    for attempt in (1, 2):
        try:
            return _handle(message, xml_text, now)
        except IntegrityError:
            db.session.rollback()
            if _stored(key):
                return _wait_for_first(key, message)  # the same message, stored meanwhile
            if attempt == 1:
                continue  # a write raced with another message's (a new follower, a code
                # claimed twice): handle it once more against what is now stored
            log.exception("could not store message %s from %s", key, message.source)
        except Exception:  # noqa: BLE001 - the database or Redis failed: answer, never a 500
            db.session.rollback()
            log.exception("could not handle message %s from %s", key, message.source)
        break
    _release(claim)
    return _reply_xml(message, render("error"))


def _claim(key: str) -> str | bool | None:
    """Claim the message in Redis: its claim key, False if already claimed, None if no Redis."""
    claim = f"zhibu:inbound:{key}"
    try:
        if current_app.extensions["redis"].set(claim, "1", nx=True, ex=CLAIM_SECONDS):
            return claim
        return False
    except RedisError:
        log.warning("Redis unavailable: message %s deduplicated by the database alone", key)
        return None


def _release(claim: str | None) -> None:
    """Let the platform's retry of a message we failed to handle try again."""
    if claim:
        try:
            current_app.extensions["redis"].delete(claim)
        except RedisError:
            pass


def _stored(key: str) -> bool:
    return db.session.execute(select(InboundMessage.id).where(
        InboundMessage.dedupe_key == key)).first() is not None
