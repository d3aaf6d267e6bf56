"""A notice being written in chat: text, audience, when — shown back, and sent only on 确认.

The secretary writes 通知 全体党员：… (all at once), or 发通知 and answers the questions. The
draft lives in the sender's dialogue (bot/storage/models.py: Member.dialogue) for
rules.DRAFT_MINUTES; nothing is stored as a notice until 确认. Quiet hours are applied when the
draft is shown and again when it is confirmed (time passes between the two).
"""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from bot.chat import intents, slots
from bot.clock import BEIJING, to_beijing
from bot.members.rules import may_mark_urgent, may_send_notices
from bot.notices import rules, sending, store
from bot.replies import Outcome, render, when
from bot.storage.models import Member

TOPIC = "notice"
YES = re.compile(r"^\s*(确认|确认发送|发送|发|确定|是|是的|对|好|好的|可以|ok|1|１)[。!！.~～]*\s*$",
                 re.IGNORECASE)
NO = re.compile(r"^\s*(取消|放弃|算了|不发了|不发|不用了|不要了|2|２)[。!！.~～]*\s*$")
# 全体党员：… typed as the text: the audience said with it
_WITH_AUDIENCE = re.compile(r"^\s*(?:发给|给)?([^:：\n]{1,20}?)\s*[:：]\s*([\s\S]+)$")


def begin(member: Member, words: str | None, text: str | None, urgent: bool,
          now: datetime) -> Outcome:
    """Start a draft from what the sender said (any part may be missing) and ask for the rest,
    or show it for 确认."""
    if not may_send_notices(member.roles):
        return Outcome("notice.not_allowed")
    draft = {"urgent": bool(urgent and may_mark_urgent(member.roles)),
             "urgent_refused": bool(urgent and not may_mark_urgent(member.roles)),
             "text": None, "audience": None, "at": None}
    unknown = None
    if words:
        draft["audience"] = rules.parse_audience(words, store.groups_of(member.branch_id))
        unknown = None if draft["audience"] else words
    if text:
        _set_text(draft, text, now)
    return _next(member, draft, now, unknown)


def answer(member: Member, draft: dict, text: str, now: datetime) -> Outcome:
    """The sender's answer to the draft's question (the text, the audience, 确认)."""
    if NO.match(text) or intents.command("cancel", text):
        member.end_dialogue()
        return Outcome("notice.dropped")
    step = draft.get("step")
    if step == "text":
        found = _WITH_AUDIENCE.match(text)
        audience = rules.parse_audience(found.group(1), store.groups_of(member.branch_id)) \
            if found and not draft.get("audience") else None
        if audience:
            draft["audience"], text = audience, found.group(2)
        _set_text(draft, text, now)
        return _next(member, draft, now)
    if step == "audience":
        draft["audience"] = rules.parse_audience(text, store.groups_of(member.branch_id))
        return _next(member, draft, now, None if draft["audience"] else text)
    if YES.match(text):
        return confirm(member, draft, now)
    member.start_dialogue(TOPIC, draft, now, rules.DRAFT_MINUTES)
    return Outcome("notice.confirm_how")


def _set_text(draft: dict, text: str, now: datetime) -> None:
    body, day, clock_time = slots.extract_send_time(text.strip(), to_beijing(now).date())
    draft["text"] = body.strip()
    if day is not None or clock_time is not None:
        draft["at"] = _moment(day, clock_time, now).isoformat()


def _moment(day, clock_time, now: datetime) -> datetime:
    """A date and/or a time said for sending, as a moment (a time already past today:
    tomorrow; a date alone: that morning at 08:00)."""
    here = to_beijing(now)
    if day is None:
        moment = datetime.combine(here.date(), time(*clock_time), tzinfo=BEIJING)
        return moment if moment > here else moment + timedelta(days=1)
    return datetime.combine(day, time(*(clock_time or (8, 0))), tzinfo=BEIJING)


