"""A stand-in for the platform's outbound API, since the real one cannot be reached from here.

It implements GET /cgi-bin/token, POST /cgi-bin/stable_token, POST /cgi-bin/message/custom/send
(text, and msgmenu: a message with one-tap options, whose tap comes back to the webhook as a text
message with `bizmsgmenuid`) and POST /cgi-bin/message/template/send with the real request and response shapes and errcodes:
40013 bad appid, 40125 bad secret, 40200 (on request: an account that cannot send msgmenu), 41001 no token, 40001 invalid token, 42001 expired token,
44002 empty body, 47001 bad JSON, 40003 bad openid, 40037 bad template id, and — on request —
43004, 45009, 45011, 45015, 45047 and -1. A token fetched from /cgi-bin/token invalidates the
previous one after 5 minutes, as on the platform; stable_token returns the same token until it
is within 5 minutes of expiry unless force_refresh is set. Every call is appended to the record
file as one JSON line:
{"path", "query", "body", "errcode"}.

Control endpoints (not on the real platform) for tests and the chat simulator:
POST /_fake/interact {"openid"}             the member messaged the account (opens 48 h window)
POST /_fake/unfollow {"openid"}             the member unfollowed (43004 from now on)
POST /_fake/fail {"errcode", "count", "openid"?}  the next `count` send calls (to that member
                                             only, if given) answer errcode
POST /_fake/expire_tokens                    every issued token expires now (42001)
POST /_fake/hold {"after": N}                the platform hangs: sends after the N-th delivery
                                             wait (a worker can be killed mid-call)
GET  /_fake/held                             {"held": sends waiting, "delivered": count}
POST /_fake/release {"drop"?}                held sends go on; with drop they answer -1 and are
                                             never delivered (the connection was cut first)
GET  /_fake/messages?openid=&after=N         messages delivered to a member, after index N
"""
from __future__ import annotations

import json
import random
import secrets
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, jsonify, request
from werkzeug.serving import WSGIRequestHandler

ERRMSG = {0: "ok", -1: "system error", 40001: "invalid credential, access_token is invalid or "
          "not latest", 40003: "invalid openid", 40013: "invalid appid", 40037: "invalid "
          "template_id", 40125: "invalid appsecret", 41001: "access_token missing", 42001:
          "access_token expired", 40200: "invalid account type", 43004: "require subscribe", 44002: "empty post data", 45009:
          "reach max api daily quota limit", 45011: "api minute-quota reach limit, must slower",
          45015: "response out of time limit or subscription is canceled", 45047: "out of "
          "response count limit", 47001: "data format error"}
SEND_PATHS = ("/cgi-bin/message/custom/send", "/cgi-bin/message/template/send")
WINDOW = 48 * 3600


@dataclass
class State:
    appid: str
    secret: str
    window: bool = True  # enforce the 48-hour customer-service window
    latency: float = 0.0
    fail_rates: list = field(default_factory=list)  # [(errcode, probability)]
    rng: random.Random = field(default_factory=lambda: random.Random(20261121))
    tokens: dict = field(default_factory=dict)  # token -> (issued_at, expires_at, superseded_at)
    stable: str | None = None
    interactions: dict = field(default_factory=dict)
    unfollowed: set = field(default_factory=set)
    queued_failures: list = field(default_factory=list)
    delivered: list = field(default_factory=list)  # (openid, kind, body)
    record_path: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    record_lock: threading.Lock = field(default_factory=threading.Lock)
    msgid: int = 200228332
    # A platform that hangs: sends after the `hold_after`-th delivery wait for /_fake/release.
    hold_after: int | None = None
    held: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    drop_held: bool = False


def _issue(state: State, now: float) -> str:
    token = "FAKE" + secrets.token_hex(24)
    state.tokens[token] = [now, now + 7200, None]
    return token


