"""The stand-in platform: real HTTP, real shapes, error codes, latency, --fail and --record."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import requests

from bot.config import ROOT

APPID, SECRET = "wxtest000000000001", "test-app-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp_path, *args):
    port = free_port()
    record = tmp_path / "calls.jsonl"
    env = dict(os.environ, WECHAT_APP_ID=APPID, WECHAT_APP_SECRET=SECRET,
               ZHIBU_INSTANCE=str(tmp_path / "instance"), REDIS_URL="redis://127.0.0.1:1/0",
               DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "fake-wechat",
                             "--port", str(port), "--record", str(record), *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            requests.get(base + "/_fake/messages", timeout=0.5)
            return proc, base, record
        except requests.RequestException:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(proc.stdout.read().decode())


def test_cli_server_answers_like_the_platform(tmp_path):
    proc, base, record = start(tmp_path)
    try:
        bad = requests.get(f"{base}/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": APPID, "secret": "nope"}).json()
        assert bad["errcode"] == 40125
        assert requests.get(f"{base}/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": "wxother", "secret": SECRET}
        ).json()["errcode"] == 40013
        good = requests.get(f"{base}/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": APPID, "secret": SECRET}).json()
        assert good["expires_in"] == 7200 and good["access_token"]
        stable = requests.post(f"{base}/cgi-bin/stable_token", json={
            "grant_type": "client_credential", "appid": APPID, "secret": SECRET}).json()
        again = requests.post(f"{base}/cgi-bin/stable_token", json={
            "grant_type": "client_credential", "appid": APPID, "secret": SECRET}).json()
        assert stable["access_token"] == again["access_token"]
        token = stable["access_token"]
        send = f"{base}/cgi-bin/message/custom/send"
        body = {"touser": "o_a", "msgtype": "text", "text": {"content": "你好"}}
        assert requests.post(send, json=body).json()["errcode"] == 41001
        assert requests.post(send, params={"access_token": "x"}, json=body).json()["errcode"] \
            == 40001
        assert requests.post(send, params={"access_token": token}, json=body).json()["errcode"] \
            == 45015  # never interacted: outside the 48-hour window
        requests.post(f"{base}/_fake/interact", json={"openid": "o_a"})
        ok = requests.post(send, params={"access_token": token}, json=body).json()
        assert ok == {"errcode": 0, "errmsg": "ok"}
        assert requests.post(send, params={"access_token": token}, data=b"{broken").json()[
            "errcode"] == 47001
        tpl = requests.post(f"{base}/cgi-bin/message/template/send",
                            params={"access_token": token},
                            json={"touser": "o_b", "template_id": "T", "data": {
                                "thing1": {"value": "主题党日"}}}).json()
        assert tpl["errcode"] == 0 and isinstance(tpl["msgid"], int)
        assert requests.post(f"{base}/cgi-bin/message/template/send",
                             params={"access_token": token},
                             json={"touser": "o_b"}).json()["errcode"] == 40037
        requests.post(f"{base}/_fake/expire_tokens")
        assert requests.post(send, params={"access_token": token}, json=body).json()["errcode"] \
            == 42001
    finally:
        proc.terminate()
        proc.wait(10)
    lines = [json.loads(x) for x in record.read_text(encoding="utf-8").splitlines()]
    assert all(set(line) == {"path", "query", "body", "errcode"} for line in lines)
    assert lines[0]["path"] == "/cgi-bin/token" and lines[0]["errcode"] == 40125
    custom = [x for x in lines if x["path"] == "/cgi-bin/message/custom/send"]
    assert custom[3]["body"]["text"]["content"] == "你好" and custom[3]["errcode"] == 0
    assert custom[3]["query"]["access_token"]


def test_fail_rate_and_latency(tmp_path):
    proc, base, _ = start(tmp_path, "--fail", "45011:1.0", "--latency-ms", "120", "--no-window")
    try:
        token = requests.post(f"{base}/cgi-bin/stable_token", json={
            "grant_type": "client_credential", "appid": APPID, "secret": SECRET}).json()[
            "access_token"]
        started = time.monotonic()
        answer = requests.post(f"{base}/cgi-bin/message/custom/send",
                               params={"access_token": token},
                               json={"touser": "o", "msgtype": "text", "text": {"content": "x"}})
        assert time.monotonic() - started >= 0.12
        assert answer.json()["errcode"] == 45011
    finally:
        proc.terminate()
        proc.wait(10)


def test_fail_option_parsing():
    from bot.wechat.fake import parse_fail

    assert parse_fail(["45015:0.25", "43004"]) == [(45015, 0.25), (43004, 1.0)]
