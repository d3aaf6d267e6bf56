"""Dues in spreadsheets: importing a payment sheet (all rows or none), writing the ledger."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from bot.dues import ledger as dues
from bot.clock import to_beijing
from bot.dues.payments import VOLUNTARY, parse_amount, parse_method, parse_months
from bot.replies import load, render
from bot.members.roster import NotARoster, read_rows
from bot.members.rules import normalise_phone
from bot.members import store as member_store
from bot.storage.engine import db

REQUIRED = ("姓名", "月份", "金额")
ALIASES = {"手机号": "手机号码", "手机": "手机号码", "联系电话": "手机号码", "缴费月份": "月份",
           "所属月份": "月份", "党费": "金额", "实交金额": "金额", "缴费金额": "金额",
           "缴费方式": "方式", "交费方式": "方式", "日期": "缴费日期", "交费日期": "缴费日期",
           "代缴人": "代交人", "党支部": "所在党支部", "所属党支部": "所在党支部"}


@dataclass
class Report:
    applied: int = 0
    total: object = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _paid_on(text: str, today: date) -> date | None:
    if not text:
        return today
    try:
        return date.fromisoformat(text.replace("/", "-").split(" ")[0])
    except ValueError:
        return None


def _member(cells: dict, branch=None):
    if branch is not None and cells.get("所在党支部") and cells["所在党支部"] != branch.name:
        raise ValueError(render("dues.sheet_other_branch", branch=branch.name))
    found = member_store.members_by_name(
        cells["姓名"], branch.name if branch is not None else cells.get("所在党支部") or None,
        phone=normalise_phone(cells.get("手机号码", "")))
    if not found:
        raise ValueError(render("dues.unknown_member", name=cells["姓名"]))
    if len(found) > 1:
        raise ValueError(render("dues.sheet_same_name", name=cells["姓名"]))
    return found[0]


def import_payments(path: Path, now: datetime, by: str = "import", branch=None) -> Report:
    """Record every payment of the sheet, or none: any bad row and nothing is applied (a
    savepoint; the caller commits). `branch`: only that branch's members (the console's)."""
    rows = read_rows(Path(path), REQUIRED, ALIASES)
    if not rows:
        raise NotARoster(render("roster.empty"))
    today = to_beijing(now).date()
    report = Report(total=0)
    savepoint = db.session.begin_nested()
    for number, cells in rows:
        try:
            member = _member(cells, branch)
            amount = parse_amount(cells["金额"])
            if amount is None:
                raise ValueError(render("dues.bad_amount", amount=cells["金额"]))
            paid_on = _paid_on(cells.get("缴费日期", ""), today)
            if paid_on is None:
                raise ValueError(render("dues.sheet_bad_date", value=cells["缴费日期"]))
            method, paid_by = parse_method(cells.get("方式", ""))
            if cells.get("代交人"):
                method, paid_by = "proxy", cells["代交人"]
            method = method or "cash"
            if VOLUNTARY.search(cells["月份"] + cells.get("方式", "")):
                outcome = dues.record_voluntary(member, amount, method, paid_on, by, now)
            else:
                months = parse_months(cells["月份"], today)
                if not months:
                    raise ValueError(render("dues.sheet_bad_month", value=cells["月份"]))
                outcome = dues.record(member, months, amount, method, paid_on, by, now,
                                      paid_by=paid_by)
            if not outcome.key.startswith("dues.recorded"):
                raise ValueError(outcome.render())
            report.applied += 1
            report.total += outcome.values["amount"]
        except ValueError as exc:
            report.errors.append((number, str(exc)))
    if report.errors:
        savepoint.rollback()
    else:
        savepoint.commit()
    return report


def write_ledger(rows: list[dict], path: Path) -> None:
    """The ledger as an XLSX workbook (streamed, one row per member; no phone numbers)."""
    from openpyxl import Workbook

    from bot.exports.cells import xlsx_row

    words = load("exports")["ledger"]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(words["sheet"])
    sheet.append(list(words["columns"]))
    for row in rows:
        sheet.append(xlsx_row(sheet, [row["branch"], row["name"], row["group"], row["category_label"],
                      _num(row["base"]), _num(row["due"]), _num(row["paid"]), row["paid_on"],
                      row["method_label"], row["paid_by"], row["arrears_months"],
                      _num(row["voluntary"])]))
    book.save(path)


def _num(value):
    from decimal import Decimal

    return Decimal(value) if value is not None else None
