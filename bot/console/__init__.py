"""The secretary's console: a few web pages for what is easier on a screen than in chat.

A leader sends 控制台 in chat and gets a one-time sign-in link (10 minutes); the session lasts
CONSOLE_SESSION_HOURS. Pages are scoped to the leader's own branch: the month's attendance
export, the quarter's check of 三会一课, and each meeting's record (type the content and
decisions; download the 记实表). Every download is logged. Words are in prompts/console/.
"""
from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from flask import (Blueprint, abort, current_app, redirect, render_template, request, send_file,
                   session, url_for)
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from jinja2 import FileSystemLoader
from redis.exceptions import RedisError

from bot import clock
from bot.meetings import compliance
from bot.config import secret
from bot.exports import attendance as export
from bot.exports import record as meeting_record
from bot.exports.links import ClockSigner, folder
from bot.meetings.rules import MEETING_KINDS
from bot.clock import parse_quarter, quarter_of
from bot.members.rules import is_leader
from bot.meetings import store as meeting_store
from bot.storage.engine import db
from bot.storage.models import Meeting, Member

bp = Blueprint("console", __name__, url_prefix="/console")
SALT = "zhibu-console-login"
LOGIN_MINUTES = 10


def init_app(app) -> None:
    """Templates from prompts/console; the session cookie's lifetime."""
    bp.jinja_loader = FileSystemLoader(str(Path(app.config["PROMPTS_DIR"]) / "console"))
    app.permanent_session_lifetime = timedelta(hours=app.config["CONSOLE_SESSION_HOURS"])
    app.register_blueprint(bp)


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret(current_app.config, "SECRET_KEY"), salt=SALT,
                                  signer=ClockSigner)


def login_link(member: Member) -> str:
    """A one-time sign-in link for a leader, valid LOGIN_MINUTES."""
    token = _signer().dumps({"member": member.id, "nonce": secrets.token_hex(8)})
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/console/login/{token}"


@bp.get("/login/<token>")
def login(token: str):
    try:
        data = _signer().loads(token, max_age=LOGIN_MINUTES * 60)
    except SignatureExpired:
        return render_template("message.html", key="expired"), 410
    except BadSignature:
        abort(404)
    redis = current_app.extensions["redis"]
    try:
        first_use = redis.set(f"zhibu:console:used:{data['nonce']}", "1", nx=True,
                              ex=LOGIN_MINUTES * 60 + 60)
    except RedisError:  # a one-time link cannot be checked: nobody signs in, politely
        return render_template("message.html", key="unavailable"), 503
    if not first_use:
        return render_template("message.html", key="used"), 410
    member = db.session.get(Member, data["member"])
    if member is None or not is_leader(member.roles):
        abort(403)
    session.clear()
    session.permanent = True
    session.update(member=member.id, csrf=secrets.token_hex(16))
    return redirect(url_for("console.home"))


def _leader() -> Member:
    member = db.session.get(Member, session.get("member") or 0)
    if member is None or not is_leader(member.roles):
        abort(401)
    return member


def _own_meeting(leader: Member, meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or meeting.branch_id != leader.branch_id:
        abort(404)
    return meeting


@bp.errorhandler(401)
def _signed_out(_):
    return render_template("message.html", key="signed_out"), 401


@bp.get("/")
def home():
    leader = _leader()
    here = clock.to_beijing(clock.now())
    month = request.args.get("month") or f"{here.year:04d}-{here.month:02d}"
    try:
        year, number = clock.parse_month(month)
    except ValueError:
        abort(400)
    found = meeting_store.in_range(*clock.month_bounds(year, number), leader.branch_id)
    quarter = f"{here.year}-Q{quarter_of(here.date())[1]}"
    return render_template("home.html", leader=leader, month=month, meetings=found,
                           kinds=MEETING_KINDS, quarter=quarter, to_beijing=clock.to_beijing)


@bp.get("/attendance.xlsx")
def attendance():
    leader = _leader()
    month = request.args.get("month", "")
    try:
        year, number = clock.parse_month(month)
    except ValueError:
        abort(400)
    log = export.save(leader.branch, year, number, clock.now(), f"member:{leader.id}",
                      "console")
    db.session.commit()
    path = Path(log.path)
    return send_file(path, as_attachment=True, download_name=path.name.split("-", 1)[1])


@bp.get("/compliance")
def compliance_page():
    leader = _leader()
    quarter = request.args.get("quarter", "")
    try:
        year, number = parse_quarter(quarter)
    except ValueError:
        abort(400)
    return render_template("compliance.html", leader=leader, quarter=quarter,
                           report=compliance.report_text(leader.branch, year, number))


@bp.route("/meetings/<int:meeting_id>", methods=["GET", "POST"])
def meeting_page(meeting_id: int):
    leader = _leader()
    meeting = _own_meeting(leader, meeting_id)
    saved = False
    if request.method == "POST":
        if request.form.get("csrf") != session.get("csrf"):
            abort(400)
        for name in ("host", "recorder", "content", "decisions"):
            setattr(meeting, name, (request.form.get(name) or "").strip() or None)
        meeting.updated_at = clock.now()
        db.session.commit()
        saved = True
    return render_template("meeting.html", leader=leader, meeting=meeting, saved=saved,
                           fields=meeting_record.fields(meeting), csrf=session["csrf"],
                           title=meeting_record.title(meeting),
                           warnings=meeting_record.warnings(meeting))


@bp.get("/meetings/<int:meeting_id>/record.<fmt>")
def record_file(meeting_id: int, fmt: str):
    leader = _leader()
    meeting = _own_meeting(leader, meeting_id)
    if fmt not in ("docx", "xlsx"):
        abort(404)
    path = folder() / f"record-{meeting.id}.{fmt}"
    meeting_record.save(meeting, path, f"member:{leader.id}", "console", clock.now())
    db.session.commit()
    return send_file(path, as_attachment=True,
                     download_name=f"{meeting_record.title(meeting)}.{fmt}")


@bp.get("/notices")
def notices_page():
    """The branch's notices, newest first, with their figures."""
    from bot.notices import store as notices

    leader = _leader()
    found = [notices.summary(n, names=0) for n in notices.listed(leader.branch_id, limit=30)]
    return render_template("notices.html", leader=leader, found=found,
                           describe=notices.describe)


@bp.get("/notices/<int:notice_id>")
def notice_page(notice_id: int):
    """One notice, every name: acknowledged, not yet, not reached and why."""
    from bot.notices import store as notices

    leader = _leader()
    notice = notices.find(leader.branch_id, notice_id)
    if notice is None:
        abort(404)
    return render_template("notice_detail.html", leader=leader, item=notices.status(notice),
                           info=notices.describe(notice))
