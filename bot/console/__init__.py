"""The secretary's console: a few web pages for what is easier on a screen than in chat.

A leader sends 控制台 in chat and gets a one-time sign-in link (10 minutes), or signs in with a
password where a computer has no WeChat (bot/console/access.py); the session lasts
CONSOLE_SESSION_HOURS by the app's clock and every request checks the roles again. Every form
carries a CSRF token (Flask-WTF). Pages are scoped to the leader's own branch: the month's attendance
export, the quarter's check of 三会一课, and each meeting's record (type the content and
decisions; download the 记实表). Every download is logged. Words are in prompts/console/.
"""
from __future__ import annotations

import secrets
from datetime import date, timedelta
from pathlib import Path

from flask import (Blueprint, abort, current_app, g, redirect, render_template, request, send_file,
                   session, url_for)
from flask_wtf.csrf import CSRFError, CSRFProtect
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from jinja2 import FileSystemLoader
from redis.exceptions import RedisError

from bot import clock
from bot.console import access
from bot.meetings import compliance
from bot.meetings.attendance import label as meeting_label
from bot.config import secret
from bot.exports import attendance as export
from bot.exports import record as meeting_record
from bot.exports.links import (ClockSigner, folder, inside_wechat, link_for, open_in_browser,
                               shown_name)
from bot.meetings.rules import MEETING_KINDS
from bot.clock import parse_quarter, quarter_of
from bot.members.rules import console_scope, is_leader
from bot.meetings import store as meeting_store
from bot.replies import render
from bot.storage.engine import db
from bot.storage.models import Meeting, Member

bp = Blueprint("console", __name__, url_prefix="/console")
SALT = "zhibu-console-login"
LOGIN_MINUTES = 10
csrf = CSRFProtect()


def init_app(app) -> None:
    """Templates from prompts/console; the session cookie's lifetime; CSRF on the console's
    forms (checked in _protect, not app-wide: the webhook is signed, not a form)."""
    bp.jinja_loader = FileSystemLoader(str(Path(app.config["PROMPTS_DIR"]) / "console"))
    app.permanent_session_lifetime = timedelta(hours=app.config["CONSOLE_SESSION_HOURS"])
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", app.config["CONSOLE_SESSION_HOURS"] * 3600)
    csrf.init_app(app)
    app.register_blueprint(bp)


@bp.before_request
def _protect():
    # Flask-WTF keeps the request's token in g; where requests share one app context (a test
    # client inside an app context) g outlives the request, and another session's token with it
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    csrf.protect()  # every POST of the console carries the session's token


@bp.errorhandler(CSRFError)
def _forged(_):
    return render_template("message.html", key="csrf"), 400


def _start_session(member: Member, how: str) -> None:
    session.clear()
    session.permanent = True
    session.update(member=member.id, signed_in_at=clock.now().isoformat(), via=how)


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
    if member is None or access.scope(member, clock.now()) is None:
        abort(403)
    _start_session(member, "link")
    return redirect(url_for("console.home"))


@bp.route("/sign-in", methods=["GET", "POST"])
def password_sign_in():
    """姓名 is not enough to know who: the phone number and the password set by add-user."""
    problem = None
    if request.method == "POST":
        try:
            member = access.sign_in(request.form.get("phone", ""),
                                    request.form.get("password", ""), clock.now())
        except access.Refused as exc:
            db.session.commit()  # (a rehash or nothing)
            problem = render(exc.args[0], **exc.args[1])
        except RedisError:
            return render_template("message.html", key="unavailable"), 503
        else:
            db.session.commit()
            _start_session(member, "password")
            return redirect(url_for("console.home"))
    return render_template("sign_in.html", problem=problem), 401 if problem else 200


@bp.post("/sign-out")
def sign_out():
    session.clear()
    return render_template("message.html", key="signed_out_now")


def _leader(group_ok: bool = False, change: bool = False) -> Member:
    """The signed-in member, still one the console serves, within the session's hours (else
    401). A page is branch-wide (书记, 副书记, 委员) unless `group_ok` (a 党小组长 sees it for
    their group); `change`: only the branch's leaders (书记, 副书记, 组织委员) — else 403."""
    member = db.session.get(Member, session.get("member") or 0)
    scope = access.scope(member, clock.now()) if member is not None else None
    if scope is None or not access.session_valid(session.get("signed_in_at"), clock.now()):
        session.clear()
        abort(401)
    if (scope == "group" and not group_ok) or (change and not is_leader(member.roles)):
        abort(403)
    return member


