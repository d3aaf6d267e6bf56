"""Roster import: headers, updates instead of duplicates, per-row errors, refusals, XLSX, GBK."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.cli.members import roster_import
from bot.members.roster import NotARoster, import_file
from bot.members import store
from bot.storage.engine import db
from bot.storage.models import Branch, Member, PartyGroup
from tests.helpers import ROSTER, ROSTER_HEADER, write_roster


def members() -> int:
    return db.session.execute(select(func.count(Member.id))).scalar_one()


def run_import(app, path):
    return app.test_cli_runner().invoke(roster_import, [str(path)])


def test_import_reads_every_column(app, tmp_path):
    result = run_import(app, write_roster(tmp_path / "r.csv"))
    assert result.exit_code == 0, result.output
    assert "新增 4 人" in result.output
    zhang = store.members_by_name("张建国")[0]
    assert zhang.branch.name == "第一党支部" and zhang.branch.committee.name == "机关党委"
    assert zhang.group.name == "第一党小组" and zhang.roles == {"secretary"}
    assert zhang.status == "full" and zhang.dues_category == "in_service"
    assert zhang.dues_base == Decimal("8500.00") and isinstance(zhang.dues_base, Decimal)
    assert zhang.phone_masked == "138****8001"
    wang = store.members_by_name("王志强")[0]
    assert wang.status == "probationary" and wang.roles == {"group_leader"}
    assert wang.dues_base == Decimal("4800.00")
    liu = store.members_by_name("刘海波")[0]
    assert liu.is_floating is True and liu.dues_base is None and liu.dues_category == "farmer"


def test_reimport_updates_instead_of_duplicating(app, tmp_path):
    run_import(app, write_roster(tmp_path / "a.csv"))
    changed = [ROSTER[0].replace("书记", "副书记、党小组长").replace("8500.00", "9100"),
               *ROSTER[1:]]
    result = run_import(app, write_roster(tmp_path / "b.csv", changed))
    assert result.exit_code == 0 and "新增 0 人，更新 4 人" in result.output
    assert members() == 4
    zhang = store.members_by_name("张建国")[0]
    assert zhang.roles == {"deputy_secretary", "group_leader"}
    assert zhang.dues_base == Decimal("9100.00")
    assert db.session.execute(select(func.count(PartyGroup.id))).scalar_one() == 2


def test_bad_rows_are_reported_and_good_rows_still_import(app, tmp_path):
    rows = [
        ROSTER[0],
        "李红梅,1380013800,第一党支部,,正式党员,,在职,6200,否",        # row 3: short phone
        ",13800138010,第一党支部,,正式党员,,在职,6200,否",             # row 4: no name
        "王志强,13800138003,,,正式党员,,在职,6200,否",                  # row 5: no branch
        "赵丽娟,13800138004,第一党支部,,积极分子,,在职,6200,否",        # row 6: bad status
        "孙桂英,13800138007,第一党支部,,正式党员,司令,在职,6200,否",    # row 7: bad role
        "周文博,13800138008,第一党支部,,正式党员,,富豪,6200,否",        # row 8: bad category
        "陈晓东,13800138005,第一党支部,,正式党员,,在职,六千,否",        # row 9: bad base
        "刘海波,13800138006,第一党支部,,正式党员,,在职,-5,否",          # row 10: negative base
        "何小平,13800138011,第一党支部,,正式党员,,在职,3000,也许",      # row 11: bad flag
        "张三,13800138001,第一党支部,,正式党员,,在职,3000,否",          # row 12: dup phone
        "吴敏,+86 138-0013-8012,第一党支部,,正式党员,,在职,\"￥3,000.50元\",是",  # row 13: fine
    ]
    path = tmp_path / "bad.csv"
    path.write_text(ROSTER_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = run_import(app, path)
    assert result.exit_code == 1
    for number, words in [(3, "手机号码"), (4, "姓名为空"), (5, "所在党支部为空"),
                          (6, "人员类别"), (7, "司令"), (8, "富豪"), (9, "六千"), (10, "不合理"),
                          (11, "也许"), (12, "第 2 行重复")]:
        assert f"第 {number} 行：" in result.output and words in result.output, (number, words)
    assert "第 13 行" not in result.output
    assert members() == 2
    wu = store.members_by_name("吴敏")[0]
    assert wu.phone == "13800138012" and wu.dues_base == Decimal("3000.50") and wu.is_floating


@pytest.mark.parametrize("content", [
    "名字,电话\n张三,13800138001\n",
    "",
    "\x00\x01\x02binary",
    "姓名,手机号码\n张三,13800138001\n",
    ROSTER_HEADER + "\n",
])
def test_a_file_that_is_not_a_roster_is_refused_and_changes_nothing(app, tmp_path, content):
    run_import(app, write_roster(tmp_path / "good.csv"))
    before = members()
    path = tmp_path / "x.csv"
    path.write_bytes(content.encode("utf-8"))
    result = run_import(app, path)
    assert result.exit_code == 2 and "未导入" in result.output
    assert members() == before


def test_unknown_file_type_and_missing_file_are_refused(app, tmp_path):
    path = tmp_path / "roster.pdf"
    path.write_bytes(b"%PDF-1.4")
    assert run_import(app, path).exit_code == 2
    assert run_import(app, tmp_path / "nope.csv").exit_code == 2
    fake_xlsx = tmp_path / "roster.xlsx"
    fake_xlsx.write_text("this is not a zip")
    result = run_import(app, fake_xlsx)
    assert result.exit_code == 2 and "XLSX" in result.output
    assert members() == 0


def test_xlsx_with_a_title_row_and_numeric_phones(app, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["第一党支部党员花名册（2026年11月）"])
    sheet.append(ROSTER_HEADER.split(","))
    sheet.append(["张建国", 13800138001, "第一党支部", "第一党小组", "正式党员", "书记", "在职",
                  8500, "否"])
    sheet.append([None] * 9)
    sheet.append(["刘海波", 13800138006.0, "第二党支部", None, "预备党员", None, "学生", None, "是"])
    path = tmp_path / "roster.xlsx"
    book.save(path)
    result = run_import(app, path)
    assert result.exit_code == 0, result.output
    assert members() == 2
    liu = store.members_by_name("刘海波")[0]
    assert liu.phone == "13800138006" and liu.branch.name == "第二党支部"
    assert db.session.execute(select(func.count(Branch.id))).scalar_one() == 2


def test_gbk_csv_from_excel(app, tmp_path):
    path = write_roster(tmp_path / "gbk.csv", encoding="gbk")
    assert run_import(app, path).exit_code == 0
    assert members() == 4


def test_import_file_raises_for_non_roster(app, tmp_path, clock):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(NotARoster):
        import_file(path, clock(), "机关党委")
