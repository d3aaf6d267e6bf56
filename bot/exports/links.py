"""Download links for exports asked for in chat: signed, and valid for EXPORT_LINK_HOURS."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, request, send_file
from jinja2 import FileSystemLoader
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from bot import clock
from bot.config import secret

from bot.replies import render
from bot.storage.engine import db
from bot.storage.models import ExportLog

bp = Blueprint("exports", __name__)
SALT = "zhibu-export-link"


def init_app(app) -> None:
    """The download route; its one page (open this in the phone's browser) in prompts/pages."""
    bp.jinja_loader = FileSystemLoader(str(Path(app.config["PROMPTS_DIR"]) / "pages"))
    app.register_blueprint(bp)


def inside_wechat() -> bool:
    """Is this request from WeChat's own browser? It cannot save a file: a download there
    fails without a word, so the page says how to open the link in the phone's browser."""
    return "MicroMessenger" in request.headers.get("User-Agent", "")


def open_in_browser(link: str, name: str):
    """The page shown instead of a file inside WeChat: how to open `link` in a browser."""
    return render_template("open_in_browser.html", link=link, name=name)


class ClockSigner(TimestampSigner):
    """Signs and checks ages by the app's clock (tests travel past the expiry)."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret(current_app.config, "SECRET_KEY"), salt=SALT,
                                  signer=ClockSigner)


def link_for(log: ExportLog) -> str:
    """The public address of an export, signed with its log id."""
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    return f"{base}/exports/{_signer().dumps(log.id)}"


def file_name(*parts: str) -> str:
    """A safe file name from parts (a branch name may hold a slash or a colon)."""
    return "-".join(re.sub(r'[\\/:*?"<>|\s]+', "_", str(p)) for p in parts)


def folder() -> Path:
    path = Path(current_app.instance_path) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_path(stem: str, suffix: str) -> Path:
    """A new file in the exports folder named stem + suffix, or stem(2) + suffix … when that
    name is taken; the file is claimed (created empty) so that two exports never share it."""
    base = folder()
    for number in itertools.count(1):
        path = base / (f"{stem}{suffix}" if number == 1 else f"{stem}({number}){suffix}")
        try:
            path.open("x").close()
            return path
        except FileExistsError:
            continue


def shown_name(path: Path) -> str:
    """The name a download is saved under: the file's, without the (2) that kept it apart from
    an earlier export in the folder."""
    return re.sub(r"\(\d+\)(?=\.[^.]+$)", "", Path(path).name)


@bp.get("/exports/<token>")
def download(token: str):
    """The file, if the link is genuine and not expired (410 with a word in Chinese if it is)."""
    try:
        log_id = _signer().loads(token, max_age=current_app.config["EXPORT_LINK_HOURS"] * 3600)
    except SignatureExpired:
        return render("export.link_expired"), 410, {"Content-Type": "text/plain; charset=utf-8"}
    except BadSignature:
        abort(404)
    log = db.session.get(ExportLog, log_id)
    if log is None or not log.path or not Path(log.path).exists():
        abort(404)
    if inside_wechat():  # the same signed link works in the phone's browser
        return open_in_browser(request.url, shown_name(log.path))
    return send_file(log.path, as_attachment=True, download_name=shown_name(log.path))