def _month_arg() -> tuple[str, int, int]:
    """The page's month (?month=YYYY-MM, else this month in Beijing): key, year, month; 400
    when it is not a month."""
    month = request.values.get("month") or clock.month_of(clock.now())
    try:
        year, number = clock.parse_month(month)
    except ValueError:
        abort(400)
    return month, year, number


def _group_only(member: Member) -> int | None:
    """The group a 党小组长 sees (None: the whole branch)."""
    return member.group_id if console_scope(member.roles) == "group" else None


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
    leader = _leader(group_ok=True)
    month, year, number = _month_arg()
    found = meeting_store.in_range(*clock.month_bounds(year, number), leader.branch_id)
    today = clock.to_beijing(clock.now()).date()
    quarter = "{}-Q{}".format(*quarter_of(today))
    values = {"leader": leader, "month": month, "kinds": MEETING_KINDS, "quarter": quarter,
              "to_beijing": clock.to_beijing, "branch_wide": _group_only(leader) is None,
              "may_change": is_leader(leader.roles)}
    if not values["branch_wide"]:  # a 党小组长: the meetings of their group, and their pages
        found = [m for m in found if meeting_store.is_due(m, leader)]
        return render_template("home.html", meetings=found, sections={}, **values,
                               answers=meeting_store.answer_counts([m.id for m in found]))
    from bot import digest
    from bot.meetings import attendance as meeting_attendance
    from bot.replies import load

    items = digest.collect(leader.branch, clock.now())
    sections: dict[str, list[str]] = {}
    for item in items:
        sections.setdefault(item.section, []).append(item.text)
    return render_template("home.html", meetings=found, **values,
                           sections=sections, section_names=load("replies")["digest"]["names"],
                           rates=meeting_attendance.rates_by_month(leader.branch, clock.now()),
                           quarters=compliance.by_quarter(leader.branch, clock.now()),
                           answers=meeting_store.answer_counts([m.id for m in found]),
                           pending=len(meeting_store.pending_leave(leader.branch_id)))


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
    if inside_wechat():  # a signed link, valid without the console's session
        return open_in_browser(link_for(log), shown_name(path))
    return send_file(path, as_attachment=True, download_name=shown_name(path))


@bp.get("/papers")
def papers_page():
    """材料: what a branch hands in for a month, to download — the attendance workbook, each
    held meeting's 记实表, and the month's quarter's 三会一课 check."""
    leader = _leader()
    month, year, number = _month_arg()
    held = [m for m in meeting_store.in_range(*clock.month_bounds(year, number),
                                              leader.branch_id) if m.status == "closed"]
    this_month = clock.month_of(clock.now())
    return render_template("papers.html", leader=leader, month=month, meetings=held,
                           kinds=MEETING_KINDS, to_beijing=clock.to_beijing,
                           quarter="{}-Q{}".format(*quarter_of(clock.month_bounds(
                               year, number)[0].date())),
                           months=[clock.add_months(this_month, -back) for back in range(6)])


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
    leader = _leader(change=request.method == "POST")
    meeting = _own_meeting(leader, meeting_id)
    saved = False
    if request.method == "POST":
        from bot.members import changes

        before, after = {}, {}
        for name in ("host", "recorder", "content", "decisions"):
            value = (request.form.get(name) or "").strip() or None
            if value != getattr(meeting, name):
                before[name], after[name] = getattr(meeting, name), value
                setattr(meeting, name, value)
        if after:
            meeting.updated_at = clock.now()
            changes.log(leader.branch_id, leader, "meeting_record", f"meeting:{meeting.id}",
                        {"before": before, "after": after}, clock.now())
        db.session.commit()
        saved = True
    return render_template("meeting.html", leader=leader, meeting=meeting, saved=saved,
                           fields=meeting_record.fields(meeting),
                           title=meeting_record.title(meeting),
                           warnings=meeting_record.warnings(meeting))


