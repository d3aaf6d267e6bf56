"""RQ jobs: plain importable functions that receive ids, never ORM objects.

The Flask app is built lazily, once per worker process, on the first job (not at import).
"""
from __future__ import annotations

import functools

_app = None


def app():
    """The worker process's app (created on first use).

    Built in the worker's parent process (see bot/jobs/rq_settings.py), it is inherited by every
    job's forked work-horse; each child drops the inherited database pools so no connection is
    ever shared across processes.
    """
    global _app
    if _app is None:
        import os

        from bot import create_app

        _app = create_app({"PRELOAD_INTENTS": False}, serving=True)
        _preload()
        os.register_at_fork(after_in_child=_fresh_pools)
    return _app


def _preload() -> None:
    """Import what jobs use, once, in the worker's parent: each job runs in a fresh fork, which
    would otherwise import it all again (a fan-out's send jobs lost ~0.7 s each to that)."""
    import importlib

    for name in ("bot.jobs.digest", "bot.jobs.exports", "bot.jobs.housekeeping",
                 "bot.jobs.meetings", "bot.jobs.notices", "bot.jobs.platform",
                 "bot.meetings.reminders", "bot.notices.page", "bot.notices.sending",
                 "bot.digest", "bot.wechat.fanout", "wechatpy.client.api.message"):
        importlib.import_module(name)


def _fresh_pools() -> None:
    from bot.storage.engine import db

    with _app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def with_app(fn):
    """Run a job inside the app context, releasing the database session afterwards."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from flask import has_app_context

        if has_app_context():  # called in-process (tests, CLI): reuse the caller's app
            return fn(*args, **kwargs)
        with app().app_context():
            try:
                return fn(*args, **kwargs)
            finally:
                from bot.storage.engine import db

                db.session.remove()
    return wrapper
