"""The secretary's daily digest (每日提醒): one message a day with what needs the secretary.

Topics contribute lines: a function registered with @contributes(order) returns the Items it
has for a branch at a moment (pending leave, unreachable members, tomorrow's meetings,
thresholds; later dues, floating members, notices). This module decides the rest:

* when: once a day at the branch's time (default 08:30 Beijing), never in quiet hours; a run
  after downtime catches up the same day;
* to whom: the members holding the branch's digest roles (default the 书记; if nobody holds
  them, the leaders), who see every item; and members an item names in `also_to` (a floating
  member's contact person), who see those items only;
* whether: only when there is something to say, i.e. an item that needs action (`urgent`) or
  one the recipient has not seen in an earlier digest (its `key` is new). Items already seen
  ride along in a digest that goes anyway, so each digest is the whole list;
* once: each recipient's digest of a day has one idempotency key.

Per branch, in Branch.settings["digest"]: {"at": "08:30", "roles": ["secretary"]}.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time

from flask import current_app
from sqlalchemy import select

from bot.wechat import client as wechat
from bot.clock import BEIJING, month_of, to_beijing
from bot.replies import render
from bot.meetings import rules as meeting_rules
from bot.members.rules import LEADER_ROLES
from bot.storage.engine import db
from bot.storage.models import Branch, Member, MemberRole, OutboundMessage

log = logging.getLogger(__name__)
DEFAULTS = {"at": "08:30", "roles": ["secretary"]}
KEY = "digest.message"  # the prompts key of the message (and of its template)
PER_SECTION = 8  # lines shown per section; the rest are counted
DONE = "zhibu:digest:done:"  # + idempotency key: today's digest was sent, or was not needed
LOCK = "zhibu:digest:lock:"  # + idempotency key: a run is deciding it now


@dataclass(frozen=True)
class Item:
    """One line of the digest."""

    section: str  # the heading it goes under: a key of [digest.sections] in prompts
    key: str  # stable identity: the item is news the first time a recipient's digest has it
    text: str
    urgent: bool = False  # needs the secretary's action: sent every day while it lasts
    also_to: tuple[int, ...] = ()  # members besides the secretaries who see it (contact person)


class Registry:
    """Sources of lines, kept in their declared order: fn(subject, now) -> [line] (MEMBER's:
    fn(members, now) -> {member id: [line]})."""

    def __init__(self):
        self._sources: list[tuple[int, Callable]] = []

    def contributes(self, order: int):
        """Register fn as a source; sources (and so sections) follow `order`."""

        def register(fn):
            self._sources.append((order, fn))
            self._sources.sort(key=lambda pair: pair[0])
            return fn
        return register

    def collect(self, subject, now: datetime) -> list:
        """Every source's lines for subject, in order."""
        return [line for fn in self.functions() for line in fn(subject, now)]

    def functions(self) -> list[Callable]:
        """The sources, in order."""
        return [fn for _, fn in self._sources]


# The secretary's digest: fn(branch, now) -> [Item].
SECRETARY = Registry()
# Lines topics add to members' reminder digests (never a message of their own; each topic
# keeps its lines rare): fn(members, now) -> {member id: [str]}, for a send batch's members at
# once (a fan-out to thousands must not ask the database per member and topic).
MEMBER = Registry()
contributes = SECRETARY.contributes
adds_to_member_digest = MEMBER.contributes


def collect(branch: Branch, now: datetime) -> list[Item]:
    """Every topic's items for the branch, in order."""
    return SECRETARY.collect(branch, now)


def lines_of_members(members: list, now: datetime) -> dict[int, list[str]]:
    """Every topic's lines for each of these members' reminder digests, in order."""
    out: dict[int, list[str]] = {member.id: [] for member in members}
    for fn in MEMBER.functions():
        for member_id, found in fn(members, now).items():
            out[member_id].extend(found)
    return out


def member_lines(member, now: datetime) -> list[str]:
    """Every topic's lines for this one member's reminder digest, in order."""
    return lines_of_members([member], now)[member.id]


def once_a_month(topic: str, member, now: datetime) -> bool:
    """True the first time in the (Beijing) month a topic asks for this member; then False."""
    return bool(current_app.extensions["redis"].set(
        f"zhibu:member-digest:{topic}:{member.id}:{month_of(now)}", "1", nx=True,
        ex=40 * 86400))


def setting(branch: Branch, key: str):
    """The branch's digest setting `key` (at, roles), or its default."""
    return branch.setting("digest", DEFAULTS)[key]


def send_time(branch: Branch, day) -> datetime:
    """When the branch's digest goes on `day` (a Beijing date)."""
    hour, minute = (int(x) for x in setting(branch, "at").split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=BEIJING)


def is_due(branch: Branch, now: datetime) -> bool:
    """Has today's digest time come (and are we outside quiet hours)?"""
    return now >= send_time(branch, to_beijing(now).date()) and not meeting_rules.in_quiet(now, branch)