@bp.route("/meetings/new", methods=["GET", "POST"])
def meeting_new():
    """Add a meeting (an extra one, or one already held, entered afterwards: 补录) with the CLI's
    checks; members hear of it as of any planned meeting (its reminders, 下次开会是什么时候)."""
    from bot.meetings import planning
    from bot.members import changes
    from bot.members.store import party_groups

    leader = _leader(change=True)
    groups = party_groups(leader.branch_id)
    form, said, problem = request.form, None, None
    if request.method == "POST":
        kind, held = form.get("kind", ""), form.get("held") == "1"
        group = next((g for g in groups if str(g.id) == form.get("group")), None)
        place = (form.get("place") or "").strip()[:200] or None
        topic = (form.get("topic") or "").strip()[:500] or None
        now = clock.now()
        try:
            starts_at = _form_time(form.get("starts_at") or "")
            meeting = planning.add_entered(leader.branch, kind, starts_at, now, group=group,
                                           place=place, topic=topic, held=held)
        except ValueError as exc:  # a time that is not one, or planning.AddRefused
            why, values = exc.args if isinstance(exc, planning.AddRefused) else ("bad_at", {})
            problem = render(f"console.add_{why}", **values)
        else:
            changes.log(leader.branch_id, leader, "meeting_add", f"meeting:{meeting.id}",
                        {"kind": kind, "starts_at": starts_at.isoformat(), "held": held}, now)
            db.session.commit()
            said = render("console.added_held" if held else "console.added",
                          meeting=meeting_label(meeting), code=meeting.checkin_code)
            form = {}
    return render_template("meeting_new.html", leader=leader, kinds=MEETING_KINDS,
                           groups=groups, form=form, said=said, problem=problem)


@bp.route("/meetings/<int:meeting_id>/change", methods=["GET", "POST"])
def meeting_change(meeting_id: int):
    """Move a meeting (time, place, topic) or cancel it; members already told are told, as when
    the secretary writes 改期 / 取消 in chat."""
    from bot.meetings import planning
    from bot.members import changes

    leader = _leader(change=True)
    meeting = _own_meeting(leader, meeting_id)
    said, problem = None, None
    if request.method == "POST":
        now = clock.now()
        try:
            if request.form.get("action") == "cancel":
                reason = (request.form.get("reason") or "").strip()[:200] or None
                told = planning.cancel(meeting, now, reason=reason)
                key = "change.cancelled_cli"
            else:
                at = (request.form.get("starts_at") or "").strip()
                starts_at = None
                if at:
                    try:
                        starts_at = _form_time(at)
                    except ValueError:
                        abort(400)
                place = (request.form.get("place") or "").strip()[:200] or None
                topic = (request.form.get("topic") or "").strip()[:500] or None
                before = {"starts_at": meeting.starts_at.isoformat(), "place": meeting.place,
                          "topic": meeting.topic}
                told = planning.move(meeting, now, starts_at=starts_at, place=place,
                                     topic=topic)
                key = "change.moved_cli"
        except planning.ChangeRefused as exc:
            db.session.rollback()
            meeting = _own_meeting(leader, meeting_id)
            problem = render(exc.args[0], **exc.args[1])
        else:
            changes.log(leader.branch_id, leader, "meeting_" + (
                "cancel" if key == "change.cancelled_cli" else "move"), f"meeting:{meeting.id}",
                {} if key == "change.cancelled_cli" else {"before": before}, now)
            db.session.commit()
            said = render(key, meeting=meeting_label(meeting), id=meeting.id, told=told)
    local = clock.to_beijing(meeting.starts_at)
    return render_template("meeting_change.html", leader=leader, meeting=meeting, said=said,
                           problem=problem, label=meeting_label(meeting),
                           starts_at=local.strftime("%Y-%m-%dT%H:%M"))


@bp.get("/meetings/<int:meeting_id>/record.<fmt>")
def record_file(meeting_id: int, fmt: str):
    leader = _leader()
    meeting = _own_meeting(leader, meeting_id)
    if fmt not in ("docx", "xlsx"):
        abort(404)
    path = folder() / f"record-{meeting.id}.{fmt}"
    log = meeting_record.save(meeting, path, f"member:{leader.id}", "console", clock.now())
    db.session.commit()
    name = f"{meeting_record.title(meeting)}.{fmt}"
    if inside_wechat():  # a signed link, valid without the console's session
        return open_in_browser(link_for(log), name)
    return send_file(path, as_attachment=True, download_name=name)


