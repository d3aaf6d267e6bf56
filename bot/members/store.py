"""Queries about members, their WeChat link, and invite codes: the one place for each."""
from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from bot.storage.engine import db
from bot.storage.models import (Branch, Committee, ConsoleChange, InviteCode, Member, MemberRole,
                               PartyGroup, WechatUser)

CODE_LENGTH = 8


def on_roll(first: date, last: date | None = None):
    """The condition "in the branch on `first`" (or on any day from `first` to `last`):
    joined by then and not transferred out (转出) — bot.members.rules.on_roll, in SQL. Every
    query of a branch's current members (lists, counts, audiences, reminders) adds it."""
    return and_(or_(Member.joined_on.is_(None), Member.joined_on <= (last or first)),
                or_(Member.left_on.is_(None), Member.left_on > first))


def log_change(branch_id: int, by: Member | str, kind: str, subject: str | None, details: dict,
               now: datetime) -> None:
    """Keep one change of the roster in console_changes (who, what, before and after); `by` a
    leader, or "cli" / "roster" where no member did it."""
    db.session.add(ConsoleChange(branch_id=branch_id,
                                 by=by if isinstance(by, str) else f"member:{by.id}",
                                 kind=kind, subject=subject, details=details, created_at=now))


def get_or_create_branch(name: str, committee_name: str) -> Branch:
    """The branch called name, created under committee_name if new."""
    branch = db.session.execute(select(Branch).where(Branch.name == name)).scalar_one_or_none()
    if branch:
        return branch
    committee = db.session.execute(
        select(Committee).where(Committee.name == committee_name)).scalar_one_or_none()
    if committee is None:
        committee = Committee(name=committee_name)
        db.session.add(committee)
    branch = Branch(name=name, committee=committee, settings={})
    db.session.add(branch)
    db.session.flush()
    return branch


def party_groups(branch_id: int) -> list[PartyGroup]:
    """The branch's Party groups (党小组), in the order they were made."""
    return list(db.session.execute(select(PartyGroup).where(
        PartyGroup.branch_id == branch_id).order_by(PartyGroup.id)).scalars())


def get_or_create_group(branch: Branch, name: str) -> PartyGroup:
    """The Party group called name in branch, created if new."""
    group = db.session.execute(select(PartyGroup).where(
        PartyGroup.branch_id == branch.id, PartyGroup.name == name)).scalar_one_or_none()
    if group is None:
        group = PartyGroup(branch=branch, name=name)
        db.session.add(group)
        db.session.flush()
    return group


def members_by_name(name: str, branch: str | None = None,
                    phone: str | None = None) -> list[Member]:
    """Members called name (optionally in one branch, or with one phone), oldest first."""
    query = select(Member).where(Member.name == name).order_by(Member.id)
    if branch:
        query = query.join(Branch).where(Branch.name == branch)
    if phone:
        query = query.where(Member.phone == phone)
    return list(db.session.execute(query).scalars())


def unbound_members(day: date, branch: str | None = None) -> list[Member]:
    """Members (in their branch on `day`) with no WeChat linked yet, by branch then name."""
    query = (select(Member).join(Branch).outerjoin(WechatUser, WechatUser.member_id == Member.id)
             .where(WechatUser.id.is_(None), on_roll(day)).order_by(Branch.name, Member.id))
    if branch:
        query = query.where(Branch.name == branch)
    return list(db.session.execute(query).scalars())


def roster(branch_id: int, day: date, search: str = "", group_id: int | None = None,
           last: date | None = None, left: bool = False) -> list[Member]:
    """The branch's members on `day` (or on any day to `last`: a month's) by group and name,
    with what the roster page shows (group, roles, WeChat) loaded at once; `search`: part of a
    name; `group_id`: one group's only; `left`: instead, those who had left by `day` (已转出)."""
    from sqlalchemy.orm import selectinload

    here = and_(Member.left_on.is_not(None), Member.left_on <= day) if left \
        else on_roll(day, last)
    query = (select(Member).where(Member.branch_id == branch_id, here)
             .options(selectinload(Member.group), selectinload(Member.role_rows),
                      selectinload(Member.wechat))
             .order_by(Member.group_id, Member.id))
    if search.strip():
        query = query.where(Member.name.contains(search.strip()[:50], autoescape=True))
    if group_id is not None:
        query = query.where(Member.group_id == group_id)
    return list(db.session.execute(query).scalars())


