"""`flask --app wsgi console …`: password sign-in to the console where a computer has no WeChat."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from bot import clock
from bot.cli import branches_named, fail
from bot.replies import render

group = AppGroup("console", help="控制台：为没有微信的电脑设置密码登录。")


@group.command("add-user")
@click.argument("name")
@click.option("--branch", required=True, help="党支部")
@click.option("--phone", help="同名时用手机号指明是哪一位")
@click.option("--password-stdin", is_flag=True, help="从标准输入读密码（第一行），不提示输入")
@click.option("--by", default="cli", show_default=True, help="谁设置的（记入留痕）")
def add_user(name, branch, phone, password_stdin, by):
    """Let a leader of BRANCH sign in to the console with a password (a new password replaces
    the old; the phone number is the user name). The password is read from a prompt, or from
    standard input with --password-stdin; it is never printed or logged."""
    from bot.console import access
    from bot.members.rules import mask_phone, normalise_phone
    from bot.storage.engine import db
    from bot.storage.models import Member

    from bot import clock
    from bot.members.store import on_roll

    found = branches_named(branch)[0]
    members = list(db.session.execute(select(Member).where(
        Member.branch_id == found.id, Member.name == name,
        on_roll(clock.to_beijing(clock.now()).date()))).scalars())
    if phone:
        members = [m for m in members if m.phone == normalise_phone(phone)]
    if not members:
        fail("console.unknown_member", branch=found.name, name=name)
    if len(members) > 1:
        fail("console.namesake", branch=found.name, name=name, count=len(members))
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("console.no_password")
    else:
        password = click.prompt("密码", hide_input=True)
        if click.prompt("再输入一次", hide_input=True) != password:
            fail("console.password_mismatch")
    member = members[0]
    try:
        access.set_password(member, password, by, clock.now())
    except access.Refused as exc:
        fail(exc.args[0], **exc.args[1])
    db.session.commit()
    click.echo(render("console.user_added", name=member.name, branch=found.name,
                      phone=mask_phone(member.phone),
                      url=f"{current_app.config['PUBLIC_URL'].rstrip('/')}/console/sign-in"))