@bp.route("/leave", methods=["GET", "POST"])
def leave_page():
    """待批请假: every request waiting, with 批准 / 不批准 (the member is told, as in chat)."""
    from bot.meetings import attendance

    leader = _leader(change=True)
    said = []
    if request.method == "POST":
        try:
            number = int(request.form.get("number", ""))
        except ValueError:
            abort(400)
        decision = request.form.get("decision")
        if decision not in ("approve", "deny"):
            abort(400)
        from bot.members import changes

        outcomes = attendance.decide(leader, [number], decision == "approve", clock.now())
        said = [o.render() for o in outcomes]
        if any(o.key == "leave.decided" for o in outcomes):
            changes.log(leader.branch_id, leader, f"leave_{decision}", f"leave:{number}", {},
                        clock.now())
        db.session.commit()
    found = meeting_store.pending_leave(leader.branch_id)
    return render_template("leave.html", leader=leader, found=found, said=said,
                           label=attendance.label, to_beijing=clock.to_beijing)


@bp.post("/roster/import")
def roster_import():
    """A roster file from the page: checked as the CLI checks it, only this branch's rows; the
    good rows are imported and each bad row is listed with its reason."""
    import tempfile

    from bot.members import roster
    from bot.storage.models import ExportLog

    leader = _leader(change=True)
    upload = request.files.get("file")
    suffix = Path(upload.filename or "").suffix.lower() if upload else ""
    result = {"refused": None, "report": None}
    if not upload or suffix not in (".csv", ".xlsx", ".xlsm", ".txt"):
        result["refused"] = render("roster.unsupported_type", suffix=suffix or "—")
    else:
        with tempfile.TemporaryDirectory() as folder_:
            path = Path(folder_) / f"roster{suffix}"
            upload.save(path)
            try:
                report = roster.import_file(path, clock.now(),
                                            current_app.config["COMMITTEE_NAME"],
                                            only_branch=leader.branch, by=leader)
            except roster.NotARoster as exc:
                db.session.rollback()
                result["refused"] = str(exc)
            else:
                db.session.add(ExportLog(
                    kind="roster_import", branch_id=leader.branch_id,
                    period=clock.to_beijing(clock.now()).strftime("%Y-%m"),
                    options={"created": report.created, "updated": report.updated,
                             "errors": len(report.errors)},
                    exported_by=f"member:{leader.id}", created_at=clock.now()))
                db.session.commit()
                result["report"] = report
    return render_template("roster_import.html", leader=leader, **result)


def _own_member(leader: Member, member_id: int) -> Member:
    """A member of the leader's branch (of their group, for a 党小组长); else 404."""
    member = db.session.get(Member, member_id)
    group = _group_only(leader)
    if member is None or member.branch_id != leader.branch_id or \
            (group is not None and member.group_id != group):
        abort(404)
    return member


@bp.route("/roster/<int:member_id>", methods=["GET", "POST"])
def member_page(member_id: int):
    """One member: edit the roster's fields (a new phone unbinds their WeChat and gives them a
    new invite); unbind when they changed WeChat. Every change kept with who made it."""
    from bot.members import changes
    from bot.members import rules as org

    leader = _leader(group_ok=True, change=request.method == "POST")
    member = _own_member(leader, member_id)
    said, problem, invite = None, None, None
    if request.method == "POST":
        ttl = current_app.config["INVITE_TTL_DAYS"]
        if request.form.get("action") == "unbind":
            invite = changes.unbind(member, leader, clock.now(), ttl)
            db.session.commit()
            said = render("members.unbound", name=member.name, code=invite.code)
        elif request.form.get("action") in ("leave", "undo_leave"):
            said, problem = _leave(leader, member)
            member = _own_member(leader, member_id)
        else:
            form = {key: request.form.get(key, "") for key in (
                "name", "phone", "group", "status", "dues_category", "dues_base")}
            form["roles"] = request.form.getlist("roles")
            try:
                changed = changes.edit(member, form, leader, clock.now(), ttl)
            except changes.Refused as exc:
                db.session.rollback()
                member = _own_member(leader, member_id)
                problem = render(exc.args[0], **exc.args[1])
            else:
                db.session.commit()
                said = render("members.saved", fields="、".join(
                    changes.FIELD_LABELS[key] for key in changed)) if changed else \
                    render("members.nothing")
                if "phone" in changed:
                    from bot.members import store as members

                    said += render("members.phone_unbound", code=members.invite_code_for(
                        member, clock.now(), ttl).code)
                    db.session.commit()
    groups = sorted(g.name for g in leader.branch.groups)
    return render_template("member_edit.html", leader=leader, member=member, said=said,
                           today=clock.to_beijing(clock.now()).date().isoformat(),
                           may_change=is_leader(leader.roles),
                           problem=problem, groups=groups, statuses=org.STATUS_LABELS,
                           roles=org.ROLE_LABELS, categories=org.DUES_CATEGORY_LABELS)