def create_fake(appid: str, secret: str, record: str | None = None, latency_ms: int = 0,
                fail: list | None = None, enforce_window: bool = True) -> Flask:
    """The stand-in platform as a Flask app (serve it with serve() in a thread, or run())."""
    app = Flask("fakewechat")
    state = State(appid=appid, secret=secret, latency=latency_ms / 1000.0,
                  fail_rates=list(fail or []), record_path=record, window=enforce_window)
    app.config["FAKE_STATE"] = state

    def answer(errcode: int, body: dict | None = None, **extra):
        if state.record_path:
            line = {"path": request.path, "query": request.args.to_dict(), "body": body,
                    "errcode": errcode}
            with state.record_lock, open(state.record_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
        return jsonify({"errcode": errcode, "errmsg": ERRMSG.get(errcode, "error"), **extra})

    def credentials_error(given_appid, given_secret):
        if given_appid != state.appid:
            return 40013
        if given_secret != state.secret:
            return 40125
        return 0

    @app.before_request
    def _latency():
        if state.latency and not request.path.startswith("/_fake"):
            time.sleep(state.latency)

    @app.get("/cgi-bin/token")
    def token():
        args = request.args
        code = credentials_error(args.get("appid"), args.get("secret"))
        if code:
            return answer(code)
        now = time.time()
        with state.lock:
            for old in state.tokens.values():
                if old[2] is None:
                    old[2] = now  # superseded: still valid for 5 minutes
            new = _issue(state, now)
        resp = answer(0, access_token=new, expires_in=7200)
        return resp

    @app.post("/cgi-bin/stable_token")
    def stable_token():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return answer(47001, None)
        code = credentials_error(body.get("appid"), body.get("secret"))
        if code:
            return answer(code, body)
        now = time.time()
        with state.lock:
            current = state.tokens.get(state.stable) if state.stable else None
            # Like the platform: a new token in the last 5 minutes of the old one's life.
            if body.get("force_refresh") or current is None or current[1] - now < 300:
                state.stable = _issue(state, now)
            token_value = state.stable
            expires_in = int(state.tokens[token_value][1] - now)
        return answer(0, body, access_token=token_value, expires_in=expires_in)

    def token_error(now: float) -> int:
        given = request.args.get("access_token")
        if not given:
            return 41001
        info = state.tokens.get(given)
        if info is None:
            return 40001
        if info[1] <= now:
            return 42001
        if info[2] is not None and now - info[2] > 300:
            return 40001
        return 0

    def hold(body) -> bool:
        """Wait while sends are held; True if the held send is dropped (never delivered)."""
        with state.lock:
            holding = state.hold_after is not None and len(state.delivered) >= state.hold_after
            state.held += holding
        if not holding:
            return False
        state.release.wait(120)
        with state.lock:
            state.held -= 1
            return state.drop_held

    def send(kind: str):
        now = time.time()
        raw = request.get_data()
        if not raw:
            return answer(44002, None)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return answer(47001, None)
        code = token_error(now)
        if code:
            return answer(code, body)
        openid = body.get("touser") if isinstance(body, dict) else None
        if not openid or not isinstance(openid, str):
            return answer(40003, body)
        if hold(body):
            return answer(-1, body)
        with state.lock:
            for index, (errcode, target) in enumerate(state.queued_failures):
                if target in (None, openid):
                    state.queued_failures.pop(index)
                    return answer(errcode, body)
            for errcode, rate in state.fail_rates:
                if state.rng.random() < rate:
                    return answer(errcode, body)
            if openid in state.unfollowed:
                return answer(43004, body)
            if kind == "custom":
                last = state.interactions.get(openid)
                if state.window and (last is None or now - last > WINDOW):
                    return answer(45015, body)
                if not _custom_body_ok(body):
                    return answer(47001, body)
            else:
                if not body.get("template_id") or not isinstance(body.get("data"), dict):
                    return answer(40037, body)
            state.msgid += 1
            state.delivered.append({"openid": openid, "kind": kind, "body": body,
                                    "msgid": state.msgid})
            msgid = state.msgid
        if kind == "template":
            return answer(0, body, msgid=msgid)
        return answer(0, body)

    @app.post("/cgi-bin/message/custom/send")
    def custom_send():
        return send("custom")

    @app.post("/cgi-bin/message/template/send")
    def template_send():
        return send("template")

    @app.post("/_fake/interact")
    def interact():
        openid = (request.get_json(silent=True) or {}).get("openid")
        with state.lock:
            state.interactions[openid] = time.time()
            state.unfollowed.discard(openid)
        return jsonify({"ok": True})

    @app.post("/_fake/unfollow")
    def unfollow():
        with state.lock:
            state.unfollowed.add((request.get_json(silent=True) or {}).get("openid"))
        return jsonify({"ok": True})

    @app.post("/_fake/fail")
    def queue_failure():
        body = request.get_json(silent=True) or {}
        with state.lock:
            state.queued_failures.extend([(int(body["errcode"]), body.get("openid"))]
                                         * int(body.get("count", 1)))
        return jsonify({"ok": True})

    @app.post("/_fake/hold")
    def hold_sends():
        """From the `after`-th delivery on, sends hang until /_fake/release."""
        with state.lock:
            state.hold_after = int((request.get_json(silent=True) or {}).get("after", 0))
            state.drop_held = False
            state.release.clear()
        return jsonify({"ok": True})

    @app.get("/_fake/held")
    def held():
        with state.lock:
            return jsonify({"held": state.held, "delivered": len(state.delivered)})

    @app.post("/_fake/release")
    def release():
        """Let held sends go on; with drop, they are answered -1 and never delivered (the
        connection was cut before the platform took them)."""
        with state.lock:
            state.drop_held = bool((request.get_json(silent=True) or {}).get("drop"))
            state.hold_after = None
        state.release.set()
        return jsonify({"ok": True})

    @app.post("/_fake/expire_tokens")
    def expire_tokens():
        with state.lock:
            for info in state.tokens.values():
                info[1] = time.time() - 1
        return jsonify({"ok": True})

    @app.get("/_fake/messages")
    def messages():
        openid, after = request.args.get("openid"), int(request.args.get("after", 0))
        with state.lock:
            found = [m for m in state.delivered if openid is None or m["openid"] == openid]
        return jsonify({"messages": found[after:], "next": len(found)})

    return app


def _custom_body_ok(body: dict) -> bool:
    """A customer-service text, or a msgmenu: a head, 1 to 10 options with an id and the words
    shown (the platform's limits), a tail."""
    if body.get("msgtype") == "text":
        return bool((body.get("text") or {}).get("content"))
    if body.get("msgtype") != "msgmenu":
        return False
    menu = body.get("msgmenu") or {}
    options = menu.get("list")
    return isinstance(menu.get("head_content", ""), str) and \
        len(menu.get("head_content", "").encode()) <= 1024 and \
        isinstance(options, list) and 1 <= len(options) <= 10 and \
        all(isinstance(o, dict) and o.get("id") and o.get("content") and
            len(str(o["id"]).encode()) <= 64 for o in options)


def parse_fail(values) -> list[tuple[int, float]]:
    """--fail CODE:RATE options as [(errcode, probability)]."""
    out = []
    for value in values or ():
        code, _, rate = value.partition(":")
        out.append((int(code), float(rate or 1)))
    return out


class _Quiet(WSGIRequestHandler):
    """No line per request on stderr: the record file (--record) keeps every call; a fan-out's
    thousands of lines would cost the machine the benchmark measures."""

    def log_request(self, *args, **kwargs) -> None:
        return None


def serve(app: Flask, host: str, port: int):
    """A real threaded HTTP server for the fake; returns it (call .serve_forever / .shutdown)."""
    from werkzeug.serving import make_server

    return make_server(host, port, app, threaded=True, request_handler=_Quiet)


def run(app: Flask, host: str, port: int, threads: int = 64) -> None:
    """Serve the fake until SIGTERM/SIGINT, on gunicorn (one process, `threads` threads), which
    keeps connections open between calls as the platform does: werkzeug's server (serve(), for
    tests in a thread) closes each one, and a fan-out's client would then open a connection per
    send and a benchmark would measure connects, not sends."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            for key, value in {"bind": f"{host}:{port}", "workers": 1, "threads": threads,
                               "worker_class": "gthread", "keepalive": 30,
                               "accesslog": None, "loglevel": "warning"}.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    Server().run()
