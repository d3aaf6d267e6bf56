"""The page a template message links to: the whole notice, and a 收到 button.

Outside the 48-hour window a member gets a template message, which holds only the first
words; its link opens this page. The link is signed for one member and one notice (valid
NOTICE_LINK_DAYS) and is their only key: the button posts back to the same address, so a
link preview or a prefetch (a GET) never acknowledges anything. Words are in prompts/pages/.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from jinja2 import FileSystemLoader

from bot import clock
from bot.config import secret
from bot.exports.links import ClockSigner
from bot.notices import store
from bot.replies import when
from bot.storage.engine import db
from bot.storage.models import Member, Notice, NoticeRecipient

bp = Blueprint("notice_page", __name__)
SALT = "zhibu-notice-page"


def init_app(app) -> None:
    """Templates from prompts/pages."""
    bp.jinja_loader = FileSystemLoader(str(Path(app.config["PROMPTS_DIR"]) / "pages"))
    app.register_blueprint(bp)


_signers: dict[str, URLSafeTimedSerializer] = {}


def _signer() -> URLSafeTimedSerializer:
    """The page's serializer (kept: a fan-out signs thousands of links)."""
    key = secret(current_app.config, "SECRET_KEY")
    if key not in _signers:
        _signers[key] = URLSafeTimedSerializer(key, salt=SALT, signer=ClockSigner)
    return _signers[key]


def link_for(notice_id: int, member_id: int) -> str:
    """The member's own address of the notice's page."""
    token = _signer().dumps({"n": notice_id, "m": member_id})
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/notice/{token}"


def _opened(token: str):
    """(notice, member, their recipient row), or an error page to answer with."""
    try:
        data = _signer().loads(token, max_age=current_app.config["NOTICE_LINK_DAYS"] * 86400)
    except SignatureExpired:
        return None, (render_template("notice.html", state="expired"), 410)
    except BadSignature:
        abort(404)
    notice, member = db.session.get(Notice, data.get("n")), db.session.get(Member, data.get("m"))
    row = db.session.query(NoticeRecipient).filter_by(
        notice_id=data.get("n"), member_id=data.get("m")).one_or_none()
    if notice is None or member is None or row is None:
        abort(404)
    return (notice, member, row), None


@bp.get("/notice/<token>")
def show(token: str):
    found, error = _opened(token)
    if error:
        return error
    notice, member, row = found
    return render_template("notice.html", state="acked" if row.acked_at else "open",
                           notice=notice, member=member, sent=when(notice.send_at),
                           acked=when(row.acked_at) if row.acked_at else None,
                           sender=notice.sender.name if notice.sender else None,
                           branch=notice.branch.name, token=token)


@bp.post("/notice/<token>")
def acknowledge(token: str):
    found, error = _opened(token)
    if error:
        return error
    notice, member, row = found
    if row.acked_at is None:
        store.acknowledge(member, notice, "page", clock.now())
        db.session.commit()
    return redirect(request.path, code=303)