def _leave(leader: Member, member: Member) -> tuple[str | None, str | None]:
    """The member page's 转出 (a day, where to) or 撤销转出: (said, problem); committed or
    rolled back."""
    from bot.members import changes

    if request.form.get("action") == "undo_leave":
        done = changes.undo_leave(member, leader, clock.now())
        db.session.commit()
        return render("members.leave_undone" if done else "members.leave_not_marked",
                      name=member.name), None
    text = (request.form.get("left_on") or "").strip()
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        return None, render("members.leave_bad_day", day=text[:20])
    to = request.form.get("left_to") or ""
    try:
        changes.leave(member, day, to, leader, clock.now())
    except changes.Refused as exc:
        db.session.rollback()
        return None, render(exc.args[0], **exc.args[1])
    db.session.commit()
    return render("members.left", name=member.name, day=day.isoformat(), to=render(
        "members.left_to", to=member.left_to) if member.left_to else ""), None


@bp.route("/roster/<int:member_id>/behalf", methods=["GET", "POST"])
def behalf_page(member_id: int):
    """代登记: a member without WeChat (often the eldest) has their 参加, 请假 or study
    entered by the leader, exactly as their own would be, marked as entered on their behalf."""
    from bot.meetings import attendance as meeting_attendance
    from bot.members import changes
    from bot.study import checkins

    leader = _leader(group_ok=True)
    member = _own_member(leader, member_id)
    now = clock.now()
    said = problem = None
    if request.method == "POST":
        what = request.form.get("what")
        if what in ("yes", "leave"):
            meeting = _own_meeting(leader, int(request.form.get("meeting") or 0))
            reason = (request.form.get("reason") or "").strip()[:200] or None
            if what == "leave" and not reason:
                problem = render("behalf.need_reason")
                outcome = None
            else:
                outcome = meeting_attendance.on_behalf(
                    member, meeting, what, reason, leader, now,
                    approve=bool(request.form.get("approve")))
        elif what == "study":
            try:
                minutes = int(request.form.get("minutes") or 0) or None
            except ValueError:
                abort(400)
            day = request.form.get("day") or None
            slots = {"date": day, "material": (request.form.get("material") or "").strip()[:200]
                     or None, "duration": {"minutes": minutes} if minutes else None,
                     "reflection": (request.form.get("reflection") or "").strip() or None}
            outcome = checkins.on_behalf(member, slots, leader, now)
        else:
            abort(400)
        if outcome is not None and outcome.key.startswith("behalf."):
            changes.log(leader.branch_id, leader, f"behalf_{what}", f"member:{member.id}", {}, now)
            db.session.commit()
            said = outcome.render()
        elif outcome is not None:
            db.session.rollback()
            member = _own_member(leader, member_id)
            problem = outcome.render()
    today = clock.to_beijing(now).date()
    return render_template("behalf.html", leader=leader, member=member, said=said,
                           may_approve=is_leader(leader.roles),
                           problem=problem, label=meeting_label,
                           coming=meeting_store.upcoming_for(member, now, limit=10),
                           today=today.isoformat(),
                           yesterday=(today - timedelta(days=1)).isoformat())


