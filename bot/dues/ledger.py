"""党费: each member's monthly dues from their base, the ledger of payments, and what a member
or the secretary asks of it. The table itself is bot/dues/rules.py.

A member's months start with their first base (预备党员: the month of admission, as the
secretary sets it). Each monthly payment is a row for its month, so 补交 and 预交 of several
months, across a year boundary too, are several rows sharing a batch; a month is paid once.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from bot import clock
from bot.clock import to_beijing
from bot.dues.payments import METHOD_LABELS
from bot.replies import Outcome, render
from bot.dues import rules
from bot.members.rules import DUES_CATEGORY_LABELS
from bot.dues import store
from bot.storage.engine import db
from bot.storage.models import DuesBase, DuesPayment, Member


@dataclass
class Month:
    """One member's month in the ledger."""

    month: str
    due: Decimal | None  # None: no base applies (not yet a member, or the base is missing)
    rate: Decimal | None
    base: DuesBase | None
    payment: DuesPayment | None = None

    @property
    def paid(self) -> bool:
        return self.payment is not None


@dataclass
class Account:
    """A member's dues: months from their first base to `through`, and voluntary payments."""

    member: Member
    months: dict[str, Month] = field(default_factory=dict)
    voluntary: list[DuesPayment] = field(default_factory=list)

    def arrears(self, before: str) -> list[str]:
        """Months before `before` that are due and unpaid."""
        return [m.month for m in self.months.values()
                if m.month < before and m.due and not m.paid]

    def unpaid_run(self, before: str) -> tuple[int, tuple | None]:
        """Consecutive unpaid months ending with the last month before `before`."""
        from bot.members.rules import consecutive

        flags = {clock.parse_month(m.month): (not m.paid) if m.due else None
                 for m in self.months.values() if m.month < before}
        return consecutive(flags)


def base_in(bases: list[DuesBase], month: str) -> DuesBase | None:
    """The base applying to `month`: the latest one starting on or before it."""
    found = None
    for row in bases:
        if row.from_month <= month:
            found = row
    return found


def account(member: Member, through: str, bases=None, payments=None) -> Account:
    """The member's account up to month `through` (bases/payments preloaded for many)."""
    bases = bases if bases is not None else store.bases([member.id])[member.id]
    payments = payments if payments is not None else store.payments([member.id])[member.id]
    result = Account(member)
    paid = {p.month: p for p in payments if p.month}
    result.voluntary = [p for p in payments if not p.month]
    last = max([through, *paid])
    computed: dict[int, tuple] = {}  # one computation per base row, not per month
    if bases:
        for key in clock.months_between(bases[0].from_month, last):
            row = base_in(bases, key)
            if id(row) not in computed:
                try:
                    computed[id(row)] = rules.monthly(row.category, row.base, row.amount,
                                                      member.branch)
                except rules.DuesError:
                    computed[id(row)] = (None, None)
            due, rate = computed[id(row)]
            result.months[key] = Month(key, due, rate, row, paid.get(key))
    return result


def this_month(now: datetime) -> str:
    here = to_beijing(now)
    return clock.month_key(here.year, here.month)


def explain(line: Month) -> str:
    """How a month's amount is computed, in words (在职，基数 6,200.00 元 × 1% = 62.00 元)."""
    row = line.base
    label = DUES_CATEGORY_LABELS.get(row.category, row.category)
    if line.rate is not None:
        return render("dues.explain_rate", category=label, base=f"{row.base:,.2f}",
                      rate=format((line.rate * 100).normalize(), "f") + "%", amount=line.due)
    return render("dues.explain_fixed", category=label, amount=line.due)


def _how_to_pay(member: Member, asked_by: Member | None, now: datetime) -> str:
    """For the member's own question: to whom a month not paid yet is paid (the branch's 组织委员
    collects the dues)."""
    if asked_by is not None and asked_by.id != member.id:
        return ""
    from bot.members import store as member_store

    collector = member_store.role_holder(member.branch_id, "organization",
                                         to_beijing(now).date(), besides=member.id)
    return render("dues.how_to_pay_named", name=collector.name) if collector else \
        render("dues.how_to_pay")


