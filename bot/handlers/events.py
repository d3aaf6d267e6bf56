"""Platform events: follow, unfollow, QR scans, menu clicks, and delivery reports."""
from __future__ import annotations

from sqlalchemy import select

from bot import dispatch
from bot.handlers import Handler
from bot.replies import load, render
from bot.storage.engine import db
from bot.storage.models import OutboundMessage


class SubscribeHandler(Handler):
    """关注 (follow, also by QR code): a welcome; a returning member is reachable again."""

    def check(self, msg) -> bool:
        return msg.event in ("subscribe", "subscribe_scan")

    def handle(self, msg) -> str:
        msg.user.subscribed = True
        msg.user.subscribed_at = msg.now
        msg.user.unsubscribed_at = None
        if msg.member is None:
            return render("welcome_unbound")
        msg.member.reachable = True
        return render("welcome_back", name=msg.member.name)


class UnsubscribeHandler(Handler):
    """取消关注: the member can no longer be reached; nothing is sent back (it could not arrive)."""

    def check(self, msg) -> bool:
        return msg.event == "unsubscribe"

    def handle(self, msg) -> str:
        msg.user.subscribed = False
        msg.user.unsubscribed_at = msg.now
        if msg.member is not None:
            msg.member.reachable = False
        return ""


class ScanHandler(Handler):
    """A follower scanning the account's QR code again: greet them like a follow."""

    def check(self, msg) -> bool:
        return msg.event == "scan"

    def handle(self, msg) -> str:
        return SubscribeHandler().handle(msg)


class ClickHandler(Handler):
    """A menu click: the key is mapped to words in prompts/menu.toml and handled as text."""

    def check(self, msg) -> bool:
        return msg.event == "click"

    def handle(self, msg) -> str:
        words = load("menu").get("clicks", {}).get(msg.event_key or "")
        if not words:
            return render("unknown")
        msg.msg_type, msg.text, msg.event = "text", words, None
        return dispatch.route(msg)


class DeliveryReportHandler(Handler):
    """TEMPLATESENDJOBFINISH: the platform's delivery result for a template message we sent."""

    def check(self, msg) -> bool:
        return msg.event == "templatesendjobfinish"

    def handle(self, msg) -> str:
        sent = db.session.execute(select(OutboundMessage).where(
            OutboundMessage.wechat_msgid == msg.raw.msg_id)).scalars().first()
        if sent is not None:
            sent.delivery_status = msg.raw.status
        return ""


class QuietEventHandler(Handler):
    """Every other event (automatic location reports, menu links …) is stored, not answered."""

    def check(self, msg) -> bool:
        return msg.msg_type == "event"

    def handle(self, msg) -> str:
        return ""


HANDLERS = [SubscribeHandler(), UnsubscribeHandler(), ScanHandler(), ClickHandler(),
            DeliveryReportHandler(), QuietEventHandler()]
