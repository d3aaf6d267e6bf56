"""Sending notices: what is due, claimed and fanned out (bot/wechat/fanout.py), and 再提醒.

A notice goes out at its send_at — never inside the branch's quiet hours unless it is urgent
(紧急通知) — to every recipient the push can reach; the unbound and the unfollowed are marked
failed with the reason, without a call. Each member's push carries the notice whole, with a
one-tap 收到 (a customer-service `msgmenu`) inside the 48-hour window, or, outside it, a
template message with the first words and a signed link to the whole notice and its 收到
button. The idempotency key is the notice, the round and the member: whatever is retried or
recovered, no member gets the same push twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import joinedload

from bot.meetings.rules import in_quiet, quiet_end
from bot.notices import rules
from bot.notices.store import why_unreachable
from bot.replies import Outcome, render
from bot.storage.engine import db
from bot.storage.models import Member, Notice, NoticeRecipient, NoticeSend
from bot.wechat import fanout

ROUNDS = {0: "notice.push", 1: "notice.remind_push"}
MENU_HEAD_BYTES = 1024  # the platform's limit on a msgmenu's head
MENU_PREFIX = "notice-"  # the id of a notice's one-tap 收到: notice-<number>


class NoticeFanout(fanout.Fanout):
    """One round of one notice: the notice itself (0) or its reminder (1)."""

    model = NoticeSend

    def __init__(self, notice_id: int, round_: int):
        self.notice_id, self.round = notice_id, round_
        self.shared: dict | None = None

    def key(self, claim: str, member_id: int) -> str:
        return f"notices:{self.notice_id}:{self.round}:{member_id}"

    def hold(self, rows: dict[int, list], members: list[Member] = (), now=None) -> object:
        """The notice, its sender and branch, read once: every member's push says the same."""
        notice = db.session.execute(select(Notice).where(Notice.id == self.notice_id).options(
            joinedload(Notice.sender), joinedload(Notice.branch))).scalar_one()
        self.shared = shared_values(notice, self.round)
        return notice

    def message(self, member: Member, rows: list, now: datetime) -> tuple[str, dict]:
        from bot.notices.page import link_for

        if self.shared is None:
            self.hold({})
        return ROUNDS[self.round], {**self.shared,
                                    "link": link_for(self.notice_id, member.id)}


def shared_values(notice: Notice, round_: int = 0) -> dict:
    """What every member's push says: the whole text, who sent it, the one-tap 收到 (menu); and
    for the template outside the window, a heading and the first words (the signed link to the
    page is each member's own: added per member)."""
    sender = notice.sender.name if notice.sender else \
        render("notice.from_branch", branch=notice.branch.name)
    values = {"body": notice.text, "sender": sender, "first": rules.first_words(notice.text),
              "title": render("notice.title_urgent" if notice.urgent else "notice.title"),
              "number": notice.id}
    head = render("notice.menu_head" if round_ == 0 else "notice.remind_menu_head", **values)
    if len(head.encode("utf-8")) <= MENU_HEAD_BYTES:  # longer: plain text, 收到 typed
        values["menu"] = {"head_content": head, "tail_content": render("notice.menu_tail"),
                          "list": [{"id": f"{MENU_PREFIX}{notice.id}",
                                    "content": render("notice.menu_ack")}]}
    return values


def menu_notice_id(menu_id: str | None) -> int | None:
    """The notice a tapped 收到 (bizmsgmenuid) acknowledges."""
    rest = (menu_id or "")[len(MENU_PREFIX):]
    return int(rest) if (menu_id or "").startswith(MENU_PREFIX) and rest.isdigit() else None


def may_go(notice: Notice, now: datetime) -> bool:
    """Is it time for this notice (or its reminder) to go out: due, and not in quiet hours
    unless urgent?"""
    return notice.urgent or not in_quiet(now, notice.branch)


def send_time(branch, wanted: datetime, urgent: bool) -> tuple[datetime, bool]:
    """When a notice wanted at `wanted` goes: the same moment, or the end of the quiet hours it
    falls in (unless urgent); and whether it was moved."""
    if urgent:
        return wanted, False
    moved = quiet_end(wanted, branch)
    return moved, moved != wanted


@dataclass
class Plan:
    """A claimed round of one notice, ready for send jobs."""

    notice_id: int
    round: int
    claim: str
    member_ids: list[int]


