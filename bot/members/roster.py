"""Roster import: the CSV or XLSX spreadsheets secretaries already keep, with Chinese headers.

Re-importing updates members (matched by phone number) instead of duplicating them. Each bad row
is reported with its spreadsheet row number and reason while good rows import; a file that is not
a roster at all is refused and changes nothing.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select

from bot.clock import to_beijing
from bot.dues import ledger as dues
from bot.replies import render
from bot.members import rules as org
from bot.members import store
from bot.storage.engine import db
from bot.storage.models import Member, MemberRole

REQUIRED = ("姓名", "手机号码", "所在党支部")
OPTIONAL = ("党小组", "人员类别", "党内职务", "党费类别", "党费基数", "是否流动党员", "外出日期",
            "转入日期")
# Other spellings of the same headers seen in secretaries' sheets.
ALIASES = {"手机号": "手机号码", "手机": "手机号码", "联系电话": "手机号码", "电话": "手机号码",
           "党支部": "所在党支部", "所属党支部": "所在党支部", "支部": "所在党支部",
           "类别": "人员类别", "党员类别": "人员类别", "职务": "党内职务",
           "流动党员": "是否流动党员", "缴费基数": "党费基数", "外出时间": "外出日期",
           "流出日期": "外出日期", "转入时间": "转入日期", "入支部日期": "转入日期"}
DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+00:00(?::00)?)?$")


class NotARoster(Exception):
    """The file cannot be read as a roster; nothing was changed."""


@dataclass
class Report:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row number, reason)
    not_in_file: int = 0  # members of the branch today (not those who left) the file lacks
    rejoined: list[str] = field(default_factory=list)  # names of members who had left (转出)

    @property
    def imported(self) -> int:
        return self.created + self.updated


def _clean(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def read_rows(path: Path, required=REQUIRED, aliases=None) -> list[tuple[int, dict[str, str]]]:
    """(spreadsheet row number, {header: cell}) for each non-empty row of a sheet whose header
    row (within the first 10) has the `required` headers; NotARoster if unreadable."""
    aliases = ALIASES if aliases is None else aliases
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        table = _read_xlsx(path, required, aliases)
    elif suffix in (".csv", ".txt"):
        table = _read_csv(path)
    else:
        raise NotARoster(render("roster.unsupported_type", suffix=path.suffix))
    header_at = None
    for index, row in enumerate(table[:10]):
        names = {aliases.get(_clean(c), _clean(c)) for c in row}
        if set(required) <= names:
            header_at = index
            break
    if header_at is None:
        raise NotARoster(render("roster.missing_headers", headers="、".join(required)))
    headers = [aliases.get(_clean(c), _clean(c)) for c in table[header_at]]
    rows = []
    for offset, row in enumerate(table[header_at + 1:], start=header_at + 2):
        cells = {h: _clean(row[i]) if i < len(row) else "" for i, h in enumerate(headers) if h}
        if any(cells.values()):
            rows.append((offset, cells))
    return rows


def _read_csv(path: Path) -> list[list]:
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise NotARoster(render("roster.binary"))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly anything
        raise NotARoster(render("roster.binary"))
    try:
        return list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise NotARoster(render("roster.bad_csv", error=exc)) from exc


def _read_xlsx(path: Path, required, aliases) -> list[list]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zip, XML and openpyxl errors of a corrupt workbook
        raise NotARoster(render("roster.bad_xlsx")) from exc
    try:
        for sheet in book.worksheets:
            rows = [list(r) for r in sheet.iter_rows(values_only=True)]
            if any(set(required) <= {aliases.get(_clean(c), _clean(c)) for c in row}
                   for row in rows[:10]):
                return rows
        return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)] \
            if book.worksheets else []
    finally:
        book.close()


def money(text: str) -> Decimal | None:
    cleaned = text.replace(",", "").replace("，", "").replace("元", "").replace("￥", "") \
        .replace("¥", "").strip()
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(render("roster.base_not_money", value=text)) from exc
    if value < 0 or value > Decimal("10000000"):
        raise ValueError(render("roster.base_absurd", value=text))
    return value.quantize(Decimal("0.01"))


def _date(text: str, header: str) -> date | None:
    """2026-11-03, 2026/11/3, 2026.11.3, 2026年11月3日 (or a spreadsheet's date cell)."""
    if not text:
        return None
    found = DATE.match(text)
    if found:
        try:
            return date(*(int(part) for part in found.groups()))
        except ValueError:
            pass
    raise ValueError(render("roster.bad_date", header=header, value=text))


def _validate(cells: dict[str, str]) -> dict:
    """The row as stored values; ValueError with the reason if any cell is wrong."""
    name = cells.get("姓名", "")
    if not name:
        raise ValueError(render("roster.no_name"))
    if len(name) > 50:
        raise ValueError(render("roster.long_name"))
    phone = org.normalise_phone(cells.get("手机号码", ""))
    if phone is None:
        raise ValueError(render("roster.bad_phone", value=cells.get("手机号码", "")))
    branch = cells.get("所在党支部", "")
    if not branch:
        raise ValueError(render("roster.no_branch"))
    row = {"name": name, "phone": phone, "branch": branch}
    if "党小组" in cells:
        row["group"] = cells["党小组"] or None
    if cells.get("人员类别"):
        if cells["人员类别"] not in org.STATUSES:
            raise ValueError(render("roster.bad_status", value=cells["人员类别"]))
        row["status"] = org.STATUSES[cells["人员类别"]]
    if "党内职务" in cells:
        roles, unknown = org.parse_roles(cells["党内职务"])
        if unknown:
            raise ValueError(render("roster.bad_roles", value="、".join(unknown)))
        row["roles"] = roles
    if cells.get("党费类别"):
        if cells["党费类别"] not in org.DUES_CATEGORIES:
            raise ValueError(render("roster.bad_category", value=cells["党费类别"],
                                    choices="/".join(org.DUES_CATEGORY_LABELS.values())))
        row["dues_category"] = org.DUES_CATEGORIES[cells["党费类别"]]
    if "党费基数" in cells:
        row["dues_base"] = money(cells["党费基数"])
    if "是否流动党员" in cells:
        flag = cells["是否流动党员"].lower()
        if flag in org.YES:
            row["is_floating"] = True
        elif flag in org.NO:
            row["is_floating"] = False
        else:
            raise ValueError(render("roster.bad_floating", value=cells["是否流动党员"]))
    for header, key in (("外出日期", "left_on"), ("转入日期", "joined_on")):
        if cells.get(header):
            row[key] = _date(cells[header], header)
    return row


def import_file(path: Path, now: datetime, committee: str, only_branch=None,
                by="cli") -> Report:
    """Import the roster at path: the good rows are written (the caller commits); what happened.
    `only_branch` (a Branch: the console's leader's own): a row for another branch, or with the
    phone of another branch's member, is refused by row and changes nothing. A member the file
    lacks is left as they are; one who had left (转出) and is in the file again rejoined (kept
    in console_changes as `by`'s: a leader, or "cli")."""
    rows = read_rows(Path(path))
    if not rows:
        raise NotARoster(render("roster.empty"))
    report = Report()
    seen: dict[str, int] = {}
    touched_branches: set[int] = set()
    seen_ids: set[int] = set()
    for number, cells in rows:
        try:
            row = _validate(cells)
        except ValueError as exc:
            report.errors.append((number, str(exc)))
            continue
        if row["phone"] in seen:
            report.errors.append((number, render("roster.duplicate_phone",
                                                  row=seen[row["phone"]])))
            continue
        if only_branch is not None and (row["branch"] != only_branch.name or db.session.execute(
                select(Member.id).where(Member.phone == row["phone"],
                                        Member.branch_id != only_branch.id)).first()):
            report.errors.append((number, render("roster.other_branch",
                                                  branch=only_branch.name)))
            continue
        seen[row["phone"]] = number
        member = _apply(row, now, committee, report, by)
        touched_branches.add(member.branch_id)
        seen_ids.add(member.id)
    db.session.flush()
    report.not_in_file = db.session.execute(
        select(db.func.count(Member.id)).where(Member.branch_id.in_(touched_branches),
                                               Member.id.not_in(seen_ids),
                                               store.on_roll(to_beijing(now).date()))
    ).scalar_one() \
        if touched_branches else 0
    return report


def _apply(row: dict, now: datetime, committee: str, report: Report, by) -> Member:
    branch = store.get_or_create_branch(row["branch"], committee)
    today = to_beijing(now).date()
    if branch.started_on is None:  # its first roster: the branch starts keeping records here
        branch.started_on = today
    member = db.session.execute(select(Member).where(Member.phone == row["phone"])) \
        .scalar_one_or_none()
    if member is None:
        member = Member(phone=row["phone"], created_at=now, status="full", is_floating=False,
                        reachable=True)
        # a new row after the branch's first day joined today (or on its 转入日期)
        member.joined_on = row.get("joined_on") or (today if branch.started_on < today
                                                    else None)
        db.session.add(member)
        report.created += 1
    else:
        report.updated += 1
        if org.left_by(member, today):
            # a member who left (转出) is back on a later roster: they rejoined, from the
            # day of this import (or its 转入日期); the earlier 转出 stays in console_changes
            back = row.get("joined_on") or today
            store.log_change(member.branch_id, by, "member_rejoin", f"member:{member.id}", {
                "left_on": [member.left_on.isoformat(), None], "left_to": [member.left_to, None],
                "joined_on": [member.joined_on.isoformat() if member.joined_on else None,
                              back.isoformat()]}, now)
            member.left_on = member.left_to = None
            member.joined_on = back
            report.rejoined.append(row["name"])
        elif row.get("joined_on"):
            member.joined_on = row["joined_on"]
    member.name, member.branch, member.updated_at = row["name"], branch, now
    if "group" in row:
        member.group = store.get_or_create_group(branch, row["group"]) if row["group"] else None
    for key in ("status", "dues_category", "dues_base", "is_floating"):
        if key in row:
            setattr(member, key, row[key])
    if "roles" in row and row["roles"] != member.roles:
        member.role_rows = [MemberRole(role=r) for r in sorted(row["roles"])]
    db.session.flush()
    if member.is_floating:
        from bot.floating.reports import away_from_roster

        away_from_roster(member, row.get("left_on") or today, now)
    dues.sync_from_roster(member, now)
    return member


def unbound_text(branch, now: datetime) -> str:
    """谁还没绑定: the branch's members with no WeChat yet, each with the invite code to hand
    them (a live one, or a new one)."""
    from flask import current_app

    found = store.unbound_members(to_beijing(now).date(), branch.name)
    if not found:
        return render("roster.all_bound")
    ttl = current_app.config["INVITE_TTL_DAYS"]
    lines = [render("roster.unbound_head", count=len(found))]
    lines += [render("roster.unbound_line", name=m.name, phone=m.phone_masked,
                     code=store.invite_code_for(m, now, ttl).code) for m in found[:30]]
    if len(found) > 30:
        lines.append(render("roster.unbound_more", count=len(found) - 30))
    return "\n".join(lines)


def size_text(branch, now: datetime) -> str:
    """支部有多少人: members (those who left, 转出, aside), 正式 and 预备, groups, floating,
    bound."""
    today = to_beijing(now).date()
    members = store.roster(branch.id, today)
    bound = len(members) - len(store.unbound_members(today, branch.name))
    groups: dict[str, int] = {}
    for member in members:
        if member.group is not None:
            groups[member.group.name] = groups.get(member.group.name, 0) + 1
    return render("roster.size", branch=branch.name, total=len(members),
                  full=sum(m.status == "full" for m in members),
                  probationary=sum(m.status == "probationary" for m in members),
                  floating=sum(bool(m.is_floating) for m in members), bound=bound,
                  groups="、".join(f"{name} {count} 人" for name, count in groups.items())
                  or render("roster.no_groups"))
