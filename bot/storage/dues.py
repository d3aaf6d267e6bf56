"""Queries of the dues ledger: bases and payments, for one member or a whole branch at once."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from bot.storage.engine import db
from bot.storage.models import DuesBase, DuesPayment, Member


def bases(member_ids: list[int] | None = None, branch_id: int | None = None
          ) -> dict[int, list[DuesBase]]:
    """member id -> their bases, oldest first (for some members, or a whole branch)."""
    query = select(DuesBase).order_by(DuesBase.member_id, DuesBase.from_month)
    if member_ids is not None:
        query = query.where(DuesBase.member_id.in_(member_ids))
    if branch_id is not None:
        query = query.join(Member, DuesBase.member_id == Member.id).where(
            Member.branch_id == branch_id)
    found: dict[int, list[DuesBase]] = defaultdict(list)
    for row in db.session.execute(query).scalars():
        found[row.member_id].append(row)
    return found


def payments(member_ids: list[int] | None = None, branch_id: int | None = None
             ) -> dict[int, list[DuesPayment]]:
    """member id -> their payments (monthly and voluntary), by month."""
    query = select(DuesPayment).order_by(DuesPayment.member_id, DuesPayment.month,
                                         DuesPayment.id)
    if member_ids is not None:
        query = query.where(DuesPayment.member_id.in_(member_ids))
    if branch_id is not None:
        query = query.join(Member, DuesPayment.member_id == Member.id).where(
            Member.branch_id == branch_id)
    found: dict[int, list[DuesPayment]] = defaultdict(list)
    for row in db.session.execute(query).scalars():
        found[row.member_id].append(row)
    return found


def branch_members(branch_id: int) -> list[Member]:
    """The branch's members, by id."""
    return list(db.session.execute(select(Member).where(Member.branch_id == branch_id)
                                   .order_by(Member.id)).scalars())
