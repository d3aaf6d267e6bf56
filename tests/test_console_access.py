"""Signing in to the console where a computer has no WeChat: a password set by `console add-user`
(argon2, never printed), wrong guesses limited, sessions that end, access that follows the roles
at once, and a CSRF token on every form."""
from __future__ import annotations

import logging

from sqlalchemy import select

from bot.cli.console import group as console_cli
from bot.members import store
from bot.storage.engine import db
from bot.storage.models import ConsoleUser, MemberRole
from tests.helpers import bind

PASSWORD = "正确的密码 horse 42"


def add_user(app, *args, password=PASSWORD):
    return app.test_cli_runner().invoke(console_cli, ["add-user", *args, "--password-stdin"],
                                        input=password + "\n")


def token(page: str) -> str:
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def sign_in(client, phone="13800138001", password=PASSWORD):
    page = client.get("/console/sign-in").get_data(as_text=True)
    return client.post("/console/sign-in", data={"phone": phone, "password": password,
                                                 "csrf_token": token(page)})


def test_a_leader_signs_in_with_a_password_and_only_a_leader(app, platform, tmp_path, clock,
                                                             caplog):
    bind(platform, tmp_path)
    caplog.set_level(logging.DEBUG)
    added = add_user(app, "张建国", "--branch", "第一党支部")
    assert added.exit_code == 0, added.output
    assert "138****8001" in added.output and "/console/sign-in" in added.output
    assert PASSWORD not in added.output and PASSWORD not in caplog.text
    stored = db.session.execute(select(ConsoleUser)).scalar_one()
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    refused = add_user(app, "刘海波", "--branch", "第一党支部")  # a member: no console
    assert refused.exit_code == 2 and "不能使用控制台" in refused.output
    assert add_user(app, "张建国", "--branch", "第一党支部", password="short").exit_code == 2
    assert add_user(app, "没有这人", "--branch", "第一党支部").exit_code == 2
    assert add_user(app, "张建国", "--branch", "没有的支部").exit_code == 2

    client = app.test_client()
    assert client.get("/console/").status_code == 401
    wrong = sign_in(client, password="不对的密码 123456")
    assert wrong.status_code == 401 and "手机号或密码不对" in wrong.get_data(as_text=True)
    unknown = sign_in(client, phone="13800138099")
    assert "手机号或密码不对" in unknown.get_data(as_text=True)  # the same answer
    assert client.get("/console/").status_code == 401
    done = sign_in(client)
    assert done.status_code == 302 and done.location.endswith("/console/"), done.get_data(as_text=True)
    assert "第一党支部 控制台" in client.get("/console/").get_data(as_text=True)
    no_token = app.test_client().post("/console/sign-in", data={"phone": "13800138001",
                                                                 "password": PASSWORD})
    assert no_token.status_code == 400  # CSRF on the sign-in form too


def test_wrong_passwords_are_limited(app, platform, tmp_path, clock):
    bind(platform, tmp_path)
    assert add_user(app, "张建国", "--branch", "第一党支部").exit_code == 0
    client = app.test_client()
    for _ in range(5):
        assert "手机号或密码不对" in sign_in(client, password="guess guess 1").get_data(as_text=True)
    blocked = sign_in(client)  # even the right password waits now
    assert "分钟后再试" in blocked.get_data(as_text=True)
    assert client.get("/console/").status_code == 401
    clock.advance(minutes=16)
    assert sign_in(client).status_code == 302


def test_the_session_ends_and_stepping_down_ends_it_at_once(app, platform, tmp_path, clock):
    bind(platform, tmp_path)
    assert add_user(app, "李红梅", "--branch", "第一党支部").exit_code == 0
    client = app.test_client()
    assert sign_in(client, phone="13800138002").status_code == 302
    clock.advance(hours=app.config["CONSOLE_SESSION_HOURS"], minutes=1)
    assert client.get("/console/").status_code == 401  # the session's hours are over
    assert sign_in(client, phone="13800138002").status_code == 302
    assert client.get("/console/").status_code == 200
    li = store.members_by_name("李红梅")[0]
    db.session.execute(MemberRole.__table__.delete().where(MemberRole.member_id == li.id))
    db.session.commit()  # 换届: no longer on the committee
    assert client.get("/console/").status_code == 401
    again = sign_in(client, phone="13800138002")
    assert again.status_code == 401 and "不能登录控制台" in again.get_data(as_text=True)
