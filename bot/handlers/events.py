"""Platform events: follow, unfollow, QR scans and delivery reports. (A menu click has become
text in bot/chat/inbound.py before it reaches the handlers.)"""
from __future__ import annotations

from sqlalchemy import select

from bot.chat.dispatch import Handler, Incoming
from bot.notices import store as notices
from bot.replies import render
from bot.storage.engine import db
from bot.storage.models import OutboundMessage


class _Event(Handler):
    group, who = "events", "anyone"


class SubscribeHandler(_Event):
    """关注 (follow, also by QR code) or a scan of the account's code: a welcome; a returning
    member is reachable again."""

    events = ("subscribe", "subscribe_scan", "scan")

    def handle(self, msg: Incoming, match) -> str:
        if match != "scan":
            msg.user.subscribed = True
            msg.user.subscribed_at = msg.now
            msg.user.unsubscribed_at = None
        if msg.member is None:
            return render("welcome_unbound")
        msg.member.reachable = True
        return render("welcome_back", name=msg.member.name)


class UnsubscribeHandler(_Event):
    """取消关注: the member can no longer be reached; nothing is sent back (it could not arrive)."""

    events = ("unsubscribe",)

    def handle(self, msg: Incoming, match) -> str:
        msg.user.subscribed = False
        msg.user.unsubscribed_at = msg.now
        if msg.member is not None:
            msg.member.reachable = False
        return ""


class DeliveryReportHandler(_Event):
    """TEMPLATESENDJOBFINISH: the platform's delivery result for a template message we sent."""

    events = ("templatesendjobfinish",)

    def handle(self, msg: Incoming, match) -> str:
        sent = db.session.execute(select(OutboundMessage).where(
            OutboundMessage.wechat_msgid == msg.raw.msg_id)).scalars().first()
        if sent is not None:
            sent.delivery_status = msg.raw.status
            notices.delivery_reported(sent)
        return ""


class QuietEventHandler(Handler):
    """Every other event (automatic location reports, menu links …) is stored, not answered."""

    group, who, msg_types = "events", "anyone", ("event",)

    def handle(self, msg: Incoming, match) -> str:
        return ""


HANDLERS = [SubscribeHandler(), UnsubscribeHandler(), DeliveryReportHandler(),
            QuietEventHandler()]