def status(member: Member, now: datetime, with_table: bool = False,
           asked_by: Member | None = None) -> Outcome:
    """我的党费 (or, asked by a leader who may see the ledger, 张三的党费): this month's amount
    and how it is computed, paid or not, arrears, the year."""
    month = this_month(now)
    acc = account(member, month)
    line = acc.months.get(month)
    whose = render("dues.yours") if asked_by is None or asked_by.id == member.id else \
        render("dues.theirs", name=member.name)
    if line is None or line.due is None:
        return Outcome("dues.no_account", {"table": render("dues.table") if with_table else "",
                                           "whose": whose})
    year = month[:4]
    months = [m for m in acc.months.values() if m.month.startswith(year) and m.month <= month]
    paid_total = sum((m.payment.amount for m in acc.months.values()
                      if m.paid and m.month.startswith(year)), Decimal("0.00"))
    voluntary = sum((p.amount for p in acc.voluntary if p.paid_on.year == int(year)),
                    Decimal("0.00"))
    arrears = acc.arrears(month)
    ahead = [m.month for m in acc.months.values() if m.month > month and m.paid]
    values = {"month": int(month[5:]), "amount": line.due, "how": explain(line),
              "paid": render("dues.paid", date=_day(line.payment.paid_on),
                             method=METHOD_LABELS[line.payment.method])
              if line.paid else render("dues.unpaid") + _how_to_pay(member, asked_by, now),
              "arrears": render("dues.arrears", count=len(arrears), months=_months(arrears))
              if arrears else render("dues.no_arrears"),
              "ahead": render("dues.ahead", months=_months(ahead)) if ahead else "",
              "year": year, "year_due": sum((m.due for m in months if m.due), Decimal("0.00")),
              "year_paid": paid_total,
              "voluntary": render("dues.voluntary", amount=voluntary) if voluntary else "",
              "table": render("dues.table") if with_table else "", "whose": whose}
    return Outcome("dues.status", values)


def _day(day: date) -> str:
    return render("period.day", month=day.month, day=day.day)


def _months(keys: list[str]) -> str:
    return "、".join(render("dues.month", year=k[:4], month=int(k[5:])) for k in keys)


def record(member: Member, months: list[str], amount: Decimal, method: str, paid_on: date,
           by: str, now: datetime, paid_by: str | None = None) -> Outcome:
    """Record a payment covering `months` (each month once; the amount must be their dues)."""
    if amount <= 0 or amount > Decimal("100000"):
        return Outcome("dues.bad_amount", {"amount": amount})
    current = this_month(now)
    if months[-1] > clock.add_months(current, rules.ADVANCE_MONTHS):
        return Outcome("dues.too_far_ahead", {"months": rules.ADVANCE_MONTHS})
    acc = account(member, months[-1])
    already = [m for m in months if m in acc.months and acc.months[m].paid]
    if already:
        return Outcome("dues.already_paid", {"name": member.name, "months": _months(already)})
    lines = [acc.months.get(m) for m in months]
    missing = [m for m, line in zip(months, lines) if line is None or line.due is None]
    if missing:
        return Outcome("dues.no_due", {"name": member.name, "months": _months(missing)})
    expected = sum((line.due for line in lines), Decimal("0.00"))
    if rules.money(amount) != expected:
        return Outcome("dues.amount_mismatch", {
            "name": member.name, "months": _months(months), "amount": rules.money(amount),
            "expected": expected, "each": "、".join(f"{line.due}" for line in lines)})
    batch = uuid.uuid4().hex
    for line in lines:
        db.session.add(DuesPayment(member_id=member.id, month=line.month, amount=line.due,
                                   paid_on=paid_on, method=method, paid_by=paid_by, batch=batch,
                                   recorded_by=by, created_at=now))
    db.session.flush()
    kind = "dues.recorded_arrears" if months[0] < current else \
        "dues.recorded_advance" if months[-1] > current else "dues.recorded"
    return Outcome(kind, {"name": member.name, "months": _months(months), "amount": expected,
                          "method": METHOD_LABELS[method] + (
                              render("dues.paid_by", who=paid_by) if paid_by else "")})


def record_voluntary(member: Member, amount: Decimal, method: str, paid_on: date, by: str,
                     now: datetime) -> Outcome:
    """自愿多交: kept apart from the monthly dues."""
    if amount <= 0 or amount > Decimal("100000"):
        return Outcome("dues.bad_amount", {"amount": amount})
    db.session.add(DuesPayment(member_id=member.id, month=None, amount=rules.money(amount),
                               paid_on=paid_on, method=method, batch=uuid.uuid4().hex,
                               recorded_by=by, created_at=now))
    db.session.flush()
    return Outcome("dues.recorded_voluntary", {"name": member.name,
                                               "amount": rules.money(amount)})


def set_base(member: Member, category: str, base: Decimal | None, from_month: str, by: str,
             now: datetime, amount: Decimal | None = None) -> Outcome:
    """A new base (or category) from a month on; refused over months already paid."""
    try:
        due, _ = rules.monthly(category, base, amount, member.branch)
    except rules.DuesError as exc:
        return Outcome(exc.args[0], exc.args[1])
    acc = account(member, from_month)
    paid = [m.month for m in acc.months.values() if m.month >= from_month and m.paid]
    if paid:
        return Outcome("dues.base_over_paid", {"name": member.name, "months": _months(paid)})
    existing = next((b for b in store.bases([member.id])[member.id]
                     if b.from_month == from_month), None)
    if existing is None:
        existing = DuesBase(member_id=member.id, from_month=from_month, created_at=now)
        db.session.add(existing)
    existing.category, existing.base, existing.amount, existing.set_by = \
        category, base, amount, by
    db.session.flush()
    return Outcome("dues.base_set", {"name": member.name, "month": _months([from_month]),
                                     "category": DUES_CATEGORY_LABELS[category],
                                     "base": f"{base:,.2f}" if base is not None else "—",
                                     "amount": due})


