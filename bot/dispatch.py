"""Dispatch: the first handler whose check() accepts a message handles it and returns the reply.

A handler that fails is logged with the message's context and becomes a polite reply; what the
handler half-wrote is rolled back, and the message record keeps the error. What a handler wrote
is flushed with the message record at commit (bot.inbound), which answers a failure there too.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from bot import intents
from bot.replies import render
from bot.storage.engine import db

log = logging.getLogger(__name__)


@dataclass
class Result:
    text: str
    status: str = "replied"  # replied / ignored / error
    error: str | None = None


def classify(msg) -> None:
    """Attach the intent to a text (or recognised voice) message."""
    if msg.text is not None and msg.msg_type in ("text", "voice"):
        msg.intent = intents.classify(msg.text, msg.today)


def route(msg) -> str:
    """Classify msg and return the reply of the first handler that accepts it (may raise)."""
    from bot.handlers import default_handlers

    classify(msg)
    for handler in default_handlers():
        if handler.check(msg):
            return handler.handle(msg)
    return render("unknown")


def dispatch(msg) -> Result:
    """Route msg through the ordered handlers; never raises."""
    try:
        text = route(msg)
        return Result(text or "", "replied" if text else "ignored")
    except Exception as exc:  # noqa: BLE001 - every failure becomes a polite reply
        db.session.rollback()
        # the member's words are not logged (they may hold a phone number or an invite code)
        log.exception("handler failed: openid=%s type=%s event=%s intent=%s text=%d chars",
                      msg.openid, msg.msg_type, msg.event,
                      getattr(msg.intent, "name", None), len(msg.text or ""))
        return Result(render("error"), "error", f"{type(exc).__name__}: {exc}"[:2000])
