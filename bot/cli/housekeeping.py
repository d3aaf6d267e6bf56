"""`flask --app wsgi retention run`: drop personal information past its time now."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from bot import clock
from bot.replies import render

group = AppGroup("retention", help="个人信息保存期限：清理过期的消息原文和导出文件。")


@group.command("run")
def run():
    """Drop message texts and raw XML older than RETENTION_DAYS, delete expired export files."""
    from bot.storage.engine import db
    from bot.storage.retention import purge
    from bot.wechat.webhook import prune_nonces

    counts = purge(clock.now())
    counts["nonces"] = prune_nonces(clock.now())
    db.session.commit()
    click.echo(render("cli.retention_done", **counts))
