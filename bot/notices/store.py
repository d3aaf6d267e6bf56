"""Notices as stored: whom an audience reaches, a notice and its recipients, acknowledgements
(收到), withdrawing a scheduled notice, and the figures a sender asks for (通知情况).

Plain functions over the session: they flush, never commit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, insert, literal, null, select, true, update
from sqlalchemy.orm import joinedload

from bot.clock import to_beijing
from bot.members import store as member_store
from bot.members.store import on_roll
from bot.members.rules import COMMITTEE_ROLES
from bot.notices import rules
from bot.replies import Outcome, load, render, when
from bot.storage.engine import bulk_written, db
from bot.storage.models import (Branch, Member, MemberAction, MemberRole, Notice,
                                NoticeRecipient, NoticeSend, OutboundMessage, PartyGroup)

ACK_DAYS = 14  # a bare 收到 acknowledges a notice received this recently


def groups_of(branch_id: int) -> list[str]:
    """The names of the branch's Party groups."""
    return [group.name for group in member_store.party_groups(branch_id)]


def audience_label(audience: str) -> str:
    """全体党员 / 支委 / 流动党员 / the group's name."""
    group = rules.group_of(audience)
    return group if group else render(f"notice.audiences.{audience}")


def audience_members(branch_id: int, audience: str, day: date,
                     sender: Member | None = None) -> list[Member]:
    """The members an audience reaches on `day` (those in the branch then; the sender aside),
    with their WeChat link."""
    query = select(Member).where(Member.branch_id == branch_id, on_roll(day)).order_by(Member.id)
    if sender is not None:
        query = query.where(Member.id != sender.id)
    group = rules.group_of(audience)
    if group is not None:
        query = query.join(PartyGroup, Member.group_id == PartyGroup.id).where(
            PartyGroup.name == group)
    elif audience == "committee":
        query = query.where(Member.id.in_(select(MemberRole.member_id).where(
            MemberRole.role.in_(COMMITTEE_ROLES))))
    elif audience == "floating":
        query = query.where(Member.is_floating.is_(True))
    return list(db.session.execute(query.options(joinedload(Member.wechat))).scalars())


def why_unreachable(member: Member) -> str | None:
    """unbound / unfollowed, or None if a push can reach the member."""
    if member.wechat is None:
        return "unbound"
    if not member.wechat.subscribed or not member.reachable:
        return "unfollowed"
    return None


@dataclass
class Reach:
    """Whom a draft reaches: everyone addressed, and who cannot be reached, and why."""

    members: list[Member]
    unbound: list[Member] = field(default_factory=list)
    unfollowed: list[Member] = field(default_factory=list)

    @classmethod
    def of(cls, branch_id: int, audience: str, day: date,
           sender: Member | None = None) -> "Reach":
        found = cls(audience_members(branch_id, audience, day, sender))
        for member in found.members:
            why = why_unreachable(member)
            if why:
                getattr(found, why).append(member)
        return found


def create(branch: Branch, sender: Member | None, audience: str, text: str, send_at: datetime,
           urgent: bool, now: datetime) -> Notice:
    """A notice to the audience as it is now (the sender aside: they wrote it): one recipient
    row and one send row each."""
    notice = Notice(branch_id=branch.id, sender_id=sender.id if sender else None,
                    audience=audience, text=text, urgent=urgent, status="scheduled",
                    created_at=now, send_at=send_at)
    db.session.add(notice)
    db.session.flush()
    day = to_beijing(now).date()
    ids = [m.id for m in audience_members(branch.id, audience, day, sender)]
    if ids:  # bulk: a notice to thousands is two statements, not thousands of objects
        db.session.execute(insert(NoticeRecipient), [
            {"notice_id": notice.id, "member_id": i} for i in ids])
        db.session.execute(insert(NoticeSend), [
            {"notice_id": notice.id, "member_id": i, "round": 0, "status": "pending",
             "updated_at": now} for i in ids])
        bulk_written(len(ids), NoticeRecipient, NoticeSend)
    if sender is not None:  # 撤回 right after: cancels it if it has not gone yet
        db.session.add(MemberAction(member_id=sender.id, kind="notice", created_at=now,
                                    summary=rules.first_words(notice.text),
                                    undo={"rows": [], "notice": notice.id}))
    return notice


