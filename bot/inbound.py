"""One inbound message: parse, store (raw XML kept), dedupe retries, dispatch, remember the reply."""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

import xmltodict
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wechatpy import parse_message
from wechatpy.replies import TextReply

from bot import clock, dispatch
from bot.storage import members as store
from bot.storage.engine import db
from bot.storage.models import InboundMessage, Member, WechatUser

log = logging.getLogger(__name__)
SUCCESS = "success"  # tells the platform to stop retrying, shows the member nothing
# Events a member causes by acting; they open the 48-hour customer-service window.
INTERACTIVE_EVENTS = {"subscribe", "subscribe_scan", "scan", "click", "view"}
# How long a retry waits for the first delivery of the same message to finish.
DUPLICATE_WAIT_SECONDS = 3.0


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
            select(InboundMessage).where(InboundMessage.dedupe_key == key)).scalar_one()
        if row.status != "processing":
            return _reply_xml(message, row.reply or "")
        if time.monotonic() > deadline:
            return SUCCESS
        time.sleep(0.05)


def _store(message, xml_text: str, now: datetime):
    """Commit the follower and the message record; (user, record), or None for a retry."""
    for _ in range(2):
        user = store.get_or_create_wechat_user(message.source, now)
        if message.type != "event" or getattr(message, "event", None) in INTERACTIVE_EVENTS:
            user.last_interaction_at = now
        record = _record(message, xml_text, now)
        record.member_id = user.member_id
        db.session.add(record)
        try:
            db.session.commit()
            return user, record
        except IntegrityError:
            db.session.rollback()
            if db.session.execute(select(InboundMessage.id).where(
                    InboundMessage.dedupe_key == record.dedupe_key)).first():
                return None
            # else: two first messages from a new follower raced to create it; try once more
    raise RuntimeError(f"could not store message {record.dedupe_key}")


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


def process(body: bytes) -> str:
    """Handle one verified message body; return the reply XML or 'success'."""
    now = clock.now()
    message, xml_text = _parse(body)
    if message is None:
        _store_malformed(xml_text, now)
        return SUCCESS
    stored = _store(message, xml_text, now)
    if stored is None:
        return _wait_for_first(_dedupe_key(message), message)
    user, record = stored
    location = None
    if record.latitude is not None:
        location = {"latitude": float(record.latitude), "longitude": float(record.longitude),
                    "scale": record.scale, "label": record.label}
    incoming = Incoming(openid=message.source, msg_type=message.type, event=record.event,
                        text=record.content, event_key=getattr(message, "key", None),
                        location=location, now=now, record=record, user=user, raw=message)
    result = dispatch.dispatch(incoming)
    record.status, record.reply, record.error = result.status, result.text, result.error
    record.member_id = incoming.user.member_id
    if incoming.intent is not None:
        record.intent, record.slots = incoming.intent.name, incoming.intent.slots
    record.processed_at = clock.now()
    db.session.commit()
    return _reply_xml(message, result.text)