def unreachable_members(branch_id: int, day: date) -> list[Member]:
    """Bound members the platform cannot deliver to (they unfollowed, or it answered 43004)."""
    return list(db.session.execute(select(Member).where(
        Member.branch_id == branch_id, Member.reachable.is_(False), on_roll(day))
        .order_by(Member.id)).scalars())


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_LENGTH))
        if code[0] != "0" and not db.session.execute(
                select(InviteCode.id).where(InviteCode.code == code)).first():
            return code


def invite_code_for(member: Member, now: datetime, ttl_days: int) -> InviteCode:
    """The member's live invite code, or a new one if none is unused and unexpired."""
    live = db.session.execute(
        select(InviteCode).where(InviteCode.member_id == member.id, InviteCode.used_at.is_(None),
                                 InviteCode.expires_at > now)
        .order_by(InviteCode.id.desc())).scalars().first()
    if live:
        return live
    invite = InviteCode(member_id=member.id, code=_new_code(), created_at=now,
                        expires_at=now + timedelta(days=ttl_days))
    db.session.add(invite)
    db.session.flush()
    return invite


def find_invite(code: str) -> InviteCode | None:
    """The invite with exactly this code, with its member, branch and WeChat link loaded."""
    member = joinedload(InviteCode.member)
    return db.session.execute(
        select(InviteCode).where(InviteCode.code == code)
        .options(member.joinedload(Member.branch), member.joinedload(Member.wechat))
    ).scalar_one_or_none()


def leaders_of(branch_id: int, day: date) -> list[Member]:
    """The branch's secretary, deputies and organisation committee members in the branch on
    `day` (one query)."""
    from bot.members.rules import LEADER_ROLES

    return list(db.session.execute(select(Member).where(
        Member.branch_id == branch_id, on_roll(day),
        Member.id.in_(select(MemberRole.member_id).where(
            MemberRole.role.in_(LEADER_ROLES)))).order_by(Member.id)).scalars())


def role_holder(branch_id: int, role: str, day: date, besides: int | None = None
                ) -> Member | None:
    """The member of the branch (on `day`) who holds `role` — the first made, if several —
    other than member `besides`; from the role's few holders (its index), not through every
    member of the branch."""
    holders = select(MemberRole.member_id).where(MemberRole.role == role)
    return db.session.execute(select(Member).where(
        Member.id.in_(holders), Member.branch_id == branch_id, on_roll(day),
        Member.id != (besides or 0)).order_by(Member.id).limit(1)).scalar_one_or_none()


def contact_for(member: Member, day: date) -> str:
    """Whom this member should turn to: the branch's 书记, or, for the 书记, the 组织委员 (else
    the Party committee above) — among those in the branch on `day`."""
    from bot.replies import render

    secretary = "secretary" in member.roles
    found = role_holder(member.branch_id, "organization" if secretary else "secretary", day,
                        besides=member.id)
    if found is not None:
        return render("contact.organization_named" if secretary else "contact.secretary_named",
                      name=found.name)
    if secretary:
        return render("contact.committee", committee=member.branch.committee.name)
    return render("contact.secretary")


def shown_names(branch_id: int, members: list[tuple[int, str, str]]) -> dict[int, str]:
    """Names as shown to the secretary, for (id, name, phone) of this branch: the name, with the
    phone's last four digits where two members of the branch share it."""
    from bot.replies import render

    query = select(Member.name).where(Member.branch_id == branch_id)
    if len(members) <= 100:  # a few names (a chat reply): only theirs are counted
        query = query.where(Member.name.in_({name for _, name, _ in members}))
    shared = set(db.session.execute(
        query.group_by(Member.name).having(func.count() > 1)).scalars())
    return {member_id: render("name_with_tail", name=name, tail=phone[-4:])
            if name in shared else name for member_id, name, phone in members}