@bp.route("/dues", methods=["GET", "POST"])
def dues_page():
    """党费: the month's ledger (due, paid, how, arrears), who has not paid, and recording a
    payment — only for those the branch lets see dues (书记, 组织委员 by default)."""
    from decimal import Decimal, InvalidOperation

    from bot.dues import ledger
    from bot.dues.payments import METHOD_LABELS

    leader = _leader()
    if not ledger.may_see_ledger(leader):
        abort(403)
    month, _, _ = _month_arg()
    said = problem = None
    if request.method == "POST":
        member = _own_member(leader, int(request.form.get("member") or 0))
        method = request.form.get("method") or ""
        try:
            amount = Decimal(request.form.get("amount") or "")
            paid_on = date.fromisoformat(request.form.get("paid_on") or "")
        except (InvalidOperation, ValueError):
            abort(400)
        if method not in METHOD_LABELS:
            abort(400)
        outcome = ledger.record(member, [month], amount, method, paid_on,
                                f"member:{leader.id}", clock.now())
        if outcome.key.startswith("dues.recorded"):
            db.session.commit()
            said = outcome.render()
        else:
            db.session.rollback()
            problem = outcome.render()
    rows = ledger.ledger_of_members(leader.branch_id, month)
    return render_template("dues.html", leader=leader, month=month, rows=rows, said=said,
                           problem=problem, methods=METHOD_LABELS,
                           unpaid=[m for m, r in rows if r["due"] and not r["paid"]],
                           today=clock.to_beijing(clock.now()).date().isoformat())


@bp.post("/dues/import")
def dues_import():
    """A payment sheet from the page (姓名, 月份, 金额 …), checked as `dues import` checks it:
    every row recorded, or none and each bad row listed; only this branch's members."""
    import tempfile

    from bot.dues import ledger
    from bot.dues.sheet import import_payments
    from bot.members.roster import NotARoster

    leader = _leader()
    if not ledger.may_see_ledger(leader):
        abort(403)
    upload = request.files.get("file")
    suffix = Path(upload.filename or "").suffix.lower() if upload else ""
    result = {"refused": None, "report": None}
    if not upload or suffix not in (".csv", ".xlsx", ".xlsm", ".txt"):
        result["refused"] = render("roster.unsupported_type", suffix=suffix or "—")
    else:
        with tempfile.TemporaryDirectory() as folder_:
            path = Path(folder_) / f"dues{suffix}"
            upload.save(path)
            try:
                report = import_payments(path, clock.now(), f"member:{leader.id}",
                                         branch=leader.branch)
            except NotARoster as exc:
                db.session.rollback()
                result["refused"] = str(exc)
            else:
                if not report.errors:
                    from bot.members import changes

                    changes.log(leader.branch_id, leader, "dues_import", None,
                                {"rows": report.applied, "total": str(report.total)},
                                clock.now())
                db.session.commit()
                result["report"] = report
    return render_template("dues_import.html", leader=leader, **result)


@bp.get("/attendance")
def attendance_page():
    """考勤: the month's member × meeting matrix; each cell opens its audit trail and 补登."""
    from bot.meetings import attendance as meeting_attendance
    from bot.meetings.rules import SHOWN_LABELS

    leader = _leader(group_ok=True)
    month, year, number = _month_arg()
    matrix = meeting_attendance.month_matrix(leader.branch, year, number,
                                             group_id=_group_only(leader))
    # each cell ready to print (code, words, link): 6,000 of them for 500 members and 12
    # meetings, so the template only writes them out
    base = url_for("console.home")
    from bot.replies import load

    printed = load("exports")["attendance"]  # the words the workbook prints
    words = {**SHOWN_LABELS, "open": printed["open"], "not_due": printed["not_due"]}
    rows = [(member, [(code, words[code], None if code == "not_due" else
                       f"{base}attendance/{meeting.id}/{member.id}")
                      for meeting, code in zip(matrix.meetings, cells)])
            for member, cells in zip(matrix.members, matrix.cells)]
    return render_template("attendance.html", leader=leader, month=month, matrix=matrix,
                           rows=rows, kinds=MEETING_KINDS, to_beijing=clock.to_beijing)