def claim_due(now: datetime) -> list[Plan]:
    """Recover stale claims; mark the pushes that cannot reach anyone failed; claim the rest of
    every notice (and reminder) due now. The caller commits before anything is sent."""
    plans = []
    if fanout.paused_until(now):
        return plans
    for round_, when_column in ((0, Notice.send_at), (1, Notice.remind_at)):
        due = db.session.execute(select(Notice).where(
            Notice.status.in_(("scheduled", "sending")), when_column.is_not(None),
            when_column <= now, Notice.id.in_(select(NoticeSend.notice_id).where(
                NoticeSend.round == round_, NoticeSend.status.in_(("pending", "sending")))))
            .order_by(Notice.id)).scalars().all()
        for notice in due:
            kind = NoticeFanout(notice.id, round_)
            fanout.recover_stale(kind, now, NoticeSend.notice_id == notice.id,
                                 NoticeSend.round == round_)
            if not may_go(notice, now):
                continue
            ids = _sendable(notice, round_, now)
            if notice.status == "scheduled":
                notice.status = "sending"
            if ids:
                token, mine = fanout.claim(kind, ids, now)
                if mine:
                    plans.append(Plan(notice.id, round_, token, sorted(mine)))
    return plans


def _sendable(notice: Notice, round_: int, now: datetime) -> list[int]:
    """The pending send rows of a round worth sending; the others settled here (unreachable:
    failed, with why; a reminder to someone who has since acknowledged, or a push to someone
    who has since left the branch (转出): skipped)."""
    from bot.clock import to_beijing
    from bot.members.rules import on_roll

    today = to_beijing(now).date()
    rows = db.session.execute(
        select(NoticeSend, Member, NoticeRecipient.acked_at).options(joinedload(Member.wechat))
        .join(Member, Member.id == NoticeSend.member_id)
        .join(NoticeRecipient, (NoticeRecipient.notice_id == NoticeSend.notice_id)
              & (NoticeRecipient.member_id == NoticeSend.member_id))
        .where(NoticeSend.notice_id == notice.id, NoticeSend.round == round_,
               NoticeSend.status == "pending")).all()
    ids = []
    for row, member, acked_at in rows:
        why = why_unreachable(member)
        if round_ == 1 and acked_at is not None:
            row.status, row.note, row.updated_at = "skipped", "acknowledged", now
        elif not on_roll(member, today):
            row.status, row.note, row.updated_at = "skipped", "left", now
        elif why:
            row.status, row.note, row.updated_at = "failed", why, now
        else:
            ids.append(row.id)
    return ids


def finish_if_done(notice_id: int) -> None:
    """A notice whose every push (and reminder) is settled is sent."""
    left = db.session.execute(select(func.count()).select_from(NoticeSend).where(
        NoticeSend.notice_id == notice_id,
        NoticeSend.status.in_(("pending", "sending")))).scalar_one()
    if not left:
        db.session.execute(update(Notice).where(Notice.id == notice_id,
                                                Notice.status == "sending")
                           .values(status="sent"))


def remind(notice: Notice, now: datetime) -> Outcome:
    """再提醒: once per notice, to those it reached who have not acknowledged, outside quiet
    hours (at their end if asked inside them, unless urgent)."""
    values = {"number": notice.id, "first": rules.first_words(notice.text)}
    if notice.status == "cancelled":
        return Outcome("notice.cancelled", values)
    if notice.send_at > now or notice.status == "scheduled":
        return Outcome("notice.remind_not_sent", values)
    if notice.reminded_at is not None:
        return Outcome("notice.remind_once", {**values, "when": _when(notice.reminded_at)})
    unread = list(db.session.execute(select(NoticeSend.member_id).join(
        NoticeRecipient, (NoticeRecipient.notice_id == NoticeSend.notice_id)
        & (NoticeRecipient.member_id == NoticeSend.member_id)).where(
        NoticeSend.notice_id == notice.id, NoticeSend.round == 0, NoticeSend.status == "sent",
        NoticeRecipient.acked_at.is_(None))).scalars())
    if not unread:
        return Outcome("notice.remind_nobody", values)
    at, moved = send_time(notice.branch, now, notice.urgent)
    db.session.execute(insert(NoticeSend), [
        {"notice_id": notice.id, "member_id": i, "round": 1, "status": "pending",
         "updated_at": now} for i in unread])
    notice.reminded_at, notice.remind_at = now, at
    if notice.status == "sent":
        notice.status = "sending"
    key = "notice.remind_later" if moved else "notice.remind_queued"
    return Outcome(key, {**values, "count": len(unread), "when": _when(at)})


def _when(moment: datetime) -> str:
    from bot.replies import when

    return when(moment)