def recipients_count(notice: Notice) -> int:
    return db.session.execute(select(db.func.count()).select_from(NoticeRecipient).where(
        NoticeRecipient.notice_id == notice.id)).scalar_one()


def find(branch_id: int, notice_id: int) -> Notice | None:
    """Notice `notice_id` of this branch."""
    notice = db.session.get(Notice, notice_id)
    return notice if notice is not None and notice.branch_id == branch_id else None


def latest(member: Member) -> Notice | None:
    """The notice a sender means by 通知情况: their own latest, else the branch's latest."""
    base = select(Notice).where(Notice.branch_id == member.branch_id) \
        .order_by(Notice.id.desc()).limit(1)
    return db.session.execute(base.where(Notice.sender_id == member.id)).scalar_one_or_none() \
        or db.session.execute(base).scalar_one_or_none()


def listed(branch_id: int | None = None, limit: int = 50) -> list[Notice]:
    """Notices, newest first (of one branch, if given)."""
    query = select(Notice).order_by(Notice.id.desc()).limit(limit)
    if branch_id is not None:
        query = query.where(Notice.branch_id == branch_id)
    return list(db.session.execute(query).scalars())


# Acknowledgements -------------------------------------------------------------------------

def pending_for(member: Member, now: datetime) -> list[Notice]:
    """Notices pushed to this member in the last ACK_DAYS and not acknowledged, newest first."""
    return list(db.session.execute(
        select(Notice).join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
        .where(NoticeRecipient.member_id == member.id, NoticeRecipient.acked_at.is_(None),
               Notice.send_at > now - timedelta(days=ACK_DAYS), Notice.send_at <= now,
               Notice.id.in_(select(NoticeSend.notice_id).where(
                   NoticeSend.member_id == member.id, NoticeSend.round == 0,
                   NoticeSend.status == "sent")))
        .order_by(Notice.send_at.desc(), Notice.id.desc())).scalars())


def acknowledge(member: Member, notice: Notice | None, via: str, now: datetime) -> Outcome:
    """收到: record that member read notice (the newest waiting one if None)."""
    waiting = pending_for(member, now)
    if notice is None:
        if not waiting:
            return Outcome("ack_nothing_pending")
        notice = waiting[0]
    row = db.session.execute(select(NoticeRecipient).where(
        NoticeRecipient.notice_id == notice.id, NoticeRecipient.member_id == member.id)
    ).scalar_one_or_none()
    if row is None:
        return Outcome("ack_nothing_pending")
    first = rules.first_words(notice.text)
    if row.acked_at is not None:
        return Outcome("notice.ack_again", {"first": first})
    row.acked_at, row.ack_via = now, via
    member.remember("notice_ack", [(row, {"acked_at": None, "ack_via": None})],
                    render("undo.notice_ack", first=first), now)
    left = len([n for n in waiting if n.id != notice.id])
    if left:
        return Outcome("notice.ack_more", {"first": first, "count": left})
    return Outcome("notice.ack", {"first": first})


def withdraw(action: MemberAction, now: datetime) -> Outcome:
    """撤回 after sending a notice: a scheduled notice not yet gone is cancelled; one that has
    gone cannot be recalled (the platform cannot), so a correction is offered."""
    notice = db.session.get(Notice, action.undo.get("notice"))
    if notice is None or notice.status != "scheduled" or notice.send_at <= now:
        return Outcome("undo.notice")
    notice.status = "cancelled"
    db.session.execute(update(NoticeSend).where(
        NoticeSend.notice_id == notice.id, NoticeSend.status == "pending").values(
        status="skipped", note="cancelled", updated_at=now),
        execution_options={"synchronize_session": False})
    action.undone_at = now
    return Outcome("undo.done", {"what": render("undo.notice_scheduled",
                                                first=rules.first_words(notice.text))})


# What the sender sees ---------------------------------------------------------------------

@dataclass
class Status:
    """A notice's figures, and names as shown to the secretary: every name (status()), or the
    first few of each list with the counts (summary(), for chat)."""

    notice: Notice
    recipients: int = 0
    sent: int = 0
    delivered: int = 0
    acknowledged: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    waiting: int = 0  # not sent yet (scheduled, or the fan-out is still going)
    counts: dict[str, int] = field(default_factory=dict)  # acked / pending / failed

    def count(self, state: str) -> int:
        return self.counts.get(state, 0)


