"""One inbound message: parse, store (raw XML kept), dedupe retries, dispatch, remember the reply.

Everything that passed the webhook's signature checks is stored and answered politely, whatever
its body holds: a field that is not what the platform sends (a MsgId that is not a number, a
CreateTime of 1e10, coordinates of NaN, a Content with child elements) makes the message
`malformed`, stored as such, never a 500.
"""
from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import xmltodict
from flask import current_app, g
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import joinedload

from bot import clock
from bot.chat import dispatch
from bot.chat.dispatch import Incoming
from bot.replies import load, render
from bot.storage.engine import db
from bot.storage.models import InboundMessage, Member, WechatUser

log = logging.getLogger(__name__)
SUCCESS = "success"  # tells the platform to stop retrying, shows the member nothing
# flask.g's key for the request's (timestamp, nonce) not kept yet (bot/wechat/webhook.py keeps it
# with the request's first commit)
PENDING_NONCE = "webhook_pending_nonce"
# Events a member causes by acting; they open the 48-hour customer-service window.
INTERACTIVE_EVENTS = {"subscribe", "subscribe_scan", "scan", "click", "view"}
# How long a retry waits for the first delivery of the same message to finish.
DUPLICATE_WAIT_SECONDS = 3.0
# How long a claim on a message is kept in Redis (the platform retries within about 15 s).
CLAIM_SECONDS = 3600
# last_interaction_at is rewritten at most this often (the window errs on the short side).
INTERACTION_RESOLUTION = timedelta(minutes=1)
MAX_ID = 2 ** 63 - 1  # MsgId is a signed 64-bit number on the platform and in our table
# CreateTime beyond this (year 2100) is not a time the platform sends.
MAX_CREATE_TIME = 4102444800
# Characters XML 1.0 cannot carry, even in CDATA.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def storable(text: str | None) -> str | None:
    """text as every database stores it: PostgreSQL refuses NUL in text, so it is escaped."""
    return text.replace("\x00", "\\x00") if text else text


class Malformed(ValueError):
    """A signed body that is not a message the platform sends."""


@dataclass
class Envelope:
    """The fields of a platform message, each checked: what handlers and the store rely on."""

    openid: str
    account: str  # ToUserName: the official account, echoed back as the reply's sender
    msg_type: str
    created: int | None
    msg_id: int | None
    event: str | None = None
    event_key: str | None = None
    text: str | None = None  # Content, or a voice message's Recognition
    status: str | None = None  # TEMPLATESENDJOBFINISH's delivery status
    menu_id: str | None = None  # bizmsgmenuid: the one-tap option of a msgmenu the member chose
    location: dict | None = None
    body_digest: str = ""  # of the XML the fields were read from

    @property
    def dedupe_key(self) -> str:
        """msg:<MsgId>, evt:<sender>:<CreateTime>:<event>, else a digest of the body."""
        if self.msg_type != "event" and self.msg_id is not None:
            return f"msg:{self.msg_id}"
        if self.created is not None:
            return f"evt:{self.openid}:{self.created}:{self.event or ''}"
        return f"raw:{self.openid}:{self.body_digest}"


def _text(fields: dict, name: str, limit: int, required: bool = False,
          word: bool = False) -> str | None:
    """A text field of at most `limit` characters (a `word` is stripped and lower-cased
    first: that is what is stored)."""
    value = fields.get(name)
    if value is None:
        if required:
            raise Malformed(f"{name} missing")
        return None
    if isinstance(value, str) and word:
        value = value.strip().lower()
    if not isinstance(value, str) or len(value) > limit:
        raise Malformed(f"{name} is not a text of at most {limit} characters")
    return value


def _number(fields: dict, name: str, low: int, high: int) -> int | None:
    value = _text(fields, name, 40)
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise Malformed(f"{name} is not a number the platform sends")
    return int(value)