def recipients(branch: Branch, day) -> list[Member]:
    """The members (in the branch on `day`) who get the branch's digest."""
    from bot.members.store import on_roll

    for roles in (setting(branch, "roles"), sorted(LEADER_ROLES)):
        found = list(db.session.execute(select(Member).where(
            Member.branch_id == branch.id, on_roll(day),
            Member.id.in_(select(MemberRole.member_id).where(
                MemberRole.role.in_(roles)))).order_by(Member.id)).scalars())
        if found:
            return found
    return []


def seen_keys(member: Member) -> set[str]:
    """The item keys of the last digest this member was sent."""
    last = db.session.execute(select(OutboundMessage).where(
        OutboundMessage.member_id == member.id, OutboundMessage.purpose == KEY,
        OutboundMessage.status == "sent").order_by(OutboundMessage.id.desc()).limit(1)
    ).scalar_one_or_none()
    return set(last.payload.get("values", {}).get("items", [])) if last else set()


@dataclass
class Digest:
    """One recipient's digest of one day."""

    branch: Branch
    recipient: Member
    items: list[Item]
    news: list[Item] = field(default_factory=list)  # new or needing action

    @property
    def worth_sending(self) -> bool:
        return bool(self.news)

    def values(self, now: datetime) -> dict:
        """The message's values (rendered by prompts key digest.message); item keys kept."""
        sections: dict[str, list[Item]] = {}
        for item in self.items:
            sections.setdefault(item.section, []).append(item)
        blocks = []
        for section, items in sections.items():
            lines = [render(f"digest.sections.{section}", count=len(items))]
            lines += [render("digest.line", text=i.text) for i in items[:PER_SECTION]]
            if len(items) > PER_SECTION:
                lines.append(render("digest.more", count=len(items) - PER_SECTION))
            blocks.append("\n".join(lines))
        here = to_beijing(now)
        summary = "、".join(render("digest.summary_part", section=render(
            f"digest.names.{s}"), count=len(i)) for s, i in sections.items())
        return {"name": self.recipient.name, "branch": self.branch.name,
                "date": render("period.day", month=here.month, day=here.day),
                "sections": "\n\n".join(blocks), "title": render("digest.title"),
                "summary": summary, "items": [i.key for i in self.items]}


def compose(branch: Branch, recipient: Member, items: list[Item]) -> Digest:
    """The recipient's digest from the branch's items: which of them are news to them."""
    seen = seen_keys(recipient)
    return Digest(branch, recipient, items,
                  [i for i in items if i.urgent or i.key not in seen])


def idempotency_key(recipient: Member, now: datetime) -> str:
    return f"digest:{to_beijing(now).date().isoformat()}:{recipient.id}"


def run(now: datetime, dry_run: bool = False, branch_name: str | None = None
        ) -> list[tuple[Digest, str]]:
    """Send each due branch's digests of today (once per recipient and day); what happened.

    dry_run composes and reports without sending or marking anything.
    """
    redis = current_app.extensions["redis"]
    query = select(Branch).order_by(Branch.id)
    if branch_name:
        query = query.where(Branch.name == branch_name)
    done = []
    for branch in db.session.execute(query).scalars().all():
        branch_key = f"{DONE}branch:{to_beijing(now).date().isoformat()}:{branch.id}"
        if not is_due(branch, now) or (not dry_run and redis.exists(branch_key)):
            continue  # not yet time, or every digest of the branch is decided for today
        items = collect(branch, now)
        settled = True
        secretaries = recipients(branch, to_beijing(now).date())
        ids = {m.id for m in secretaries}
        others = sorted({i for item in items for i in item.also_to} - ids)
        for recipient in [*secretaries, *(db.session.get(Member, i) for i in others)]:
            key = idempotency_key(recipient, now)
            if not dry_run and redis.exists(DONE + key):
                continue  # decided already today
            if not dry_run and not redis.set(LOCK + key, "1", nx=True, ex=300):
                settled = False
                continue  # being decided by another run
            mine = items if recipient.id in ids else \
                [i for i in items if recipient.id in i.also_to]
            digest = compose(branch, recipient, mine)
            result = "nothing new" if not digest.worth_sending else \
                "would send" if dry_run else _send(digest, key, now)
            done.append((digest, result))
            if not dry_run:
                if result.startswith("retry"):  # the next run tries again
                    settled = False
                else:
                    redis.set(DONE + key, "1", ex=3 * 86400)
                redis.delete(LOCK + key)
        if settled and not dry_run:  # later runs today need not even collect
            redis.set(branch_key, "1", ex=3 * 86400)
    return done


def _send(digest: Digest, key: str, now: datetime) -> str:
    try:
        record = wechat.send(digest.recipient, KEY, now, idempotency_key=key,
                             **digest.values(now))
    except wechat.PlatformError as exc:
        log.warning("digest to member %s: %s, will retry", digest.recipient.id, exc)
        return f"retry later ({exc.errcode})"
    return f"{record.status} via {record.channel}" + (
        f" (errcode {record.errcode})" if record.errcode else "")


def text_of(digest: Digest, now: datetime) -> str:
    """The digest as the recipient reads it (for the CLI)."""
    return render(KEY, **digest.values(now))