def reason(note: str | None, errcode: int | None, delivery: str | None) -> str:
    """Why a push did not reach a member: the errcode, if any, and a few words."""
    table = load("replies")["notice"]["reasons"]
    if note in ("unbound", "unfollowed"):
        return table[note]
    if delivery and delivery.startswith("failed"):
        return table["user_block" if "block" in delivery else "system_failed"]
    text = table.get(str(errcode), table["other"])
    return f"{errcode} {text}" if errcode is not None else text


# A push failed: the platform refused it, or reported the template undelivered (marked on the
# send by delivery_reported). An unacknowledged recipient is failed or else pending.
TEMPLATE_FAILED = "template_failed"


def delivery_reported(sent: OutboundMessage) -> None:
    """TEMPLATESENDJOBFINISH for a notice's template: one the platform could not deliver
    counts as failed (the send keeps its outbound message, whose status says why)."""
    if (sent.delivery_status or "").startswith("failed"):
        db.session.execute(update(NoticeSend).where(NoticeSend.outbound_id == sent.id)
                           .values(note=TEMPLATE_FAILED))


def _people(notice: Notice, state: str, limit: int | None = None) -> list:
    """(member id, name, phone, state, note, errcode, delivery) of the first `limit`
    recipients in `state`: acknowledged (in the order they did), failed or pending (by member).
    Each is read from where it is cheap: the pending by the (notice, member) index, stopping
    at `limit`; the failed from their (few) sends."""
    columns = (NoticeRecipient.member_id, Member.name, Member.phone, literal(state))
    failed_send = ((NoticeSend.notice_id == notice.id) & (NoticeSend.round == 0)
                   & ((NoticeSend.status == "failed") | (NoticeSend.note == TEMPLATE_FAILED)))
    query = (select(*columns, NoticeSend.note, OutboundMessage.errcode,
                    OutboundMessage.delivery_status) if state == "failed" else
             select(*columns, null(), null(), null()))
    query = (query.select_from(NoticeRecipient)
             .join(Member, Member.id == NoticeRecipient.member_id)
             .where(NoticeRecipient.notice_id == notice.id).limit(limit))
    if state == "acked":
        query = query.where(NoticeRecipient.acked_at.is_not(None)).order_by(
            NoticeRecipient.acked_at, NoticeRecipient.member_id)
    elif state == "failed":
        query = (query.join(NoticeSend, (NoticeSend.member_id == NoticeRecipient.member_id)
                            & failed_send)
                 .outerjoin(OutboundMessage, OutboundMessage.id == NoticeSend.outbound_id)
                 .where(NoticeRecipient.acked_at.is_(None))
                 .order_by(NoticeRecipient.member_id))
    else:
        query = (query.where(NoticeRecipient.acked_at.is_(None), ~exists().where(
            failed_send, NoticeSend.member_id == NoticeRecipient.member_id))
            .order_by(NoticeRecipient.member_id))
    return db.session.execute(query).all()


def _fill(found: Status, rows: list) -> Status:
    names = member_store.shown_names(found.notice.branch_id, [(r[0], r[1], r[2]) for r in rows])
    for member_id, _, _, state, note, errcode, delivery in rows:
        if state == "acked":
            found.acknowledged.append(names[member_id])
        elif state == "failed":
            found.failed.append((names[member_id], reason(note, errcode, delivery)))
        else:
            found.pending.append(names[member_id])
    return found