@bp.route("/attendance/<int:meeting_id>/<int:member_id>", methods=["GET", "POST"])
def attendance_cell(meeting_id: int, member_id: int):
    """One member at one meeting: the status, every change with who made it and why, and 补登
    (a status by hand, with a reason) once the meeting has begun."""
    from bot.meetings import attendance as meeting_attendance
    from bot.meetings import rules as meeting_rules

    leader = _leader(group_ok=True, change=request.method == "POST")
    meeting = _own_meeting(leader, meeting_id)
    member = _own_member(leader, member_id)
    if not meeting_store.is_due(meeting, member):
        abort(404)
    said = problem = None
    if request.method == "POST":
        status = request.form.get("status") or ""
        reason = (request.form.get("reason") or "").strip()[:500]
        if status not in meeting_rules.STATUS_LABELS:
            abort(400)
        if meeting.starts_at > clock.now():
            problem = render("attendance.mark_too_early", meeting=meeting_label(meeting))
        elif not reason:
            problem = render("attendance.need_reason_form")
        else:
            old = meeting_attendance.mark(meeting, member, status, reason,
                                          f"member:{leader.id}", clock.now())
            db.session.commit()
            labels = meeting_rules.SHOWN_LABELS
            said = render("attendance.marked", name=member.name, meeting=meeting_label(meeting),
                          old=labels.get(old, "—"), new=labels[status], reason=reason)
    row = meeting_attendance.row_of(meeting, member)
    status = meeting_rules.cell(meeting, True, meeting_store.counted(meeting),
                                row.attendance if row else None)
    changes = meeting_attendance.trail(meeting, member)
    who = {c.changed_by: _by_name(c.changed_by) for c in changes}
    return render_template("attendance_cell.html", leader=leader, meeting=meeting,
                           may_change=is_leader(leader.roles),
                           member=member, label=meeting_label(meeting), status=status,
                           labels=meeting_rules.SHOWN_LABELS, statuses=meeting_rules.STATUS_LABELS,
                           changes=changes, who=who, said=said, problem=problem, row=row,
                           to_beijing=clock.to_beijing)


def _by_name(by: str) -> str:
    """member:12 → the member's name; system / cli as they are said."""
    if by.startswith("member:"):
        found = db.session.get(Member, int(by.split(":", 1)[1]))
        return found.name if found else by
    return render(f"attendance.by_{by}") if by in ("system", "cli") else by


@bp.get("/study")
def study_page():
    """学习: each member's check-ins of the month — days, minutes, what and the 心得 — with the
    ones entered on a member's behalf marked; no ranking (domain: study is not a contest)."""
    from bot.members import store as members
    from bot.study import store as study

    leader = _leader(group_ok=True)
    month, year, number = _month_arg()
    start, end = (moment.date() for moment in clock.month_bounds(year, number))
    records: dict[int, list] = {}
    for member, record in study.branch_month(leader.branch_id, start, end):
        records.setdefault(member.id, []).append(record)
    people = [(m, records.get(m.id, [])) for m in members.roster(
        leader.branch_id, start, group_id=_group_only(leader), last=end - timedelta(days=1))]
    names = {m.id: m.name for m, _ in people}
    return render_template("study.html", leader=leader, month=month, people=people,
                           names=names)


@bp.route("/floating", methods=["GET", "POST"])
def floating_page():
    """流动党员: where each is, since when, the last report and contact, overdue or not; a
    contact logged here goes into the ledger (一人一台帐) as from chat."""
    from bot.floating import reports as floating

    leader = _leader(change=request.method == "POST")
    said = problem = None
    if request.method == "POST":
        member = _own_member(leader, int(request.form.get("member") or 0))
        try:
            on = date.fromisoformat(request.form.get("on") or "")
        except ValueError:
            abort(400)
        if on > clock.to_beijing(clock.now()).date():
            problem = render("floating.contact_future")
        else:
            outcome = floating.log_contact(member, (request.form.get("note") or "").strip()
                                           [:500] or None, on, f"member:{leader.id}", clock.now())
            db.session.commit()
            said = outcome.render()
    rows = floating.overview_of_members(leader.branch_id, clock.now())
    return render_template("floating.html", leader=leader, rows=rows, said=said,
                           problem=problem, today=clock.to_beijing(clock.now()).date().isoformat())


@bp.get("/roster")
def roster_page():
    """名册: the branch's members — status, group, roles, dues category, WeChat bound or not,
    floating or not — searchable by name; `?left=1`: those who left (已转出), with the day."""
    from bot.members import rules as org
    from bot.members import store as members

    leader = _leader(group_ok=True)
    search = request.args.get("q", "")[:50]
    left = request.args.get("left") == "1"
    found = members.roster(leader.branch_id, clock.to_beijing(clock.now()).date(), search,
                           group_id=_group_only(leader), left=left)
    return render_template("roster.html", leader=leader, found=found, search=search, left=left,
                           may_change=is_leader(leader.roles),
                           statuses=org.STATUS_LABELS, roles=org.ROLE_LABELS,
                           categories=org.DUES_CATEGORY_LABELS)


