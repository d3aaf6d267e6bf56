"""党费: the table at and around every boundary, the ledger, payments in chat and by sheet,
arrears and advance across a year boundary, privacy, and the digest lines."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.jobs.meetings import run_reminders
from bot.meetings import planning as meetings
from bot.cli.dues import group as dues_cli
from bot.digest import collect, compose, text_of
from bot.dues import rules
from bot.members import store
from bot.storage.engine import db
from bot.storage.models import Branch, DuesPayment, Member
from tests.helpers import OPENIDS, beijing, bind




# --- the table ------------------------------------------------------------------------------

@pytest.mark.parametrize("category,base,expected", [
    ("in_service", "0.00", "0.00"), ("in_service", "2999.99", "15.00"),
    ("in_service", "3000.00", "15.00"), ("in_service", "3000.01", "30.00"),
    ("in_service", "4999.99", "50.00"), ("in_service", "5000.00", "50.00"),
    ("in_service", "5000.01", "75.00"), ("in_service", "9999.99", "150.00"),
    ("in_service", "10000.00", "150.00"), ("in_service", "10000.01", "200.00"),
    ("in_service", "12345.67", "246.91"), ("in_service", "4800.00", "48.00"),
    ("self_employed", "3000.00", "15.00"), ("self_employed", "3000.01", "30.00"),
    ("self_employed", "10000.01", "200.00"),
    ("retired", "4999.99", "25.00"), ("retired", "5000.00", "25.00"),
    ("retired", "5000.01", "50.00"), ("retired", "8000.00", "80.00"),
    ("student", None, "0.20"), ("unemployed", None, "0.20"), ("relief", None, "0.20"),
    ("farmer", None, "0.20"),
])
def test_every_row_of_the_dues_table(category, base, expected):
    amount, _ = rules.monthly(category, Decimal(base) if base else None)
    assert amount == Decimal(expected) and isinstance(amount, Decimal)


def test_fixed_amounts_for_farmers_and_refusals():
    branch = Branch(settings={"dues": {"farmer_amount": "0.50"}})
    assert rules.monthly("farmer", None, None, branch)[0] == Decimal("0.50")
    assert rules.monthly("farmer", None, Decimal("1.00"), branch)[0] == Decimal("1.00")
    for bad in ("1.01", "0.19"):
        with pytest.raises(rules.DuesError):
            rules.monthly("farmer", None, Decimal(bad), branch)
    with pytest.raises(rules.DuesError):
        rules.monthly("in_service", None)
    with pytest.raises(rules.DuesError):
        rules.monthly("in_service", Decimal("-1"))


# --- a branch -------------------------------------------------------------------------------

@pytest.fixture
def branch(app, platform, fake, tmp_path, clock):
    """The roster (imported 21 Nov 2026: bases from 2026-11), everyone bound."""
    bind(platform, tmp_path, *OPENIDS.items())
    return db.session.execute(select(Branch)).scalar_one()


def member(name: str) -> Member:
    return store.members_by_name(name)[0]


def cli(app, *args):
    return app.test_cli_runner().invoke(dues_cli, [str(a) for a in args])


def test_a_member_sees_their_own_dues_and_how_they_are_computed(app, platform, branch):
    assert platform.text("o_wang", "我的党费") == (
        "您的党费：每月 48.00 元（在职，基数 4,800.00 元 × 1% = 48.00 元）。11月还没交，"
        "交给组织委员李红梅就行（现金、微信转账都可以）。"
        "之前没有欠交。2026年已交 0.00 元（截至本月应交 48.00 元）。")
    # the 组织委员 asking her own: nobody else named, and a leader asking hears no instruction
    assert "交给支部的组织委员就行" in platform.text("o_li", "我的党费")
    assert "交给" not in platform.text("o_li", "王志强的党费")
    assert "党费标准（按月，全额计算）" in platform.text("o_wang", "党费标准是多少")
    assert "每月 127.50 元（在职，基数 8,500.00 元 × 1.5%" in platform.text("o_zhang",
                                                                         "我每月该交多少")
    assert "每月 0.20 元（农民，每月固定 0.20 元）" in platform.text("o_liu", "这个月交了吗")
    # someone else's dues: refused to a member; the secretary (who sees the ledger) is told
    assert platform.text("o_wang", "张建国的党费交了吗") in (
        "党费只能查看自己的。如需了解支部情况，请联系支部书记张建国。",
        "这项操作只有支部书记、副书记或组织委员可以使用。")
    assert platform.text("o_zhang", "王志强党费交了吗").startswith("王志强的党费：每月 48.00 元")


def test_recording_payments_in_chat_every_form(app, platform, branch, clock):
    say = lambda text: platform.text("o_li", text)  # noqa: E731 - the 组织委员 records
    assert say("记党费 王志强 11月 48.00 转账") == "已记录：王志强 2026年11月党费 48.00 元，转账。"
    assert say("记党费 王志强 11月 48.00 转账") == "王志强 2026年11月的党费已经交过了，没有重复记录。"
    assert "我的党费" and "11月已交（11月21日，转账）" in platform.text("o_wang", "我的党费")
    assert say("记党费 张建国 11月 ￥127.5 微信") == "已记录：张建国 2026年11月党费 127.50 元，线上。"
    assert say("记党费 刘海波 11月 0.2元 张建国代交") == \
        "已记录：刘海波 2026年11月党费 0.20 元，代交（张建国代交）。"
    assert say("记党费 李红梅 11月 ９３．００ 现金").startswith("已记录：李红梅 2026年11月党费 93.00 元")
    # advance over the new year, one batch of rows
    assert say("记党费 王志强 12-2月 1,44 转账").startswith("王志强 2026年12月、2027年1月、2027年2月应交 144.00 元")
    assert say("记党费 王志强 12-2月 144元 转账") == \
        "已记录预交：王志强 2026年12月、2027年1月、2027年2月党费共 144.00 元，转账。"
    rows = db.session.execute(select(DuesPayment.month, DuesPayment.amount, DuesPayment.batch)
                              .where(DuesPayment.member_id == member("王志强").id)
                              .order_by(DuesPayment.month)).all()
    assert [(m, a) for m, a, _ in rows] == [("2026-11", Decimal("48.00")),
                                           ("2026-12", Decimal("48.00")),
                                           ("2027-01", Decimal("48.00")),
                                           ("2027-02", Decimal("48.00"))]
    assert len({b for _, _, b in rows[1:]}) == 1
    assert say("记党费 王志强 自愿多交 100") == "已记录：王志强 自愿多交 100.00 元（不计入月度党费）。"
    reply = platform.text("o_wang", "我的党费")
    assert "已预交：2026年12月、2027年1月、2027年2月。" in reply and "另自愿多交 100.00 元" in reply
    assert "2026年已交 96.00 元" in reply  # November and December; the extra kept apart
    # refused, and nothing stored
    before = db.session.execute(select(func.count(DuesPayment.id))).scalar_one()
    assert say("记党费 王志强 3-5月 144 转账").startswith("王志强 2026年3月")  # a bare 3月: past
    assert say("记党费 王志强 2027年3月至2027年6月 192 转账") == "预交最多 6 个月，没有记录。"
    assert say("记党费 王志强 2026年3月 48 转账") == \
        "王志强 2026年3月没有应交党费（还没有设置基数，或当时还不是党员），没有记录。"
    assert say("记党费 王志强 2027年3月 -48 转账") == "金额 -48 不对，请写正数，例如 45.00。"
    assert say("记党费 王志强 2027年3月 48000000 转账").startswith("金额 48000000 不对")
    assert say("记党费 赵六 11月 48 转账") == "本支部没有叫“赵六”的党员。"
    assert say("记党费 王志强") == "请这样写：记党费 张三 12月 45.00 转账（可写 10-12月 补交或预交；" \
                                   "李四代交；记党费 张三 自愿多交 100）"
    assert "只有支部书记" in platform.text("o_wang", "记党费 王志强 2027年3月 48 转账")
    assert db.session.execute(select(func.count(DuesPayment.id))).scalar_one() == before


def test_arrears_across_the_year_boundary_and_who_has_not_paid(app, platform, branch, clock):
    assert "已设置：王志强 从2026年10月起 在职，基数 4,800.00 元，每月党费 48.00 元" in \
        cli(app, "base", "王志强", "--base", "4800", "--from", "2026-10").output
    clock.set(beijing(2027, 2, 10))
    platform.text("o_zhang", "帮助")
    reply = platform.text("o_wang", "欠了几个月")
    assert "2月还没交，交给组织委员李红梅就行（现金、微信转账都可以）。之前有 4 个月未交：2026年10月、2026年11月、2026年12月、2027年1月。" in reply
    assert "2027年已交 0.00 元（截至本月应交 96.00 元）" in reply
    unpaid = platform.text("o_zhang", "这个月谁没交党费")
    assert unpaid.startswith("2027年2月党费未交 4 人：")
    assert "· 王志强 48.00 元（之前还欠 4 个月）" in unpaid
    assert platform.text("o_zhang", "记党费 王志强 10-1月 192 现金") == \
        "已记录补交：王志强 2026年10月、2026年11月、2026年12月、2027年1月党费共 192.00 元，现金。"
    assert "之前没有欠交" in platform.text("o_wang", "欠了几个月")
    cli(app, "base", "张建国", "--base", "8500", "--from", "2026-01")
    assert platform.text("o_zhang", "记党费 张建国 2026年1月至2026年8月,1,020.00,转账") == \
        "已记录补交：张建国 2026年1月、2026年2月、2026年3月、2026年4月、2026年5月、2026年6月、" \
        "2026年7月、2026年8月党费共 1020.00 元，转账。"
    assert "王志强 48.00 元（之前" not in platform.text("o_zhang", "这个月谁没交党费")


def test_two_members_with_one_name(app, platform, branch, tmp_path, clock):
    from bot.members.roster import import_file
    from tests.helpers import ROSTER, write_roster

    import_file(write_roster(tmp_path / "more.csv", [
        *ROSTER, "王志强,13900000123,第一党支部,第一党小组,正式党员,,在职,3000,否"]),
        clock(), "机关党委")
    assert platform.text("o_li", "记党费 王志强 11月 48 转账") == (
        "本支部有 2 位王志强：王志强（138****8003）、王志强（139****0123）。请在名字后加手机尾号，"
        "例如：记党费 王志强8003 …")
    assert platform.text("o_li", "记党费 王志强0123 11月 15 转账") == \
        "已记录：王志强 2026年11月党费 15.00 元，转账。"


def test_base_changes_and_probationary_members(app, platform, branch, clock):
    platform.text("o_li", "记党费 王志强 11月 48 转账")
    refused = cli(app, "base", "王志强", "--base", "6200", "--from", "2026-11")
    assert refused.exit_code == 2 and "已按原基数交过，不能从那之前改基数" in refused.output
    assert cli(app, "base", "王志强", "--base", "6200", "--from", "2026-12").exit_code == 0
    clock.set(beijing(2026, 12, 5))
    assert "每月 93.00 元（在职，基数 6,200.00 元 × 1.5%" in platform.text("o_wang", "我的党费")
    # a 预备党员 admitted in September pays from September
    assert cli(app, "base", "刘海波", "--category", "学生", "--from", "2026-09").exit_code == 0
    assert "之前有 3 个月未交：2026年9月、2026年10月、2026年11月" in platform.text("o_liu", "我的党费")
    bad = cli(app, "base", "刘海波", "--category", "农民", "--amount", "1.5", "--from", "2027-01")
    assert bad.exit_code == 2 and "0.20 到 1.00" in bad.output
    assert cli(app, "base", "赵六", "--base", "1", "--from", "2027-01").exit_code == 2


def test_payment_sheet_all_rows_or_none(app, platform, branch, tmp_path):
    good = tmp_path / "pay.csv"
    good.write_text("姓名,月份,金额,方式,缴费日期,代交人\n"
                    "王志强,2026-11,48.00,转账,2026-11-20,\n"
                    "张建国,11月,\"127.50\",现金,,\n"
                    "刘海波,2026-11,0.20,,,张建国\n"
                    "李红梅,自愿,50,,2026-11-19,\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("姓名,月份,金额\n王志强,2026-11,48\n赵六,2026-11,10\n张建国,11月,100\n"
                   "李红梅,2026-13,93\n王志强,2026-11,48\n", encoding="utf-8")
    result = cli(app, "import", bad)
    assert result.exit_code == 1
    assert "第 3 行：本支部没有叫“赵六”的党员。" in result.output
    assert "第 4 行：张建国 2026年11月应交 127.50 元" in result.output
    assert "第 5 行：月份看不懂：2026-13" in result.output
    assert "第 6 行：王志强 2026年11月的党费已经交过了" in result.output  # twice in one sheet
    assert "有 4 行出错，整张表都没有导入" in result.output
    assert db.session.execute(select(func.count(DuesPayment.id))).scalar_one() == 0
    result = cli(app, "import", good)
    assert result.exit_code == 0 and "已导入 4 笔党费，共 225.70 元。" in result.output
    liu = db.session.execute(select(DuesPayment).where(
        DuesPayment.member_id == member("刘海波").id)).scalar_one()
    assert (liu.method, liu.paid_by) == ("proxy", "张建国")
    assert cli(app, "import", tmp_path / "none.csv").exit_code == 2


def test_the_ledger_as_json_and_xlsx(app, platform, branch, tmp_path):
    platform.text("o_li", "记党费 王志强 11月 48 转账")
    platform.text("o_li", "记党费 张建国 11月 127.50 现金")
    rows = json.loads(cli(app, "ledger", "--month", "2026-11", "--json").output)
    by_name = {r["name"]: r for r in rows}
    assert by_name["王志强"] == {
        "branch": "第一党支部", "name": "王志强", "group": "第二党小组", "category": "in_service",
        "base": "4800.00", "due": "48.00", "paid": "48.00", "paid_on": "2026-11-21",
        "method": "transfer", "paid_by": None, "arrears_months": 0, "voluntary": "0.00"}
    assert by_name["李红梅"]["paid"] is None and by_name["李红梅"]["due"] == "93.00"
    out = tmp_path / "ledger.xlsx"
    assert cli(app, "ledger", "--month", "2026-11", "--out", out).exit_code == 0
    sheet = load_workbook(out)["党费"]
    table = [[c.value for c in row] for row in sheet.iter_rows()]
    assert table[0][:7] == ["党支部", "姓名", "党小组", "党费类别", "基数", "应交", "实交"]
    wang = next(r for r in table if r[1] == "王志强")
    assert wang[3:8] == ["在职", 4800, 48, 48, "2026-11-21"]
    assert all("138" not in str(cell) for row in table for cell in row)  # no phone numbers


def test_secretary_digest_at_three_and_five_months_unpaid(app, platform, branch, fake, clock):
    cli(app, "base", "王志强", "--base", "4800", "--from", "2026-06")
    clock.set(beijing(2026, 9, 2))  # June, July, August unpaid
    text = text_of(compose(branch, member("张建国"), collect(branch, clock())), clock())
    assert "【党费连续未交】\n· 王志强：自2026年6月起已连续 3 个月未交党费" in text
    clock.set(beijing(2026, 11, 2))
    text = text_of(compose(branch, member("张建国"), collect(branch, clock())), clock())
    assert "【⚠ 党费临近六个月规定】\n· 王志强：自2026年6月起已连续 5 个月未交党费。按党章，连续6个月" \
           "不交纳党费又无正当理由的，视为自行脱党" in text
    assert member("王志强").status == "probationary"


def test_a_line_in_the_members_digest_on_the_theme_day(app, platform, branch, fake, clock):
    clock.set(beijing(2026, 12, 4, 8))
    for openid in OPENIDS.values():
        requests.post(f"{fake.url}/_fake/interact", json={"openid": openid})
        platform.text(openid, "帮助")
    meetings.plan_month(branch, 2026, 12, clock())  # 主题党日 Friday 4 December 14:30
    platform.text("o_li", "记党费 张建国 12月 127.50 现金")
    run_reminders(beijing(2026, 12, 4, 12, 30), inline=True)
    sent = {d["openid"]: d["body"]["text"]["content"] for d in fake.state.delivered
            if "会议提醒" in d["body"].get("text", {}).get("content", "")}
    assert sent["o_wang"].endswith("· 本月党费 48.00 元还没交，交给组织委员即可；回复“我的党费”查看明细。")
    assert "党费" not in sent["o_zhang"]  # paid
