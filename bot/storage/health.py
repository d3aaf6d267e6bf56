"""/healthz: is the database reachable, is Redis reachable."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from bot.storage import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """{"status": "ok"|"degraded", "database": "ok"|error, "redis": "ok"|error}; 503 if degraded."""
    report = {}
    try:
        db.session.execute(text("SELECT 1"))
        report["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure is a health finding, not a crash
        db.session.rollback()
        report["database"] = f"error: {type(exc).__name__}"
    try:
        current_app.extensions["redis"].ping()
        report["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        report["redis"] = f"error: {type(exc).__name__}"
    healthy = report["database"] == "ok" and report["redis"] == "ok"
    report["status"] = "ok" if healthy else "degraded"
    return jsonify(report), 200 if healthy else 503
