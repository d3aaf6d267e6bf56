"""The demo branch and the one-command run of the whole system on the embedded defaults."""
from __future__ import annotations

import json
import os
import signal
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
# The ports of the running demo, for `chat` to find it: written by `demo run`, gone when it stops.
DEMO_PORTS = INSTANCE / "demo-ports.json"
DEFAULT_PORT = 5000  # the web server's; the stand-in platform's is the next one


def running_ports() -> tuple[int, int]:
    """(web, stand-in platform) ports of the demo running on this instance, else the defaults."""
    try:
        ports = json.loads(DEMO_PORTS.read_text(encoding="utf-8"))
        return int(ports["port"]), int(ports["fake_port"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_PORT, DEFAULT_PORT + 1


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
    for member in store.unbound_members(clock.to_beijing(now).date()):
        invite = store.invite_code_for(member, clock.now(), current_app.config["INVITE_TTL_DAYS"])
        roles = "、".join(ROLE_LABELS[r] for r in sorted(member.roles)) or render("cli.demo_member")
        lines.append(render("cli.demo_invite", name=member.name, code=invite.code, roles=roles))
    db.session.commit()
    return lines


def run(port: int, fake_port: int) -> int:
    """web + worker + scheduler (the Procfile) and the stand-in platform, under honcho, until
    one of them stops (its status) or the runner is asked to stop: Ctrl-C or SIGTERM (0, once
    every process, and the embedded Redis after them, has stopped)."""
    from bot.redisconn import _die_with_parent, resolve_url, stop_embedded

    env = dict(os.environ)
    env["REDIS_URL"] = resolve_url(current_app.config)  # every process shares this server
    env.setdefault("WECHAT_API_BASE", f"http://127.0.0.1:{fake_port}")
    env.setdefault("PUBLIC_URL", f"http://127.0.0.1:{port}")  # the links the bot sends
    env["PORT"] = str(port)
    procfile = INSTANCE / "Procfile.demo"
    lines = (ROOT / "Procfile").read_text(encoding="utf-8").rstrip("\n").splitlines()
    lines.append(f"fake: flask --app wsgi fake-wechat --port {fake_port} "
                 f"--record {INSTANCE / 'fake-wechat.jsonl'}")
    procfile.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    DEMO_PORTS.write_text(json.dumps({"port": port, "fake_port": fake_port, "pid": os.getpid()}),
                          encoding="utf-8")
    stopping: list[int] = []
    try:
        # honcho (and through it every process) stops if this runner dies, even by SIGKILL
        honcho = subprocess.Popen([str(bin_dir / "honcho"), "start", "-f", str(procfile),
                                   "-d", str(ROOT)], env=env, preexec_fn=_die_with_parent)

        def stop(signum, frame):
            # Ctrl-C reaches honcho from the terminal too; a signal sent to this runner alone
            # is passed on. honcho stops each process (SIGTERM, SIGKILL after 5 s) and exits.
            stopping.append(signum)
            if honcho.poll() is None:
                honcho.send_signal(signum)

        previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        click.echo(render("cli.demo_running", port=port, fake_port=fake_port))
        try:
            status = honcho.wait()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
    finally:
        DEMO_PORTS.unlink(missing_ok=True)
    stop_embedded()  # after the processes that use it
    if stopping:
        click.echo(render("cli.demo_stopped"))
        return 0
    return status


group = AppGroup("demo", help="演示：示范支部与一键运行。")


@group.command("seed")
def demo_seed():
    """Create the schema, import the demo branch roster and print its invite codes."""
    for line in seed():
        click.echo(line)


@group.command("run")
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True,
              help="The web server's (webhook, links the bot sends).")
@click.option("--fake-port", type=int, help="The stand-in platform's.  [default: PORT+1]")
def demo_run(port, fake_port):
    """Run web, worker, scheduler and the stand-in platform together (Ctrl-C stops all)."""
    sys.exit(run(port, fake_port or port + 1))
