"""The demo branch and the one-command run of the whole system on the embedded defaults."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
from flask import current_app
from flask_migrate import upgrade

from bot import clock
from bot.config import INSTANCE, ROOT

DEMO_ROSTER = ROOT / "prompts" / "demo_roster.csv"


def seed() -> list[str]:
    """Upgrade the schema, import the demo roster, and return lines to print (invite codes)."""
    from bot.roster import import_file
    from bot.rules.organisation import ROLE_LABELS
    from bot.storage import members as store
    from bot.storage.engine import db

    upgrade()
    report = import_file(DEMO_ROSTER, clock.now(), current_app.config["COMMITTEE_NAME"])
    lines = [f"示范支部已就绪：新增 {report.created} 人，更新 {report.updated} 人。", "邀请码："]
    for member in store.unbound_members():
        invite = store.invite_code_for(member, clock.now(), current_app.config["INVITE_TTL_DAYS"])
        roles = "、".join(ROLE_LABELS[r] for r in sorted(member.roles)) or "党员"
        lines.append(f"  {member.name}\t{invite.code}\t({roles})")
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
    click.echo(f"\n支部助手已启动：webhook http://127.0.0.1:{port}/wechat ，"
          f"模拟微信平台 http://127.0.0.1:{fake_port}\n"
          "在另一个终端里和机器人聊天：\n"
          "  .venv/bin/flask --app wsgi chat --as 张建国\n")
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.call([str(bin_dir / "honcho"), "start", "-f", str(procfile),
                            "-d", str(ROOT)], env=env)