def _coordinate(fields: dict, name: str, bound: float) -> float | None:
    value = _text(fields, name, 40)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise Malformed(f"{name} is not a number") from exc
    if not math.isfinite(number) or abs(number) > bound:
        raise Malformed(f"{name} is not a coordinate")
    return number


def parse(xml_text: str) -> Envelope:
    """The envelope of a message body; Malformed if it is not one the platform would send."""
    try:
        doc = xmltodict.parse(xml_text)
    except Exception as exc:  # noqa: BLE001 - expat, entities, anything: not a message
        raise Malformed(f"not XML: {type(exc).__name__}") from exc
    fields = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(fields, dict):
        raise Malformed("no <xml> root")
    msg_type = _text(fields, "MsgType", 32, required=True, word=True)
    if not msg_type:
        raise Malformed("MsgType empty")
    openid = _text(fields, "FromUserName", 64, required=True, word=False).strip()
    if not openid or _NOT_XML.search(openid):
        raise Malformed("FromUserName empty")
    envelope = Envelope(
        openid=openid, account=_text(fields, "ToUserName", 64) or "", msg_type=msg_type,
        created=_number(fields, "CreateTime", 0, MAX_CREATE_TIME),
        msg_id=_number(fields, "MsgId", 1, MAX_ID),
        body_digest=hashlib.sha1(xml_text.encode("utf-8", "replace")).hexdigest())
    if msg_type == "text":
        envelope.text = _text(fields, "Content", 64 * 1024) or ""
        envelope.menu_id = _text(fields, "bizmsgmenuid", 64)
    elif msg_type == "voice":
        envelope.text = _text(fields, "Recognition", 64 * 1024)
    elif msg_type == "location":
        envelope.location = {"latitude": _coordinate(fields, "Location_X", 90),
                             "longitude": _coordinate(fields, "Location_Y", 180),
                             "scale": _number(fields, "Scale", 0, 100),
                             "label": _text(fields, "Label", 500)}
    elif msg_type == "event":
        envelope.event = _text(fields, "Event", 64, required=True, word=True)
        envelope.event_key = _text(fields, "EventKey", 500)
        if envelope.event == "subscribe" and (envelope.event_key or "").startswith("qrscene_"):
            envelope.event = "subscribe_scan"
        if envelope.event == "templatesendjobfinish":
            envelope.msg_id = _number(fields, "MsgID", 1, MAX_ID)
            envelope.status = _text(fields, "Status", 64)
        if envelope.event == "location":
            envelope.location = {"latitude": _coordinate(fields, "Latitude", 90),
                                 "longitude": _coordinate(fields, "Longitude", 180),
                                 "scale": None, "label": None}
    return envelope


def encrypted_part(body: bytes) -> str | None:
    """The <Encrypt> value of a safe-mode body, or None if the body has none or is not XML."""
    try:
        doc = xmltodict.parse(body.decode("utf-8", errors="replace"))
        value = doc["xml"]["Encrypt"]
    except Exception:  # noqa: BLE001 - any parse failure means: no usable <Encrypt>
        return None
    return value if isinstance(value, str) and value else None


