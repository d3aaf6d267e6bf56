"""Queries of the dues ledger: bases and payments, for one member or a whole branch at once."""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, literal, select

from bot.storage.engine import db
from bot.storage.models import DuesBase, DuesPayment, Member


BASE_COLUMNS = (DuesBase.member_id, DuesBase.from_month, DuesBase.category, DuesBase.base,
                DuesBase.amount)
PAYMENT_COLUMNS = (DuesPayment.member_id, DuesPayment.month, DuesPayment.amount,
                   DuesPayment.paid_on, DuesPayment.method, DuesPayment.paid_by)


def _by_member(model, columns, order, member_ids, branch_id, plain) -> dict[int, list]:
    query = (select(*columns) if plain else select(model)).order_by(*order)
    if member_ids is not None:
        query = query.where(model.member_id.in_(member_ids))
    if branch_id is not None:
        query = query.join(Member, model.member_id == Member.id).where(
            Member.branch_id == branch_id)
    found: dict[int, list] = defaultdict(list)
    result = db.session.execute(query)
    for row in (result if plain else result.scalars()):
        found[row.member_id].append(row)
    return found


def bases(member_ids: list[int] | None = None, branch_id: int | None = None,
          plain: bool = False) -> dict[int, list[DuesBase]]:
    """member id -> their bases, oldest first (for some members, or a whole branch). plain:
    read-only rows with the same attributes, much cheaper than ORM objects for a branch."""
    return _by_member(DuesBase, BASE_COLUMNS, (DuesBase.member_id, DuesBase.from_month),
                      member_ids, branch_id, plain)


def payments(member_ids: list[int] | None = None, branch_id: int | None = None,
             plain: bool = False) -> dict[int, list[DuesPayment]]:
    """member id -> their payments (monthly and voluntary), by month (plain: as for bases)."""
    return _by_member(DuesPayment, PAYMENT_COLUMNS,
                      (DuesPayment.member_id, DuesPayment.month, DuesPayment.id),
                      member_ids, branch_id, plain)


def branch_members(branch_id: int, month: str | None = None) -> list[Member]:
    """The branch's members, by id, with their group and branch loaded: those in the branch
    on some day of `month` ("2026-12"; a member who left before it owes nothing for it), or
    everyone who ever was (None: a leader naming someone, for dues paid before they left)."""
    from sqlalchemy.orm import joinedload

    from bot import clock
    from bot.members.store import on_roll

    query = select(Member).where(Member.branch_id == branch_id)
    if month is not None:
        first = date(*clock.parse_month(month), 1)
        query = query.where(on_roll(first, clock.last_day(first)))
    return list(db.session.execute(query.options(joinedload(Member.group),
                                                 joinedload(Member.branch))
                                   .order_by(Member.id)).scalars())


def others_named_in(member: Member, text: str) -> bool:
    """Does text name another member of the member's branch (in one query, not a roster scan)?"""
    return db.session.execute(select(Member.id).where(
        Member.branch_id == member.branch_id, Member.id != member.id,
        Member.name != member.name, literal(text).contains(Member.name)).limit(1)
    ).first() is not None


def named_in(branch_id: int, text: str, name: str = "") -> list[Member]:
    """The branch's members a leader names in text (张三的党费 / 张三8001 when names repeat):
    by the name read from it, else any member's name the text holds."""
    query = select(Member).where(Member.branch_id == branch_id)
    if name:
        found = list(db.session.execute(query.where(Member.name == name)).scalars())
        if found:
            return found
    return list(db.session.execute(query.where(literal(text).contains(Member.name))
                                   .order_by(func.length(Member.name).desc())).scalars())