def branch_accounts(branch_id: int, through: str):
    """The account up to `through` of every member in the branch that month (branch_members),
    from two queries in all."""
    bases = store.bases(branch_id=branch_id, plain=True)
    payments = store.payments(branch_id=branch_id, plain=True)
    for member in store.branch_members(branch_id, through):
        yield account(member, through, bases.get(member.id, []), payments.get(member.id, []))


def unpaid(branch_id: int, month: str) -> list[tuple[Member, Month, int]]:
    """Members with `month` due and unpaid: (member, the month, months in arrears before)."""
    out = []
    for acc in branch_accounts(branch_id, month):
        member, line = acc.member, acc.months.get(month)
        if line is not None and line.due and not line.paid:
            out.append((member, line, len(acc.arrears(month))))
    return out


def ledger(branch_id: int, month: str) -> list[dict]:
    """The branch ledger for a month: one row per member (dues ledger --json)."""
    return [row for _, row in ledger_of_members(branch_id, month)]


def ledger_of_members(branch_id: int, month: str) -> list[tuple[Member, dict]]:
    """(member, their row of the month's ledger) for every member of the branch."""
    rows = []
    for acc in branch_accounts(branch_id, month):
        member, line = acc.member, acc.months.get(month)
        pay = line.payment if line else None
        rows.append((member, {
            "branch": member.branch.name,
            "name": member.name, "group": member.group.name if member.group else None,
            "category": line.base.category if line else None,
            "category_label": DUES_CATEGORY_LABELS.get(line.base.category) if line else None,
            "method_label": METHOD_LABELS[pay.method] if pay else None,
            "base": str(line.base.base) if line and line.base.base is not None else None,
            "due": str(line.due) if line and line.due is not None else None,
            "paid": str(pay.amount) if pay else None,
            "paid_on": pay.paid_on.isoformat() if pay else None,
            "method": pay.method if pay else None, "paid_by": pay.paid_by if pay else None,
            "arrears_months": len(acc.arrears(month)),
            "voluntary": str(sum((p.amount for p in acc.voluntary
                                  if p.paid_on.strftime("%Y-%m") == month), Decimal("0.00")))}))
    return rows


def sync_from_roster(member: Member, now: datetime) -> None:
    """A roster import's 党费类别/党费基数: a new base from this month (or the first month not
    yet paid) when they differ from the member's latest base."""
    if not member.dues_category:
        return
    rows = store.bases([member.id])[member.id]
    latest = rows[-1] if rows else None
    if latest and (latest.category, latest.base) == (member.dues_category, member.dues_base):
        return
    month = this_month(now)
    paid = account(member, month).months
    while month in paid and paid[month].paid:
        month = clock.add_months(month, 1)
    set_base(member, member.dues_category, member.dues_base, month, "roster", now)


def reminder_day(branch, now: datetime) -> bool:
    """Is today the branch's dues reminder day (its setting, else this month's 主题党日)?"""
    from bot.clock import month_bounds
    from bot.meetings import store as meeting_store

    today = to_beijing(now).date()
    day = rules.setting(branch, "reminder_day")
    if day:
        return today.day == int(day)
    start, end = month_bounds(today.year, today.month)
    return any(m.kind == "theme_day" and to_beijing(m.starts_at).date() == today
               for m in meeting_store.in_range(start, end, branch.id))


def unpaid_reminders(members: list[Member], now: datetime) -> dict[int, str]:
    """The digest line of each of these members with this month due and unpaid, on their
    branch's reminder day (bases and payments read for all of them at once)."""
    branches = {m.branch_id: m.branch for m in members}
    due = {branch_id for branch_id, branch in branches.items() if reminder_day(branch, now)}
    today = [m for m in members if m.branch_id in due]
    if not today:
        return {}
    month, ids = this_month(now), [m.id for m in today]
    bases, payments = store.bases(ids), store.payments(ids)
    out = {}
    for member in today:
        line = account(member, month, bases.get(member.id, []),
                       payments.get(member.id, [])).months.get(month)
        if line is not None and line.due and not line.paid:
            out[member.id] = render("dues.member_line", amount=line.due)
    return out


def may_see_ledger(member: Member) -> bool:
    """The branch ledger, and another member's dues, are for the roles of the branch's
    `dues.viewers` setting (the 书记 and the 组织委员 by default)."""
    return bool(member.roles & set(rules.setting(member.branch, "viewers")))