@bp.get("/roster/invites")
def invites_page():
    """A printable sheet of invite codes for the members not bound yet (each a live code, or a
    new one); printing it is logged like an export."""
    from bot.members import store as members
    from bot.storage.models import ExportLog

    leader = _leader(group_ok=True)
    now = clock.now()
    ttl = current_app.config["INVITE_TTL_DAYS"]
    group = _group_only(leader)
    found = [(m, members.invite_code_for(m, now, ttl)) for m in
             members.unbound_members(clock.to_beijing(now).date(), leader.branch.name)
             if group is None or m.group_id == group]
    db.session.add(ExportLog(kind="invites", branch_id=leader.branch_id,
                             period=clock.to_beijing(now).strftime("%Y-%m"),
                             options={"count": len(found)}, exported_by=f"member:{leader.id}",
                             created_at=now))
    db.session.commit()
    return render_template("invites.html", leader=leader, found=found, ttl=ttl,
                           to_beijing=clock.to_beijing)


@bp.get("/notices")
def notices_page():
    """The branch's notices, newest first, with their figures."""
    from bot.notices import store as notices

    leader = _leader()
    found = [notices.summary(n, names=0) for n in notices.listed(leader.branch_id, limit=30)]
    return render_template("notices.html", leader=leader, found=found,
                           describe=notices.describe)


def _form_time(text: str):
    """A form's datetime-local (2026-12-05T14:30), Beijing time; ValueError if it is not one."""
    return clock.parse_at(text.replace("T", " ", 1))


def _notice_form(leader: Member):
    """(draft, problem) from the compose form."""
    from bot.notices import drafts, rules, store as notices

    text = (request.form.get("text") or "").strip()
    audience = request.form.get("audience") or ""
    at_text = (request.form.get("at") or "").strip()
    at = None
    if at_text:
        try:
            at = _form_time(at_text)
        except ValueError:
            return None, render("calendar.bad_at", at=at_text)
    if not rules.is_valid_audience(audience, notices.groups_of(leader.branch_id)):
        return None, render("notice.ask_audience", choices=render(
            "notice.audience_choices", groups="、".join(notices.groups_of(leader.branch_id))
            or render("notice.no_groups")))
    if not text:
        return None, render("notice.ask_text")
    return drafts.new_draft(leader, audience, text, at, bool(request.form.get("urgent"))), None


@bp.route("/notices/new", methods=["GET", "POST"])
def notice_new():
    """发通知: the same audience choice and confirmation as in chat — 预览 shows whom it reaches
    (and who cannot be reached, and when it goes), 确认发送 sends it."""
    from bot.chat import outbox
    from bot.jobs.notices import send_due_notices
    from bot.members.rules import may_mark_urgent, may_send_notices
    from bot.notices import drafts, store as notices

    leader = _leader()
    if not may_send_notices(leader.roles):
        abort(403)
    draft, problem, preview, said = None, None, None, None
    if request.method == "POST":
        draft, problem = _notice_form(leader)
        if draft is not None and request.form.get("action") == "send":
            outcome = drafts.send(leader, draft, clock.now())
            if outcome.key in ("notice.sending", "notice.scheduled"):
                outbox.later(send_due_notices)
            db.session.commit()
            said = outcome.render()
            draft = None
        elif draft is not None:
            preview = drafts.summary(leader, draft, clock.now())
    groups = notices.groups_of(leader.branch_id)
    audiences = [(a, notices.audience_label(a)) for a in ("all", "committee", "floating")] + \
        [(f"group:{g}", g) for g in groups]
    return render_template("notice_new.html", leader=leader, draft=draft, problem=problem,
                           preview=preview, said=said, audiences=audiences,
                           urgent_allowed=may_mark_urgent(leader.roles),
                           at=request.form.get("at", ""))


@bp.post("/notices/<int:notice_id>/remind")
def notice_remind(notice_id: int):
    """再提醒: once per notice, those who have not acknowledged, outside quiet hours."""
    from bot.chat import outbox
    from bot.jobs.notices import send_due_notices
    from bot.notices import sending, store as notices

    leader = _leader()
    notice = notices.find(leader.branch_id, notice_id)
    if notice is None:
        abort(404)
    outcome = sending.remind(notice, clock.now())
    if outcome.key in ("notice.remind_queued", "notice.remind_later"):
        outbox.later(send_due_notices)
    db.session.commit()
    return render_template("notice_detail.html", leader=leader, said=outcome.render(),
                           item=notices.status(notice), info=notices.describe(notice))


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
