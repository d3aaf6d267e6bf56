"""The flask CLI: roster import/invites, intent, fake-wechat, chat, demo."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from bot import clock
from bot.replies import render

roster = AppGroup("roster", help="花名册：导入党员、打印邀请码。")


@roster.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
def roster_import(file):
    """Import a CSV or XLSX roster (姓名, 手机号码, 所在党支部, …).

    Exit status: 0 all rows imported; 1 some rows rejected (the rest imported);
    2 the file is not a roster (nothing changed).
    """
    from bot.roster import NotARoster, import_file

    path = Path(file)
    if not path.exists():
        click.echo(render("cli.file_missing", file=file), err=True)
        sys.exit(2)
    try:
        report = import_file(path, clock.now(), current_app.config["COMMITTEE_NAME"])
    except NotARoster as exc:
        click.echo(render("cli.import_refused", reason=exc), err=True)
        sys.exit(2)
    click.echo(render("cli.import_done", created=report.created, updated=report.updated,
                      errors=len(report.errors)))
    for number, reason in report.errors:
        click.echo(render("cli.import_row_error", row=number, reason=reason), err=True)
    if report.not_in_file:
        click.echo(render("cli.import_not_in_file", count=report.not_in_file))
    sys.exit(1 if report.errors else 0)


@roster.command("invites")
@click.option("--branch", help="只列出这个党支部的党员。")
@click.option("--json", "as_json", is_flag=True, help="JSON: [{name, branch, code}]。")
def roster_invites(branch, as_json):
    """Print each unbound member's one-time invite code (新的或仍有效的)."""
    from bot.storage import members as store
    from bot.storage.engine import db

    now, ttl = clock.now(), current_app.config["INVITE_TTL_DAYS"]
    rows = []
    for member in store.unbound_members(branch):
        invite = store.invite_code_for(member, now, ttl)
        rows.append({"name": member.name, "branch": member.branch.name, "code": invite.code,
                     "expires": clock.to_beijing(invite.expires_at).strftime("%Y-%m-%d")})
    db.session.commit()
    if as_json:
        click.echo(json.dumps([{k: r[k] for k in ("name", "branch", "code")} for r in rows],
                              ensure_ascii=False))
        return
    if not rows:
        click.echo(render("cli.no_unbound"))
    for r in rows:
        click.echo(render("cli.invite_line", **r))


@click.command("intent")
@click.argument("texts", nargs=-1)
@click.option("--file", "path", type=click.File("r", encoding="utf-8"),
              help="每行一句话。")
def intent_command(texts, path):
    """Classify texts; print one JSON line per text: {"text", "intent", "slots"}."""
    from bot.intents import classify

    lines = list(texts)
    if path:
        lines.extend(line.rstrip("\n") for line in path if line.strip())
    today = clock.to_beijing(clock.now()).date()
    for text in lines:
        click.echo(json.dumps(classify(text, today).as_dict(text), ensure_ascii=False))


@click.command("fake-wechat")
@click.option("--port", type=int, default=5001, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--record", type=click.Path(dir_okay=False), help="Append each call as a JSON line.")
@click.option("--latency-ms", type=int, default=0, show_default=True)
@click.option("--fail", multiple=True, help="CODE:RATE, e.g. 45015:0.1 (repeatable).")
@click.option("--no-window", is_flag=True, help="Do not enforce the 48-hour window.")
def fake_wechat_command(port, host, record, latency_ms, fail, no_window):
    """Run the stand-in platform API (token, customer-service and template endpoints)."""
    from bot.fakewechat import create_fake, parse_fail, serve

    cfg = current_app.config
    app = create_fake(cfg["WECHAT_APP_ID"], cfg["WECHAT_APP_SECRET"], record=record,
                      latency_ms=latency_ms, fail=parse_fail(fail),
                      enforce_window=not no_window)
    server = serve(app, host, port)
    click.echo(f"stand-in WeChat API on http://{host}:{port} (record: {record or 'off'})")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


@click.command("chat")
@click.option("--as", "name", required=True, help="以这位党员的身份聊天（姓名）。")
@click.option("--url", default="http://127.0.0.1:5000/wechat", show_default=True)
@click.option("--fake", "fake_url", default="http://127.0.0.1:5001", show_default=True,
              help="The stand-in platform, to show messages pushed to this member.")
def chat_command(name, url, fake_url):
    """A terminal chat with the running bot as a member, through real signed XML."""
    from bot.simulator import run_chat

    sys.exit(run_chat(name, url, fake_url))


demo = AppGroup("demo", help="演示：示范支部与一键运行。")


@demo.command("seed")
def demo_seed():
    """Create the schema, import the demo branch roster and print its invite codes."""
    from bot.demo import seed

    for line in seed():
        click.echo(line)


@demo.command("run")
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--fake-port", type=int, default=5001, show_default=True)
def demo_run(port, fake_port):
    """Run web, worker, scheduler and the stand-in platform together (Ctrl-C stops all)."""
    from bot.demo import run

    sys.exit(run(port, fake_port))


def init_app(app) -> None:
    """Register the commands on the app's CLI."""
    from bot.cli_meetings import group as meetings
    from bot.cli_digest import group as digest
    from bot.cli_dues import group as dues
    from bot.cli_export import group as export
    from bot.cli_floating import group as floating
    from bot.cli_report import group as report
    from bot.cli_meetings import reminders_group

    for command in (roster, intent_command, fake_wechat_command, chat_command, demo, meetings,
                    reminders_group, digest, dues, floating, export, report):
        app.cli.add_command(command)
