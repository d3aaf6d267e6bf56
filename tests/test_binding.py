"""Binding: invite codes from the CLI, 绑定 CODE, single use, expiry, rate limit, follow events."""
from __future__ import annotations

import json


from sqlalchemy import select

from bot.cli.members import roster_invites
from bot.members.roster import import_file
from bot.members import store
from bot.chat.inbound import follower
from bot.storage.engine import db
from bot.storage.models import InviteCode, WechatUser
from tests.helpers import write_roster


def roster(app, tmp_path, clock):
    import_file(write_roster(tmp_path / "r.csv"), clock(), "机关党委")


def invites(app, *args) -> list[dict]:
    result = app.test_cli_runner().invoke(roster_invites, ["--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def code_of(app, name) -> str:
    return next(r["code"] for r in invites(app) if r["name"] == name)


def test_invites_json_lists_unbound_members_with_stable_codes(app, tmp_path, clock):
    roster(app, tmp_path, clock)
    first = invites(app)
    assert [set(r) for r in first] == [{"name", "branch", "code"}] * 4
    assert {r["name"] for r in first} == {"张建国", "李红梅", "王志强", "刘海波"}
    assert all(r["branch"] == "第一党支部" and len(r["code"]) == 8 for r in first)
    assert len({r["code"] for r in first}) == 4
    assert invites(app) == first  # printing again does not invalidate codes already handed out
    assert invites(app, "--branch", "没有这个支部") == []
    text = app.test_cli_runner().invoke(roster_invites, [])
    assert "张建国" in text.output and "有效期至" in text.output


def test_bind_flow(app, platform, tmp_path, clock):
    roster(app, tmp_path, clock)
    code = code_of(app, "李红梅")
    assert "还没有绑定" in platform.text("o_li", "我的党费")  # no branch data before binding
    assert "加上邀请码" in platform.text("o_li", "绑定")
    reply = platform.text("o_li", f"绑定 {code}")
    assert "绑定成功" in reply and "李红梅" in reply and "第一党支部" in reply
    user = follower("o_li")
    assert user.member.name == "李红梅" and user.bound_at == clock()
    assert "已经绑定为李红梅" in platform.text("o_li", f"绑定 {code}")
    assert [r["name"] for r in invites(app)].count("李红梅") == 0


def test_codes_are_single_use(app, platform, tmp_path, clock):
    roster(app, tmp_path, clock)
    code = code_of(app, "张建国")
    assert "绑定成功" in platform.text("o_first", f"绑定{code}")
    assert "已经用过" in platform.text("o_second", f"绑定 {code}")
    assert follower("o_second").member is None


def test_codes_expire(app, platform, tmp_path, clock):
    roster(app, tmp_path, clock)
    code = code_of(app, "王志强")
    clock.advance(days=30, seconds=1)
    assert "过期" in platform.text("o_wang", f"绑定 {code}")
    fresh = code_of(app, "王志强")
    assert fresh != code
    assert "绑定成功" in platform.text("o_wang", f"绑定 {fresh}")


def test_wrong_guesses_are_rate_limited_per_openid(app, platform, tmp_path, clock):
    roster(app, tmp_path, clock)
    code = code_of(app, "刘海波")
    replies = [platform.text("o_guess", f"绑定 {10000000 + i}") for i in range(5)]
    assert "还可以再试 4 次" in replies[0] and "还可以再试 1 次" in replies[3]
    assert "次数太多" in replies[4]
    assert "次数太多" in platform.text("o_guess", f"绑定 {code}")  # even the right code
    assert follower("o_guess").member is None
    assert "绑定成功" in platform.text("o_other", f"绑定 {code}")  # others are not affected
    clock.advance(hours=1)
    assert "已经用过" in platform.text("o_guess", f"绑定 {code}")  # window over: tries again


def test_subscribe_welcomes_and_unsubscribe_marks_unreachable(app, platform, tmp_path, clock):
    roster(app, tmp_path, clock)
    assert "欢迎关注" in platform.event("o_zhao", "subscribe")
    code = code_of(app, "张建国")
    platform.text("o_zhao", f"绑定 {code}")
    member = store.members_by_name("张建国")[0]
    clock.advance(minutes=1)
    assert platform.event("o_zhao", "unsubscribe") == ""
    db.session.refresh(member)
    assert member.reachable is False
    clock.advance(minutes=1)
    assert "张建国同志，欢迎回来" in platform.event("o_zhao", "subscribe")
    db.session.refresh(member)
    assert member.reachable is True


def test_help_depends_on_role(app, platform, tmp_path, clock):
    roster(app, tmp_path, clock)
    for name, openid in (("张建国", "o_sec"), ("王志强", "o_mem"), ("刘海波", "o_flo")):
        platform.text(openid, f"绑定 {code_of(app, name)}")
    secretary, member, floating = (platform.text(o, "帮助") for o in ("o_sec", "o_mem", "o_flo"))
    assert "发通知" in secretary and "发通知" not in member
    assert "外出报告" in floating and "外出报告" not in member
    assert "学习打卡" in member and "王志强同志" in member
    assert "只有支部书记" in platform.text("o_mem", "通知：明天开会")
    assert "这条通知发给谁" in platform.text("o_sec", "通知：明天开会")


def test_invite_rows_keep_who_used_them(app, platform, tmp_path, clock):
    roster(app, tmp_path, clock)
    code = code_of(app, "张建国")
    platform.text("o_audit", f"绑定 {code}")
    row = db.session.execute(select(InviteCode).where(InviteCode.code == code)).scalar_one()
    assert row.used_by_openid == "o_audit" and row.used_at == clock()
    assert db.session.execute(select(WechatUser.member_id).where(
        WechatUser.openid == "o_audit")).scalar_one() == row.member_id