def _cdata(text: str) -> str:
    """A CDATA section holding text exactly, whatever it contains (]]> included)."""
    return "<![CDATA[" + _NOT_XML.sub("", text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def reply_xml(envelope: Envelope, text: str, now: datetime) -> str:
    """The passive text reply to envelope ('success' when there is nothing to say): always
    well-formed XML, whatever the member or the platform sent."""
    if not text:
        return SUCCESS
    return (f"<xml><ToUserName>{_cdata(envelope.openid)}</ToUserName>"
            f"<FromUserName>{_cdata(envelope.account)}</FromUserName>"
            f"<CreateTime>{int(now.timestamp())}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content>{_cdata(text)}</Content></xml>")


def _record(envelope: Envelope, xml_text: str, now: datetime) -> InboundMessage:
    record = InboundMessage(
        dedupe_key=envelope.dedupe_key, openid=envelope.openid, msg_type=envelope.msg_type,
        event=envelope.event, msg_id=envelope.msg_id if envelope.msg_type != "event" else None,
        sent_at=clock.from_timestamp(envelope.created) if envelope.created else None,
        received_at=now, raw_xml=storable(xml_text), status="processing",
        content=storable(envelope.text))
    location = envelope.location or {}
    if location.get("latitude") is not None and location.get("longitude") is not None:
        record.latitude = Decimal(str(location["latitude"])).quantize(Decimal("0.000001"))
        record.longitude = Decimal(str(location["longitude"])).quantize(Decimal("0.000001"))
        record.scale, record.label = location.get("scale"), storable(location.get("label"))
    return record


def _wait_for_first(key: str, envelope: Envelope, now: datetime) -> str:
    """A retry of a message we already have: the first delivery's reply, never a second run.
    Its (timestamp, nonce) is kept once the first delivery has committed; if that one is still
    at work when we give up, it is left to it (the platform may have repeated the pair, and
    taking it first would fail that delivery's commit)."""
    deadline = time.monotonic() + DUPLICATE_WAIT_SECONDS
    while True:
        db.session.rollback()
        row = db.session.execute(
            select(InboundMessage).where(InboundMessage.dedupe_key == key)).scalar_one_or_none()
        if row is not None:
            return reply_xml(envelope, row.reply or "", now)
        if time.monotonic() > deadline:
            g.pop(PENDING_NONCE, None)
            return SUCCESS
        time.sleep(0.05)


def _store_malformed(xml_text: str, now: datetime, why: str, openid: str | None = None) -> None:
    """Keep a signed body we could not read as a message (once), for the record."""
    digest = hashlib.sha1(xml_text.encode("utf-8", errors="replace")).hexdigest()
    log.warning("malformed message body (%d chars): %s", len(xml_text), why)
    db.session.add(InboundMessage(dedupe_key=f"malformed:{digest}", msg_type="malformed",
                                  openid=openid, received_at=now, raw_xml=storable(xml_text),
                                  status="malformed", error=why[:2000], processed_at=now))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def follower(openid: str) -> WechatUser | None:
    """The follower row for openid, with its member and roles loaded in the same query."""
    return db.session.execute(
        select(WechatUser).where(WechatUser.openid == openid)
        .options(joinedload(WechatUser.member).joinedload(Member.role_rows))
    ).unique().scalar_one_or_none()


def _follower(envelope: Envelope, now: datetime) -> WechatUser:
    """The sender's follower row, created on first contact; a message or a click opens the
    48-hour window."""
    user = follower(envelope.openid)
    if user is None:
        user = WechatUser(openid=envelope.openid, subscribed=True, created_at=now)
        db.session.add(user)
    if envelope.msg_type != "event" or envelope.event in INTERACTIVE_EVENTS:
        last = user.last_interaction_at
        if last is None or now - last >= INTERACTION_RESOLUTION:
            user.last_interaction_at = now
    return user


def _handle(envelope: Envelope, xml_text: str, now: datetime) -> str:
    """Dispatch, then store the message with its result: one transaction, one commit."""
    user = _follower(envelope, now)
    record = _record(envelope, xml_text, now)
    incoming = Incoming(openid=envelope.openid, msg_type=envelope.msg_type,
                        event=envelope.event, text=envelope.text, event_key=envelope.event_key,
                        location=envelope.location if record.latitude is not None else None,
                        now=now, record=record, user=user, raw=envelope)
    if incoming.event == "click":  # a menu click is the words prompts/menu.toml gives its key
        incoming.msg_type, incoming.event = "text", None
        incoming.text = load("menu").get("clicks", {}).get(envelope.event_key or "")
    result = dispatch.dispatch(incoming)
    if result.status == "error":  # the handler's work was rolled back, and the follower with it
        user = _follower(envelope, now)
    record.status, record.reply, record.error = result.status, result.text, result.error
    record.member_id = user.member_id
    if incoming.intent is not None:
        record.intent, record.slots = incoming.intent.name, incoming.intent.slots
    record.processed_at = clock.now()
    db.session.add(record)
    db.session.commit()
    return reply_xml(envelope, result.text, now)


def process(body: bytes) -> str:
    """Handle one verified message body exactly once; return the reply XML or 'success'.

    A Redis claim on the dedupe key makes a retry that arrives while the first delivery is being
    handled wait for its reply; the unique dedupe key in the database is the lasting guarantee
    (a duplicate that slips past the claim fails at commit, and its handler's work rolls back).
    """
    now = clock.now()
    xml_text = body.decode("utf-8", errors="replace")
    try:
        envelope = parse(xml_text)
    except Exception as exc:  # noqa: BLE001 - Malformed, or anything a strange body causes
        sender = _sender(xml_text)
        why = str(exc) if isinstance(exc, Malformed) else f"unreadable: {type(exc).__name__}"
        _store_malformed(xml_text, now, why, sender.openid if sender else None)
        return reply_xml(sender, render("malformed"), now) if sender else SUCCESS
    key = envelope.dedupe_key
    claim = _claim(key)
    if claim is False:
        return _wait_for_first(key, envelope, now)
    for attempt in (1, 2):
        try:
            return _handle(envelope, xml_text, now)
        except IntegrityError:
            db.session.rollback()
            if _stored(key):
                return _wait_for_first(key, envelope, now)  # the same message, stored meanwhile
            if attempt == 1:
                continue  # a write raced with another message's (a new follower, a code
                # claimed twice): handle it once more against what is now stored
            log.exception("could not store message %s from %s", key, envelope.openid)
        except Exception:  # noqa: BLE001 - the database or Redis failed: answer, never a 500
            db.session.rollback()
            log.exception("could not handle message %s from %s", key, envelope.openid)
        break
    _release(claim)
    _store_failed(envelope, xml_text, now)
    return reply_xml(envelope, render("error"), now)


def _store_failed(envelope: Envelope, xml_text: str, now: datetime) -> None:
    """A message whose handling failed is still kept (status failed), if the database can;
    the platform's retry may then be handled again (the claim was released)."""
    try:
        record = _record(envelope, xml_text, now)
        record.dedupe_key = f"failed:{now.timestamp()}:{record.dedupe_key}"[:200]
        record.status, record.processed_at = "failed", now
        db.session.add(record)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("could not keep the failed message %s either", envelope.dedupe_key)


def keep_undecryptable(body: bytes) -> str:
    """A signed safe-mode body we cannot decrypt (a key being changed?): stored, not read."""
    _store_malformed(body.decode("utf-8", errors="replace"), clock.now(),
                     "signed but not decryptable with WECHAT_AES_KEY (or _PREVIOUS)")
    return SUCCESS


def _sender(xml_text: str) -> Envelope | None:
    """Who sent a malformed body, if that much can be read (so they get a polite word)."""
    try:
        fields = xmltodict.parse(xml_text)["xml"]
        openid, account = fields.get("FromUserName"), fields.get("ToUserName")
    except Exception:  # noqa: BLE001 - not even that: nobody to answer
        return None
    if isinstance(openid, str) and openid.strip() and len(openid) <= 64 and \
            isinstance(account, str) and len(account) <= 64:
        return Envelope(openid=openid.strip(), account=account, msg_type="malformed",
                        created=None, msg_id=None)
    return None


def unavailable(body: bytes) -> str:
    """The polite reply when nothing can be done (the database is down before we start)."""
    try:
        envelope = parse(body.decode("utf-8", errors="replace"))
    except Malformed:
        return SUCCESS
    return reply_xml(envelope, render("error"), clock.now())


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
