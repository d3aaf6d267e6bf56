"""The console in a real browser (Debian's headless Chromium through Selenium), as a secretary
uses it: sign in through the chat link, approve a leave, import a roster, move a meeting, send a
notice and read its receipts, record a payment, download the workbook. A screenshot of each page
goes to tests/artifacts/."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select
from werkzeug.serving import make_server

from bot.meetings import planning as meetings
from bot.members import store
from bot.storage.engine import db
from bot.storage.models import Branch, DuesPayment, Meeting, MeetingAttendance, Notice
from tests.helpers import ROSTER_HEADER, beijing, bind, deliver

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"  # Debian's (make system)


@pytest.fixture
def live(app):
    """The app on a real port (its own thread; each request its own app context)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def browser():
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,1000", "--lang=zh-CN"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def shot(browser, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1200, max(600, min(height + 40, 3000)))
    browser.save_screenshot(str(ARTIFACTS / f"console-{name}.png"))


def text(browser) -> str:
    return browser.find_element(By.TAG_NAME, "body").text


def wait_for(browser, *words: str) -> str:
    """The page's text once every one of words is on it (a click loads the next page: the
    old one's elements go stale meanwhile); fails after 10 s."""
    def ready(driver):
        try:
            found = driver.find_element(By.TAG_NAME, "body").text
        except StaleElementReferenceException:
            return False
        return found if all(w in found for w in words) else False

    return WebDriverWait(browser, 10).until(ready)


def test_a_secretary_s_morning_on_the_console(app, platform, fake, tmp_path, clock, live,
                                              browser):
    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"), ("王志强", "o_wang"),
         ("刘海波", "o_liu"))
    for openid in ("o_zhang", "o_li", "o_wang", "o_liu"):
        requests.post(f"{fake.url}/_fake/interact", json={"openid": openid})
    branch = db.session.execute(select(Branch)).scalar_one()
    theme = meetings.add(branch, "theme_day", beijing(2026, 11, 27, 14, 30), clock(),
                         place="村委会二楼")
    db.session.commit()
    assert "编号" in platform.text("o_wang", "主题党日请假，孩子生病")
    db.session.commit()

    # --- sign in through the chat link -------------------------------------------------------
    link = platform.text("o_zhang", "控制台").split("：", 1)[1].strip()
    db.session.commit()
    browser.get(live + link.split("127.0.0.1:5000", 1)[1])
    assert "第一党支部 控制台" in text(browser) and "有 1 个请假等您批准" in text(browser)
    shot(browser, "home")

    # --- approve the leave ---------------------------------------------------------------------
    browser.find_element(By.LINK_TEXT, "有 1 个请假等您批准").click()
    wait_for(browser, "孩子生病")
    shot(browser, "leave")
    browser.find_element(By.XPATH, "//button[text()='批准']").click()
    wait_for(browser, "已批准王志强的请假")
    db.session.expire_all()
    assert db.session.execute(select(MeetingAttendance.leave_status)).scalar_one() == "approved"
    db.session.commit()

    # --- import a roster -------------------------------------------------------------------------
    roster = tmp_path / "新名册.csv"
    roster.write_text(ROSTER_HEADER + "\n周敏,13800138020,第一党支部,第一党小组,正式党员,,在职,4000,否\n",
                      encoding="utf-8")
    browser.get(live + "/console/roster")
    shot(browser, "roster")
    browser.find_element(By.TAG_NAME, "summary").click()
    browser.find_element(By.NAME, "file").send_keys(str(roster))
    browser.find_element(By.XPATH, "//button[text()='导入']").click()
    wait_for(browser, "新增 1 人")
    db.session.commit()
    assert store.members_by_name("周敏")

    # --- move a meeting --------------------------------------------------------------------------
    browser.get(live + f"/console/meetings/{theme.id}/change")
    field = browser.find_element(By.NAME, "starts_at")
    browser.execute_script("arguments[0].value = '2026-11-28T15:00'", field)
    place = browser.find_element(By.NAME, "place")
    place.clear()
    place.send_keys("村委会三楼")
    shot(browser, "meeting-change")
    browser.find_element(By.XPATH, "//button[text()='保存调整']").click()
    wait_for(browser, "已调整")
    db.session.expire_all()
    moved = db.session.get(Meeting, theme.id)
    assert moved.starts_at == beijing(2026, 11, 28, 15) and moved.place == "村委会三楼"
    db.session.commit()

    # --- send a notice, then read its receipts ----------------------------------------------------
    browser.get(live + "/console/notices/new")
    Select(browser.find_element(By.NAME, "audience")).select_by_visible_text("全体党员")
    browser.find_element(By.NAME, "text").send_keys("周五下午3点在村委会三楼开主题党日，请准时参加")
    browser.find_element(By.XPATH, "//button[text()='下一步：核对']").click()
    wait_for(browser, "共 4 人", "现在立即发送")
    shot(browser, "notice-preview")
    browser.find_element(By.XPATH, "//button[text()='确认发送']").click()
    wait_for(browser, "正在发给")
    db.session.commit()
    delivered = deliver(app, fake)
    assert "周五下午3点" in delivered["o_wang"][-1]
    assert "已确认收到通知" in platform.text("o_wang", "收到")
    db.session.commit()
    notice = db.session.execute(select(Notice)).scalar_one()
    db.session.commit()
    browser.get(live + f"/console/notices/{notice.id}")
    assert "已确认（1 人）" in text(browser) and "王志强" in text(browser)
    shot(browser, "notice")

    # --- record a payment -------------------------------------------------------------------------
    browser.get(live + "/console/dues?month=2026-11")
    assert "本月还没交" in text(browser)
    shot(browser, "dues")
    browser.find_element(By.XPATH, "(//button[text()='记上'])[1]").click()
    wait_for(browser, "已记录：")
    db.session.commit()
    assert db.session.execute(select(DuesPayment)).scalar_one().recorded_by.startswith("member:")
    db.session.commit()

    # --- the attendance matrix, and the workbook downloaded ----------------------------------------
    browser.get(live + "/console/attendance?month=2026-11")
    assert "王志强" in text(browser)
    shot(browser, "attendance")
    href = browser.find_element(By.PARTIAL_LINK_TEXT, "下载考勤表").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    book = requests.get(href, cookies=cookies, timeout=30)
    assert book.status_code == 200 and book.content[:2] == b"PK"  # an xlsx (a zip)
    assert "考勤表.xlsx" in requests.utils.unquote(book.headers["Content-Disposition"])

    # --- the month's papers on one page ------------------------------------------------------------
    browser.get(live + "/console/papers?month=2026-11")
    assert "会议记实表" in text(browser) and "三会一课" in text(browser)
    shot(browser, "papers")
    browser.get(live + "/console/meetings/new")
    assert "补录" in text(browser)
    shot(browser, "meeting-new")