def summary(notice: Notice, names: int | None = rules.CHAT_NAMES) -> Status:
    """The figures of a notice (three counts, one trip to the database), and the names of at
    most `names` of those who have not acknowledged and of those whose push failed (None: all
    of them). For a notice to 5,000 members the database counts; only names shown are read."""
    count = func.count()
    first = (NoticeSend.notice_id == notice.id) & (NoticeSend.round == 0)
    failed_send = (NoticeSend.status == "failed") | (NoticeSend.note == TEMPLATE_FAILED)
    recipients = select(count.label("total"),
                        count.filter(NoticeRecipient.acked_at.is_not(None)).label("acked")) \
        .where(NoticeRecipient.notice_id == notice.id).subquery()
    sends = select(count.filter(NoticeSend.status == "sent").label("sent"),
                   count.filter(NoticeSend.note == TEMPLATE_FAILED).label("undelivered")) \
        .where(first).subquery()
    # the unacknowledged among those failed or not sent yet (rarely many: start from the sends)
    open_ = select(count.filter(failed_send).label("failed"),
                   count.filter(NoticeSend.status.in_(("pending", "sending"))).label("waiting")) \
        .select_from(NoticeSend) \
        .join(NoticeRecipient, (NoticeRecipient.notice_id == NoticeSend.notice_id)
              & (NoticeRecipient.member_id == NoticeSend.member_id)) \
        .where(first, NoticeRecipient.acked_at.is_(None),
               (NoticeSend.status != "sent") | (NoticeSend.note == TEMPLATE_FAILED)).subquery()
    total, acked, sent, undelivered, failed, waiting = db.session.execute(select(  # one trip
        recipients.c.total, recipients.c.acked, sends.c.sent, sends.c.undelivered,
        open_.c.failed, open_.c.waiting).select_from(  # three rows of one: joined on nothing
        recipients.join(sends, true()).join(open_, true()))).one()
    found = Status(notice, recipients=total, sent=sent, delivered=sent - undelivered,
                   waiting=waiting, counts={"acked": acked, "failed": failed,
                                            "pending": total - acked - failed})
    rows = [row for state in ("pending", "failed") if names != 0 and found.counts[state]
            for row in _people(notice, state, names)]
    return _fill(found, rows)


def status(notice: Notice) -> Status:
    """Every recipient by name (the console, `notices show`): acknowledged, pending, failed."""
    found = summary(notice, names=None)
    found.acknowledged.extend(_fill(Status(notice), _people(notice, "acked")).acknowledged)
    return found


def as_json(found: Status) -> dict:
    """The shape `notices show --json` prints (the issue's interface: keep it exactly)."""
    from bot.clock import to_beijing

    notice = found.notice
    sender = notice.sender
    return {"id": notice.id, "branch": notice.branch.name,
            "by": sender.name if sender else None, "audience": notice.audience,
            "text": notice.text, "created_at": to_beijing(notice.created_at).isoformat(),
            "send_at": to_beijing(notice.send_at).isoformat(), "sent": found.sent,
            "delivered": found.delivered, "acknowledged": found.acknowledged,
            "pending": found.pending,
            "failed": [{"name": name, "reason": why} for name, why in found.failed]}


def describe(notice: Notice) -> dict:
    """The values replies use to name a notice: number, first words, when, audience."""
    return {"number": notice.id, "first": rules.first_words(notice.text),
            "when": when(notice.send_at), "audience": audience_label(notice.audience)}


def chat_report(found: Status, now: datetime, console: bool = True) -> Outcome:
    """通知情况 in chat: the counts, then at most rules.CHAT_NAMES names (those who have not
    acknowledged first, then the failed with why); the rest counted, with the console named
    (to those who may sign in to it)."""
    notice = found.notice
    values = {**describe(notice), "count": found.recipients}
    if notice.status == "cancelled":
        return Outcome("notice.cancelled", values)
    if notice.send_at > now and found.sent == 0:
        return Outcome("notice.status_scheduled", values)
    budget = rules.CHAT_NAMES
    pending = found.pending[:budget]
    failed = found.failed[:max(0, budget - len(pending))]
    hidden = found.count("pending") - len(pending) + found.count("failed") - len(failed)
    lines = []
    if found.waiting:
        lines.append(render("notice.status_sending", count=found.waiting))
    if found.pending:
        lines.append(render("notice.status_pending", count=found.count("pending"),
                            names="、".join(pending)))
    if found.failed:
        lines.append(render("notice.status_failed", count=found.count("failed"), names="、".join(
            render("notice.failed_name", name=n, reason=r) for n, r in failed)))
    if hidden:
        lines.append(render("notice.status_more" if console else "notice.status_more_ask",
                            count=hidden))
    if found.pending and notice.reminded_at is None and not found.waiting:
        lines.append(render("notice.status_remind_hint"))
    return Outcome("notice.status", {**values, "delivered": found.delivered,
                                     "acked": found.count("acked"),
                                     "lines": "".join("\n" + line for line in lines)})
