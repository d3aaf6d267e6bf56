"""Dispatch: the first handler whose check() finds a match handles the message.

A handler answers two questions, as python-telegram-bot's do: check(msg) — "is this mine?" —
returns its match (the intent, a regex match, the dialogue's state …) or None, and writes
nothing; handle(msg, match) gets that match, so nothing is parsed twice, and returns the reply.
The ordered list is built once, when the app starts (bot/handlers/__init__.py says the order).

A handler that fails is logged with the message's context and becomes a polite reply; what the
handler half-wrote is rolled back, and the message record keeps the error. What a handler wrote
is flushed with the message record at commit (bot.chat.inbound), which answers a failure there.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app

from bot.chat import intents
from bot import replies
from bot.replies import render
from bot.clock import to_beijing
from bot.storage.engine import db
from bot.storage.models import InboundMessage, Member, WechatUser

log = logging.getLogger(__name__)
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
    raw: Any  # the checked fields of the platform message (bot.chat.inbound.Envelope)
    intent: Any = None  # bot.chat.intents.Intent, for text
    clean: str | None = None  # the text as the bot reads it (simplified, half-width …)

    @property
    def member(self) -> Member | None:
        return self.user.member

    @property
    def today(self):
        """The Beijing date the message arrived."""
        return to_beijing(self.now).date()

    @property
    def left(self) -> bool:
        """Is the sender a member recorded as transferred out of the branch (转出) by now?
        (Asked by every handler tried: worked out once per member the message has.)"""
        from bot.members.rules import left_by

        member = self.member
        if member is None:
            return False
        known = self.__dict__.get("_left")
        if known is None or known[0] != member.id:
            known = self.__dict__["_left"] = (member.id, left_by(member, self.today))
        return known[1]


# The groups handlers declare, in the order they are tried.
GROUPS = ("events", "commands", "dialogues", "intents", "fallback")


class Handler:
    """Base class. A handler declares what it looks at, and dispatch asks it only about the
    messages that fit: `events` (platform events), `msg_types` (message types; "*" any message
    that is not an event), `commands` (exact commands of prompts/intents.toml [commands]),
    `menu` (a tapped one-tap option, msgmenu, whose id starts so),
    `dialogue` (the topic of the member's unfinished dialogue), `intents` (`unsure`: only the
    readings not sure enough to act on), or nothing (every message). `who` says whose
    messages: bound members (default; not those who left the branch, 转出), followers not
    bound yet, members who left, or anyone. accept(msg, match) adds the handler's own
    conditions (a leader only, a period away open …) and returns the match or None."""

    group = "intents"
    who = "members"  # members / unbound / left / anyone
    events: tuple[str, ...] = ()
    msg_types: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    menu: str | None = None  # the prefix of the one-tap options (msgmenu) it answers
    dialogue: str | None = None
    intents: tuple[str, ...] = ()
    unsure = False  # True: only readings the bot is not sure enough of to act on

    def check(self, msg: Incoming) -> Any | None:
        """The match this handler takes the message with, or None. Writes nothing."""
        bound = msg.member is not None
        if (self.who == "members" and (not bound or msg.left)) or \
                (self.who == "unbound" and bound) or (self.who == "left" and not msg.left):
            return None
        match = self._declared(msg)
        return None if match is None else self.accept(msg, match)

    def _declared(self, msg: Incoming) -> Any | None:
        if self.events:
            return msg.event if msg.event in self.events else None
        if self.msg_types:
            fits = msg.msg_type in self.msg_types or \
                ("*" in self.msg_types and msg.msg_type != "event")
            return msg.msg_type if fits else None
        if self.menu:
            tapped = getattr(msg.raw, "menu_id", None)
            return tapped if tapped and tapped.startswith(self.menu) else None
        if self.commands:
            return next((found for found in (intents.command(name, msg.clean or msg.text)
                                             for name in self.commands) if found), None)
        if self.dialogue:
            return msg.member.dialogue(self.dialogue, msg.now) if msg.text is not None else None
        if self.intents:
            intent = msg.intent
            if intent is not None and intent.name in self.intents and \
                    (not self.unsure or not intent.act):
                return intent
            return None
        return True

    def accept(self, msg: Incoming, match: Any) -> Any | None:
        """The handler's own conditions on a message that fits its declaration."""
        return match

    def handle(self, msg: Incoming, match: Any) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass
class Result:
    text: str
    status: str = "replied"  # replied / ignored / error
    error: str | None = None


def init_app(app, handlers: list[Handler]) -> None:
    """Keep the ordered handler list for the app's lifetime."""
    app.extensions["handlers"] = handlers


def classify(msg: Incoming) -> None:
    """Attach the intent to a text (or recognised voice) message."""
    if msg.text is not None and msg.msg_type in ("text", "voice"):
        msg.intent = intents.classify(msg.text, msg.today)
        msg.clean = intents.get_understanding().clean(msg.text)


def route(msg: Incoming) -> str:
    """Classify msg and return the reply of the first handler that takes it (may raise)."""
    classify(msg)
    return reroute(msg)


def reroute(msg: Incoming, past_dialogues: bool = False) -> str:
    """The reply of the first handler that takes msg as it now stands (its intent perhaps
    settled by the member's answer to a question); past_dialogues skips the events, commands
    and dialogues (the message was an answer to one)."""
    skip = set(GROUPS[:GROUPS.index("dialogues") + 1]) if past_dialogues else set()
    for handler in current_app.extensions["handlers"]:
        if handler.group in skip:
            continue
        match = handler.check(msg)
        if match is not None and match is not False:
            return handler.handle(msg, match)
    return render("unknown")


def dispatch(msg: Incoming) -> Result:
    """Route msg through the ordered handlers; never raises."""
    from bot.members.store import contact_for

    member = msg.member
    replies.asking.set((lambda: contact_for(member, msg.today)) if member is not None else None)
    try:
        text = route(msg)
        if text and member is not None and member.is_floating and not msg.left:
            from bot.floating.reports import missing_question

            text += missing_question(member, msg.now)
        return Result(text or "", "replied" if text else "ignored")
    except Exception as exc:  # noqa: BLE001 - every failure becomes a polite reply
        db.session.rollback()
        # the member's words are not logged (they may hold a phone number or an invite code)
        log.exception("handler failed: openid=%s type=%s event=%s intent=%s text=%d chars",
                      msg.openid, msg.msg_type, msg.event,
                      getattr(msg.intent, "name", None), len(msg.text or ""))
        return Result(render("error"), "error", f"{type(exc).__name__}: {exc}"[:2000])
