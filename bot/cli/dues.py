"""`flask --app wsgi dues …`: bases, the payment sheet import, the branch ledger."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from bot import clock
from bot.dues import ledger as dues
from bot.cli import branches_named, fail
from bot.dues.sheet import import_payments, write_ledger
from bot.dues.payments import parse_amount
from bot.replies import render
from bot.members.roster import NotARoster
from bot.members import rules as org
from bot.clock import month_key
from bot.members import store as member_store
from bot.storage.engine import db

group = AppGroup("dues", help="党费：基数、缴费导入、台账。")


def _month(text: str) -> str:
    try:
        return month_key(*clock.parse_month(text))
    except ValueError:
        fail("calendar.bad_month_arg", month=text)


@group.command("base")
@click.argument("name")
@click.option("--base", "base_text", help="党费基数（元）：在职为税后月收入，离退休为月养老金")
@click.option("--category", default=None, help="党费类别：" + "、".join(org.DUES_CATEGORY_LABELS.values()))
@click.option("--amount", "amount_text", help="农民党员每月金额（0.20–1.00）")
@click.option("--from", "from_text", required=True, help="从哪个月起（YYYY-MM）")
@click.option("--branch", help="党支部（同名时用）")
@click.option("--phone", help="手机号码（同名时用）")
def base(name, base_text, category, amount_text, from_text, branch, phone):
    """Set a member's dues base (and category) from a month on."""
    found = member_store.members_by_name(name, branch,
                                         phone=org.normalise_phone(phone) if phone else None)
    if not found:
        fail("dues.unknown_member", name=name)
    if len(found) > 1:
        fail("dues.sheet_same_name", name=name)
    member = found[0]
    code = org.DUES_CATEGORIES.get(category) if category else member.dues_category
    if code is None:
        fail("dues.no_category")
    values = {}
    for key, text in (("base", base_text), ("amount", amount_text)):
        if text is not None:
            values[key] = parse_amount(text)
            if values[key] is None or values[key] < 0:
                fail("dues.bad_amount", amount=text)
    outcome = dues.set_base(member, code, values.get("base"), _month(from_text), "cli",
                            clock.now(), amount=values.get("amount"))
    if not outcome.key == "dues.base_set":
        db.session.rollback()
        fail(outcome.key, **outcome.values)
    member.dues_category = code
    if "base" in values:
        member.dues_base = values["base"]
    db.session.commit()
    click.echo(outcome.render())


@group.command("import")
@click.argument("path", type=click.Path(path_type=Path))
def import_(path):
    """Import a payment sheet (CSV/XLSX: 姓名, 月份, 金额 [, 手机号码, 方式, 缴费日期, 代交人]).

    Exit 0: every row recorded; 1: rows with errors (listed), nothing recorded; 2: not a sheet.
    """
    if not path.exists():
        fail("cli.file_missing", file=path)
    try:
        report = import_payments(path, clock.now())
    except NotARoster as exc:
        fail("cli.import_refused", reason=exc)
    db.session.commit()
    for number, reason in report.errors:
        click.echo(render("cli.import_row_error", row=number, reason=reason))
    if report.errors:
        fail("dues.import_failed", code=1, count=len(report.errors))
    click.echo(render("dues.imported", count=report.applied, total=report.total))


@group.command("ledger")
@click.option("--month", "month_text", required=True, help="YYYY-MM")
@click.option("--branch")
@click.option("--json", "as_json", is_flag=True)
@click.option("--out", type=click.Path(path_type=Path), help="写成 XLSX 文件")
def ledger(month_text, branch, as_json, out):
    """The branch ledger of a month: due, paid, how, arrears, voluntary; per member."""
    month = _month(month_text)
    rows = [row for found in branches_named(branch) for row in dues.ledger(found.id, month)]
    if out:
        write_ledger(rows, out)
        click.echo(render("dues.ledger_written", path=out, count=len(rows)))
    if as_json or not out:
        click.echo(json.dumps([{k: v for k, v in row.items() if not k.endswith("_label")}
                               for row in rows], ensure_ascii=False))