def _next(member: Member, draft: dict, now: datetime, unknown: str | None = None) -> Outcome:
    """Ask for what the draft still lacks, or show it whole for 确认."""
    groups = store.groups_of(member.branch_id)
    choices = render("notice.audience_choices", groups="、".join(groups) or
                     render("notice.no_groups"))
    if not draft.get("text"):
        draft["step"] = "text"
        outcome = Outcome("notice.ask_text")
    elif not draft.get("audience"):
        draft["step"] = "audience"
        outcome = Outcome("notice.ask_audience_again" if unknown else "notice.ask_audience",
                          {"words": unknown, "choices": choices})
    else:
        draft["step"] = "confirm"
        outcome = Outcome("notice.confirm", summary(member, draft, now))
    member.start_dialogue(TOPIC, draft, now, rules.DRAFT_MINUTES)
    return outcome


def _names(members: list[Member]) -> str:
    shown = "、".join(m.name for m in members[:rules.SHOW_NAMES_UP_TO])
    if len(members) > rules.SHOW_NAMES_UP_TO:
        shown += render("notice.and_more", count=len(members))
    return shown


def _when_line(member: Member, draft: dict, now: datetime) -> tuple[str, datetime]:
    wanted = datetime.fromisoformat(draft["at"]) if draft.get("at") else now
    at, moved = sending.send_time(member.branch, max(wanted, now), draft["urgent"])
    if moved:
        return render("notice.when_moved", when=when(at)), at
    if at <= now:
        return render("notice.when_now"), at
    return render("notice.when_at", when=when(at)), at


def summary(member: Member, draft: dict, now: datetime) -> dict:
    """The values of the draft shown back: whom it reaches, who cannot be reached, when."""
    today = to_beijing(now).date()
    reach = store.Reach.of(member.branch_id, draft["audience"], today, member)
    count = len(reach.members)
    lines = []
    if count and count <= rules.SHOW_NAMES_UP_TO:
        lines.append(render("notice.whom_named", names=_names(reach.members)))
    if reach.unbound:
        lines.append(render("notice.unbound", count=len(reach.unbound),
                            names=_names(reach.unbound)))
    if reach.unfollowed:
        lines.append(render("notice.unfollowed", count=len(reach.unfollowed),
                            names=_names(reach.unfollowed)))
    if draft.get("urgent_refused"):
        lines.append(render("notice.urgent_refused"))
    when_line, _ = _when_line(member, draft, now)
    addressed = any(m.id == member.id for m in store.audience_members(
        member.branch_id, draft["audience"], today))
    return {"audience": store.audience_label(draft["audience"]), "count": count,
            "not_self": render("notice.not_self") if addressed else "",
            "details": "".join("\n" + line for line in lines), "when": when_line,
            "text": draft["text"],
            "title": render("notice.title_urgent" if draft["urgent"] else "notice.title")}


def confirm(member: Member, draft: dict, now: datetime) -> Outcome:
    """确认: the draft becomes a notice; it goes now or at its time (the caller, a way in,
    asks a worker)."""
    member.end_dialogue()
    return send(member, draft, now)


def new_draft(member: Member, audience: str, text: str, at: datetime | None,
              urgent: bool) -> dict:
    """A draft as the console's form gives it whole (chat builds one question at a time)."""
    return {"urgent": bool(urgent and may_mark_urgent(member.roles)),
            "urgent_refused": bool(urgent and not may_mark_urgent(member.roles)),
            "text": text, "audience": audience, "at": at.isoformat() if at else None}


def send(member: Member, draft: dict, now: datetime) -> Outcome:
    """The confirmed draft becomes a notice, sent now or at its time (quiet hours applied)."""
    if not store.audience_members(member.branch_id, draft["audience"], to_beijing(now).date(),
                                  member):
        return Outcome("notice.nobody", {"audience": store.audience_label(draft["audience"])})
    _, at = _when_line(member, draft, now)
    notice = store.create(member.branch, member, draft["audience"], draft["text"], at,
                          draft["urgent"], now)
    reach = store.Reach.of(member.branch_id, draft["audience"], to_beijing(now).date(), member)
    missed = len(reach.unbound) + len(reach.unfollowed)
    values = {**store.describe(notice), "count": store.recipients_count(notice),
              "unreached": render("notice.unreached", count=missed) if missed else ""}
    return Outcome("notice.sending" if at <= now else "notice.scheduled", values)
