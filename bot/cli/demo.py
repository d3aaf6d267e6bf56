"""The demo branch and the one-command run of the whole system on the embedded defaults."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade

from bot import clock
from bot.replies import render
from bot.config import INSTANCE, ROOT

DEMO_ROSTER = ROOT / "prompts" / "demo_roster.csv"


def seed() -> list[str]:
    """Upgrade the schema, import the demo roster, plan this month's and next month's meetings,
    and return lines to print (invite codes)."""
    from bot.members.roster import import_file
    from bot.members.rules import ROLE_LABELS
    from bot.members import store
    from bot.storage.engine import db

    upgrade()
    report = import_file(DEMO_ROSTER, clock.now(), current_app.config["COMMITTEE_NAME"])
    lines = [render("cli.demo_ready", created=report.created, updated=report.updated)]
    from bot.meetings import planning as meetings
    from bot.storage.models import Branch

    now = clock.now()
    for branch in db.session.execute(db.select(Branch)).scalars():
        for year, month in clock.next_months(now):  # so 下次开会 has an answer at once
            meetings.plan_month(branch, year, month, now)
    for member in store.unbound_members():
        invite = store.invite_code_for(member, clock.now(), current_app.config["INVITE_TTL_DAYS"])
        roles = "、".join(ROLE_LABELS[r] for r in sorted(member.roles)) or render("cli.demo_member")
        lines.append(render("cli.demo_invite", name=member.name, code=invite.code, roles=roles))
    db.session.commit()
    return lines


def run(port: int, fake_port: int) -> int:
    """web + worker + scheduler (the Procfile) and the stand-in platform, under honcho."""
    from bot.redisconn import resolve_url

    env = dict(os.environ)
    env["REDIS_URL"] = resolve_url(current_app.config)  # every process shares this server
    env.setdefault("WECHAT_API_BASE", f"http://127.0.0.1:{fake_port}")
    env["PORT"] = str(port)
    procfile = INSTANCE / "Procfile.demo"
    lines = (ROOT / "Procfile").read_text(encoding="utf-8").rstrip("\n").splitlines()
    lines.append(f"fake: flask --app wsgi fake-wechat --port {fake_port} "
                 f"--record {INSTANCE / 'fake-wechat.jsonl'}")
    procfile.write_text("\n".join(lines) + "\n", encoding="utf-8")
    click.echo(render("cli.demo_running", port=port, fake_port=fake_port))
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    from bot.redisconn import _die_with_parent

    # honcho (and through it every process) stops if this runner dies, even by SIGKILL
    return subprocess.call([str(bin_dir / "honcho"), "start", "-f", str(procfile),
                            "-d", str(ROOT)], env=env, preexec_fn=_die_with_parent)


group = AppGroup("demo", help="演示：示范支部与一键运行。")


@group.command("seed")
def demo_seed():
    """Create the schema, import the demo branch roster and print its invite codes."""
    for line in seed():
        click.echo(line)


@group.command("run")
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--fake-port", type=int, default=5001, show_default=True)
def demo_run(port, fake_port):
    """Run web, worker, scheduler and the stand-in platform together (Ctrl-C stops all)."""
    sys.exit(run(port, fake_port))
