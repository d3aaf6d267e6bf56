"""Keeping only what may be kept: the webhook's nonces, and personal information past its time."""
from __future__ import annotations

from bot import clock
from bot.jobs import with_app


@with_app
def prune_nonces() -> str:
    """Forget (timestamp, nonce) pairs the freshness check refuses anyway."""
    from bot.storage.engine import db
    from bot.wechat.webhook import prune_nonces as prune

    removed = prune(clock.now())
    db.session.commit()
    return f"pruned {removed}"


@with_app
def purge_expired() -> str:
    """Drop message texts and raw XML past RETENTION_DAYS; delete expired export files."""
    from bot.storage.engine import db
    from bot.storage.retention import purge

    counts = purge(clock.now())
    db.session.commit()
    return ", ".join(f"{name} {count}" for name, count in counts.items())
