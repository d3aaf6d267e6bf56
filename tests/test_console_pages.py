"""The console's roster (名册) and the printable invite codes, as a leader of the branch sees them:
only the branch's own members, searchable, the unbound with a live code each, printing logged."""
from __future__ import annotations

from sqlalchemy import select

from bot.members import store
from bot.storage.engine import db
from bot.storage.models import ExportLog, InviteCode
from tests.helpers import bind
from tests.test_console import sign_in
from tests.test_console_browser import ARTIFACTS
from tests.test_export import month  # noqa: F401  (the month fixture)


def test_the_roster_and_the_invite_sheet(app, platform, tmp_path, clock):
    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"))
    store.get_or_create_branch("第二党支部", "机关党委")
    client = app.test_client()
    assert client.get("/console/roster").status_code == 401
    sign_in(platform, client)
    page = client.get("/console/roster").get_data(as_text=True)
    assert "第一党支部 名册" in page and "共 4 人" in page
    row = page.split(">张建国</a></td>", 1)[1].split("</tr>", 1)[0]
    assert "书记" in row and "已绑定" in row and "138****8001" in row and "13800138001" not in page
    liu = page.split(">刘海波</a></td>", 1)[1].split("</tr>", 1)[0]
    assert "未绑定" in liu and "<td>是</td>" in liu and "农民" in liu  # floating, unbound
    found = client.get("/console/roster?q=海").get_data(as_text=True)
    assert "共 1 人" in found and "刘海波" in found and "张建国" not in found
    assert "没有找到" in client.get("/console/roster?q=%25").get_data(as_text=True)  # no wildcard

    sheet = client.get("/console/roster/invites").get_data(as_text=True)
    codes = {invite.member.name: invite.code for invite in db.session.execute(
        select(InviteCode).where(InviteCode.used_at.is_(None))).scalars()}
    assert set(codes) == {"王志强", "刘海波"}  # the unbound only
    assert all(f"绑定 {code}" in sheet for code in codes.values()) and "张建国" not in sheet
    again = client.get("/console/roster/invites").get_data(as_text=True)
    assert all(f"绑定 {code}" in again for code in codes.values())  # live codes, not new ones
    logged = db.session.execute(select(ExportLog).where(ExportLog.kind == "invites")).scalars()
    assert [(log.exported_by, log.options["count"]) for log in logged] == \
        [(f"member:{store.members_by_name('李红梅')[0].id}", 2)] * 2


def test_pending_leave_approved_and_denied_from_the_console(app, platform, fake, tmp_path, clock):
    from bot.meetings import planning as meetings
    from bot.storage.models import Branch, MeetingAttendance
    from tests.helpers import beijing, deliver

    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"), ("王志强", "o_wang"),
         ("刘海波", "o_liu"))
    branch = db.session.execute(select(Branch)).scalar_one()
    meetings.add(branch, "theme_day", beijing(2026, 11, 27, 14, 30), clock())
    db.session.commit()
    assert "编号" in platform.text("o_wang", "主题党日请假，孩子生病")
    assert "编号" in platform.text("o_liu", "主题党日请假，在外地")
    assert "已报名" in platform.text("o_zhang", "主题党日参加")
    client = app.test_client()
    sign_in(platform, client)
    home = client.get("/console/").get_data(as_text=True)
    assert "有 2 个请假等您批准" in home and "1 / 2（待批 2）" in home
    page = client.get("/console/leave").get_data(as_text=True)
    assert "孩子生病" in page and "在外地" in page
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    rows = {r.member_id: r.id for r in db.session.execute(select(MeetingAttendance).where(
        MeetingAttendance.rsvp == "leave")).scalars()}
    wang, liu = (store.members_by_name(n)[0].id for n in ("王志强", "刘海波"))
    assert client.post("/console/leave", data={"number": rows[wang], "decision": "approve"}
                       ).status_code == 400  # no CSRF token: nothing decided
    assert db.session.get(MeetingAttendance, rows[wang]).leave_status == "pending"
    done = client.post("/console/leave", data={"number": rows[wang], "decision": "approve",
                                               "csrf_token": token}).get_data(as_text=True)
    assert f"已批准王志强的请假（编号 {rows[wang]}" in done
    assert db.session.get(MeetingAttendance, rows[wang]).leave_status == "approved"
    client.post("/console/leave", data={"number": rows[liu], "decision": "deny",
                                        "csrf_token": token})
    assert db.session.get(MeetingAttendance, rows[liu]).leave_status == "denied"
    assert "没有等待批准的请假" in client.get("/console/leave").get_data(as_text=True)
    told = deliver(app, fake)
    assert "您的请假已批准" in told["o_wang"][-1] and "您的请假没有批准" in told["o_liu"][-1]
    again = client.post("/console/leave", data={"number": rows[liu], "decision": "approve",
                                                "csrf_token": token}).get_data(as_text=True)
    assert f"编号 {rows[liu]} 的请假已经审批过了（不批准）" in again  # said so, nothing changed
    assert db.session.get(MeetingAttendance, rows[liu]).leave_status == "denied"
    from bot.storage.models import ConsoleChange

    li = store.members_by_name("李红梅")[0].id  # signed in
    logged = db.session.execute(select(ConsoleChange.kind, ConsoleChange.subject, ConsoleChange.by)
                                .order_by(ConsoleChange.id)).all()
    assert logged == [("leave_approve", f"leave:{rows[wang]}", f"member:{li}"),
                      ("leave_deny", f"leave:{rows[liu]}", f"member:{li}")]  # not the repeat


def test_a_meeting_added_from_the_console_and_one_entered_afterwards(app, platform, tmp_path,
                                                                    clock):
    from bot.storage.models import ConsoleChange, Meeting, PartyGroup

    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"), ("王志强", "o_wang"),
         ("刘海波", "o_liu"))
    client = app.test_client()
    sign_in(platform, client)
    assert "/console/meetings/new" in client.get("/console/").get_data(as_text=True)
    page = client.get("/console/meetings/new").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"kind": "branch_assembly", "starts_at": "2026-11-28T15:00", "place": "村委会",
            "topic": "民主评议", "csrf_token": token}
    assert client.post("/console/meetings/new", data={**form, "csrf_token": ""}
                       ).status_code == 400  # no CSRF token: nothing added
    assert db.session.execute(select(Meeting)).first() is None
    for changed, said in (({"starts_at": "2026-11-20T15:00"}, "已经过去。如果这次会已经开过"),
                          ({"starts_at": "2026-11-28T15:00", "held": "1"}, "还没到"),
                          ({"kind": "group"}, "党小组会要选是哪个党小组"),
                          ({"kind": ""}, "请选择会议类型"), ({"starts_at": "明天"}, "请选好")):
        refused = client.post("/console/meetings/new", data={**form, **changed})
        assert said in refused.get_data(as_text=True), changed
    assert db.session.execute(select(Meeting)).first() is None
    done = client.post("/console/meetings/new", data=form).get_data(as_text=True)
    meeting = db.session.execute(select(Meeting)).scalar_one()
    assert f"签到码 {meeting.checkin_code}" in done and meeting.status == "scheduled"
    assert (meeting.kind, meeting.place, meeting.topic) == ("branch_assembly", "村委会", "民主评议")
    assert "支部党员大会" in platform.text("o_wang", "下次开会是什么时候")  # members see it
    group = db.session.execute(select(PartyGroup)).scalars().first()
    back = client.post("/console/meetings/new", data={
        **form, "kind": "group", "group": group.id, "starts_at": "2026-11-18T19:00",
        "held": "1"}).get_data(as_text=True)
    assert "已补录" in back
    held = db.session.execute(select(Meeting).where(Meeting.kind == "group")).scalar_one()
    assert (held.status, held.backfilled, held.group_id) == ("closed", True, group.id)
    assert [c.kind for c in db.session.execute(select(ConsoleChange)).scalars()] == [
        "meeting_add", "meeting_add"]
    assert "控制台只对支部书记" in platform.text("o_liu", "控制台")  # 刘海波, a member
    assert app.test_client().get("/console/meetings/new").status_code == 401
    group_leader = app.test_client()  # 王志强, 党小组长: sees the group, adds nothing
    sign_in(platform, group_leader, "o_wang")
    assert group_leader.get("/console/meetings/new").status_code == 403
    liu = store.members_by_name("刘海波")[0]  # of 王志强's group: a form he may use
    own = group_leader.get(f"/console/roster/{liu.id}/behalf").get_data(as_text=True)
    own_token = own.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert group_leader.post("/console/meetings/new", data={**form, "csrf_token": own_token}
                             ).status_code == 403
    assert len(db.session.execute(select(Meeting)).all()) == 2


WECHAT_UA = ("Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Version/4.0 Chrome/116.0 Mobile Safari/537.36 XWEB/1160065 MicroMessenger/8.0.50")


def test_downloads_inside_wechat_say_how_to_open_them_in_the_browser(app, platform, tmp_path,
                                                                     clock):
    from bot.meetings import planning as meetings
    from bot.storage.models import Branch
    from tests.helpers import beijing

    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"))
    branch = db.session.execute(select(Branch)).scalar_one()
    theme = meetings.add(branch, "theme_day", beijing(2026, 11, 27, 14, 30), clock())
    db.session.commit()
    client = app.test_client()
    sign_in(platform, client)
    inside = {"User-Agent": WECHAT_UA}
    page = client.get("/console/attendance.xlsx?month=2026-11", headers=inside)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "在浏览器打开" in text and "第一党支部-2026-11-考勤表.xlsx" in text
    link = text.split('<p class="link">', 1)[1].split("</p>", 1)[0]
    assert link.startswith("http://127.0.0.1:5000/exports/")
    path = link.split("127.0.0.1:5000", 1)[1]
    outside = app.test_client().get(path)  # the phone's browser: no console session needed
    assert outside.status_code == 200 and outside.mimetype.endswith("spreadsheetml.sheet")
    again = app.test_client().get(path, headers=inside)
    assert "在浏览器打开" in again.get_data(as_text=True)  # inside WeChat again: the page
    record = client.get(f"/console/meetings/{theme.id}/record.docx", headers=inside)
    assert "在浏览器打开" in record.get_data(as_text=True) and "记实表.docx" in \
        record.get_data(as_text=True)
    plain = client.get(f"/console/meetings/{theme.id}/record.docx")
    assert plain.mimetype.endswith("wordprocessingml.document")


def test_a_roster_imported_from_the_page_only_for_the_branch(app, platform, tmp_path, clock):
    from io import BytesIO

    from bot.members.roster import import_file
    from bot.storage.models import Member
    from tests.helpers import ROSTER_HEADER, write_roster

    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"))
    import_file(write_roster(tmp_path / "other.csv", [
        "钱伟,13900139001,第二党支部,,正式党员,书记,在职,5000,否"]), clock(), "机关党委")
    db.session.commit()
    client = app.test_client()
    sign_in(platform, client)
    page = client.get("/console/roster").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    csv = "\n".join([ROSTER_HEADER,
                     "周敏,13800138020,第一党支部,第一党小组,正式党员,,在职,4000,否",
                     "吴刚,1380013,第一党支部,第一党小组,正式党员,,在职,4000,否",
                     "郑强,13800138021,第二党支部,,正式党员,,在职,4000,否",
                     "钱伟,13900139001,第一党支部,,正式党员,,在职,5000,否"]) + "\n"

    def upload(data: str, name="名册.csv", **extra):
        return client.post("/console/roster/import", data={
            "file": (BytesIO(data.encode("utf-8")), name), **extra},
            content_type="multipart/form-data")

    assert upload(csv).status_code == 400  # no CSRF token: nothing imported
    assert not store.members_by_name("周敏")
    done = upload(csv, csrf_token=token).get_data(as_text=True)
    assert "新增 1 人" in done and "3 行有问题" in done
    assert "<td>3</td><td>手机号" in done  # the short number, by its row
    assert done.count("在控制台只能导入本支部") == 2  # 郑强 (another branch), 钱伟 (another's phone)
    assert store.members_by_name("周敏")[0].branch.name == "第一党支部"
    assert not store.members_by_name("郑强")
    qian = db.session.execute(select(Member).where(Member.phone == "13900139001")).scalar_one()
    assert qian.branch.name == "第二党支部"  # not moved into this branch
    refused = upload("这不是名册\n", name="notes.csv", csrf_token=token).get_data(as_text=True)
    assert "没有导入" in refused
    assert "没有导入" in upload("x", name="photo.jpg", csrf_token=token).get_data(as_text=True)
    logged = db.session.execute(select(ExportLog).where(ExportLog.kind == "roster_import")
                                ).scalar_one()
    assert logged.options == {"created": 1, "updated": 0, "errors": 3}


def test_a_member_edited_a_new_phone_unbinds_and_roles_follow_at_once(app, platform, tmp_path,
                                                                      clock):
    from bot.storage.models import ConsoleChange, Member, WechatUser

    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"), ("王志强", "o_wang"))
    client = app.test_client()
    sign_in(platform, client)  # 李红梅, 组织委员
    wang = store.members_by_name("王志强")[0]
    page = client.get(f"/console/roster/{wang.id}").get_data(as_text=True)
    assert "138****8003" in page and "13800138003" not in page
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"name": "王志强", "phone": "", "group": "第二党小组", "status": "full",
            "roles": ["group_leader", "propaganda"], "dues_category": "in_service",
            "dues_base": "4800.00", "csrf_token": token}
    saved = client.post(f"/console/roster/{wang.id}", data=form).get_data(as_text=True)
    assert "已保存：人员类别、党内职务" in saved  # 预备 → 正式, and 宣传委员 added
    db.session.refresh(wang)
    assert wang.status == "full" and wang.roles == {"group_leader", "propaganda"}
    taken = client.post(f"/console/roster/{wang.id}", data={**form, "phone": "13800138001"})
    assert "已经是另一位党员的了" in taken.get_data(as_text=True)
    db.session.refresh(wang)
    assert wang.phone == "13800138003"
    moved = client.post(f"/console/roster/{wang.id}", data={**form, "phone": "139 0013 8003"}
                        ).get_data(as_text=True)
    assert "已保存：手机号码" in moved and "新的邀请码" in moved
    db.session.refresh(wang)
    assert wang.phone == "13900138003" and wang.wechat is None
    assert db.session.execute(select(Member).where(Member.name == "王志强")).scalars().all() \
        == [wang]  # the same member, not a second one
    assert "绑定 邀请码" in platform.text("o_wang", "我的信息")  # the old WeChat is not him now
    code = moved.split("新的邀请码：", 1)[1][:8]
    assert "绑定成功" in platform.text("o_wang2", f"绑定 {code}")
    from bot.members.roster import import_file
    from tests.helpers import write_roster

    import_file(write_roster(tmp_path / "other.csv", [
        "钱伟,13900139001,第二党支部,,正式党员,书记,在职,5000,否"]), clock(), "机关党委")
    db.session.commit()
    qian = store.members_by_name("钱伟")[0]
    assert client.get(f"/console/roster/{qian.id}").status_code == 404  # another branch's
    assert client.post(f"/console/roster/{qian.id}", data={
        "action": "unbind", "csrf_token": token}).status_code == 404
    # unbinding the secretary's WeChat from the page: his chat link no longer signs him in
    zhang = store.members_by_name("张建国")[0]
    unbound = client.post(f"/console/roster/{zhang.id}", data={
        "action": "unbind", "csrf_token": token}).get_data(as_text=True)
    assert "已解除张建国的微信绑定" in unbound
    assert db.session.execute(select(WechatUser).where(WechatUser.openid == "o_zhang")
                              ).scalar_one().member_id is None
    # stepping 李红梅 down from the committee on her own page: she is out at once
    li = store.members_by_name("李红梅")[0]
    client.post(f"/console/roster/{li.id}", data={**form, "name": "李红梅", "roles": [],
                                                  "status": "full"})
    assert client.get("/console/roster").status_code == 401
    kinds = [c.kind for c in db.session.execute(select(ConsoleChange)).scalars()]
    assert kinds == ["member_edit", "member_edit", "member_unbind", "member_unbind",
                     "member_edit"]


def test_a_meeting_moved_and_another_cancelled_from_the_console(app, platform, fake, tmp_path,
                                                                clock):
    from bot.meetings import planning as meetings
    from bot.storage.models import Branch, ConsoleChange, Meeting
    from tests.helpers import beijing, deliver

    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"), ("王志强", "o_wang"))
    branch = db.session.execute(select(Branch)).scalar_one()
    theme = meetings.add(branch, "theme_day", beijing(2026, 11, 27, 14, 30), clock())
    lecture = meetings.add(branch, "party_lecture", beijing(2026, 11, 28, 9), clock())
    db.session.commit()
    assert "已报名" in platform.text("o_wang", "主题党日参加")
    client = app.test_client()
    sign_in(platform, client)
    page = client.get(f"/console/meetings/{theme.id}/change").get_data(as_text=True)
    assert 'value="2026-11-27T14:30"' in page
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    moved = client.post(f"/console/meetings/{theme.id}/change", data={
        "starts_at": "2026-11-28T15:00", "place": "村委会三楼", "topic": "",
        "csrf_token": token}).get_data(as_text=True)
    assert "已调整" in moved and "已通知 1 人" in moved
    db.session.refresh(theme)
    assert theme.starts_at == beijing(2026, 11, 28, 15) and theme.place == "村委会三楼"
    told = deliver(app, fake)
    assert "会议调整" in told["o_wang"][-1] and "11月28日（周六）15:00" in told["o_wang"][-1]
    past = client.post(f"/console/meetings/{lecture.id}/change", data={
        "starts_at": "2026-11-01T09:00", "csrf_token": token}).get_data(as_text=True)
    assert "已经过去了" in past
    db.session.refresh(lecture)
    assert lecture.starts_at == beijing(2026, 11, 28, 9)
    cancelled = client.post(f"/console/meetings/{lecture.id}/change", data={
        "action": "cancel", "reason": "讲课人出差", "csrf_token": token}).get_data(as_text=True)
    assert "已取消" in cancelled
    assert db.session.get(Meeting, lecture.id).status == "cancelled"
    assert "不能再调整" in client.get(f"/console/meetings/{lecture.id}/change"
                                      ).get_data(as_text=True)
    assert client.post(f"/console/meetings/{theme.id}/change", data={
        "starts_at": "明天", "csrf_token": token}).status_code == 400
    assert [c.kind for c in db.session.execute(select(ConsoleChange)).scalars()] == \
        ["meeting_move", "meeting_cancel"]


def test_a_notice_composed_on_the_console_confirmed_sent_and_reminded(app, platform, fake,
                                                                      tmp_path, clock):
    from bot.storage.models import Notice
    from tests.helpers import deliver

    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"), ("王志强", "o_wang"),
         ("刘海波", "o_liu"))
    client = app.test_client()
    sign_in(platform, client)  # 李红梅: 组织委员 (no 紧急通知)
    page = client.get("/console/notices/new").get_data(as_text=True)
    assert "第二党小组" in page and "name=\"urgent\"" not in page
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"audience": "group:第二党小组", "text": "周五下午3点在村委会开党小组会",
            "at": "", "csrf_token": token}
    preview = client.post("/console/notices/new", data={**form, "action": "preview"}
                          ).get_data(as_text=True)
    assert "共 2 人" in preview and "王志强、刘海波" in preview and "现在立即发送" in preview
    assert db.session.execute(select(Notice)).first() is None  # nothing before 确认发送
    assert "请发来通知的内容" in client.post("/console/notices/new", data={
        **form, "text": " ", "action": "preview"}).get_data(as_text=True)
    assert client.post("/console/notices/new", data={**form, "action": "send"}
                       ).status_code == 200
    notice = db.session.execute(select(Notice)).scalar_one()
    assert notice.sender_id == store.members_by_name("李红梅")[0].id
    told = deliver(app, fake)
    assert "周五下午3点" in told["o_wang"][-1] and "周五下午3点" in told["o_liu"][-1]
    assert "o_zhang" not in told
    assert "已确认收到通知" in platform.text("o_wang", "收到")
    detail = client.get(f"/console/notices/{notice.id}").get_data(as_text=True)
    assert "已确认（1 人）" in detail and "未确认（1 人）" in detail and "再提醒" in detail
    reminded = client.post(f"/console/notices/{notice.id}/remind", data={"csrf_token": token}
                           ).get_data(as_text=True)
    assert "1 人" in reminded and "再提醒未确认的人" not in reminded
    assert deliver(app, fake)["o_liu"][-1].startswith("通知提醒 / 周五下午3点")  # a template
    scheduled = client.post("/console/notices/new", data={
        **form, "audience": "all", "at": "2026-11-21T23:00", "action": "send"}
        ).get_data(as_text=True)
    assert "已安排在" in scheduled and "08:00" in scheduled  # quiet hours: moved to their end


def test_dues_recorded_from_the_console_only_by_who_may_see_dues(app, platform, tmp_path, clock):
    from bot.storage.models import DuesPayment

    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"), ("王志强", "o_wang"))
    client = app.test_client()
    sign_in(platform, client)  # 李红梅, 组织委员: may see dues
    page = client.get("/console/dues?month=2026-11").get_data(as_text=True)
    assert "本月还没交：4 人" in page
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    wang = store.members_by_name("王志强")[0]
    due = page.split(f'name="member" value="{wang.id}"', 1)[1].split('name="amount" value="', 1
                                                                      )[1].split('"', 1)[0]
    wrong = client.post("/console/dues", data={
        "month": "2026-11", "member": wang.id, "amount": "1.00", "method": "cash",
        "paid_on": "2026-11-21", "csrf_token": token}).get_data(as_text=True)
    assert "没有记录" in wrong and db.session.execute(select(DuesPayment)).first() is None
    done = client.post("/console/dues", data={
        "month": "2026-11", "member": wang.id, "amount": due, "method": "transfer",
        "paid_on": "2026-11-21", "csrf_token": token}).get_data(as_text=True)
    assert "已记录：王志强" in done and f"党费 {due} 元，转账" in done
    payment = db.session.execute(select(DuesPayment)).scalar_one()
    assert (payment.member_id, str(payment.amount), payment.method) == (wang.id, due, "transfer")
    assert payment.recorded_by == f"member:{store.members_by_name('李红梅')[0].id}"
    assert "本月还没交：3 人" in done
    assert client.post("/console/dues", data={
        "month": "2026-11", "member": wang.id, "amount": due, "method": "bitcoin",
        "paid_on": "2026-11-21", "csrf_token": token}).status_code == 400
    # 张建国's branch decides who sees dues: without 组织委员 among the viewers, 李红梅 may not
    from bot.storage.models import Branch

    branch = db.session.execute(select(Branch)).scalar_one()
    branch.settings = {"dues": {"viewers": ["secretary"]}}
    db.session.commit()
    assert client.get("/console/dues?month=2026-11").status_code == 403
    assert client.post("/console/dues", data={
        "month": "2026-11", "member": wang.id, "amount": due, "method": "cash",
        "paid_on": "2026-11-21", "csrf_token": token}).status_code == 403


def test_the_attendance_matrix_a_cell_s_trail_and_a_correction(app, month, platform, clock):  # noqa: F811
    from bot.storage.models import AttendanceChange, Meeting

    branch, theme, committee = month
    client = app.test_client()
    sign_in(platform, client)  # 李红梅
    page = client.get("/console/attendance?month=2026-11").get_data(as_text=True)
    assert "11-06<br>主题党日" in page and "远程参加" in page and "请假" in page
    liu = store.members_by_name("刘海波")[0]
    cell = f"/console/attendance/{theme.id}/{liu.id}"
    assert f'href="{cell}">缺席</a>' in page
    trail = client.get(cell).get_data(as_text=True)
    assert "现在：<strong>缺席</strong>" in trail and "系统（会议结束时）" in trail
    token = trail.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert "补登要写明原因" in client.post(cell, data={
        "status": "present", "reason": " ", "csrf_token": token}).get_data(as_text=True)
    done = client.post(cell, data={"status": "present", "reason": "签到时手机没电，会上有签字",
                                   "csrf_token": token}).get_data(as_text=True)
    assert "已补登：刘海波" in done and "缺席 → 出席" in done and "李红梅" in done
    change = db.session.execute(select(AttendanceChange).where(
        AttendanceChange.member_id == liu.id, AttendanceChange.meeting_id == theme.id)
        .order_by(AttendanceChange.id.desc())).scalars().first()
    li = store.members_by_name("李红梅")[0]
    assert (change.new, change.changed_by) == ("present", f"member:{li.id}")
    assert client.post(cell, data={"status": "gone", "reason": "x", "csrf_token": token}
                       ).status_code == 400
    lecture = db.session.execute(select(Meeting).where(Meeting.kind == "party_lecture",
                                                       Meeting.status == "scheduled")).scalar_one()
    early = client.post(f"/console/attendance/{lecture.id}/{liu.id}", data={
        "status": "present", "reason": "提前", "csrf_token": token}).get_data(as_text=True)
    assert "还没开始，不能补登" in early
    wang = store.members_by_name("王志强")[0]  # not on the committee: not due at the 支委会
    assert client.get(f"/console/attendance/{committee.id}/{wang.id}").status_code == 404
    from bot.meetings import planning as meetings
    from tests.helpers import beijing

    elsewhere = meetings.add(store.get_or_create_branch("第二党支部", "机关党委"), "committee",
                             beijing(2026, 11, 9, 9), clock())
    db.session.commit()
    assert client.get(f"/console/attendance/{elsewhere.id}/{liu.id}").status_code == 404


def test_answers_and_study_entered_on_a_member_s_behalf(app, platform, fake, tmp_path, clock):
    from bot.meetings import planning as meetings
    from bot.storage.models import Branch, MeetingAttendance, StudyCheckin
    from tests.helpers import beijing

    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"))  # 刘海波: no WeChat
    branch = db.session.execute(select(Branch)).scalar_one()
    theme = meetings.add(branch, "theme_day", beijing(2026, 11, 27, 14, 30), clock())
    lecture = meetings.add(branch, "party_lecture", beijing(2026, 11, 28, 9), clock())
    db.session.commit()
    client = app.test_client()
    sign_in(platform, client)
    liu = store.members_by_name("刘海波")[0]
    li = store.members_by_name("李红梅")[0]
    page = client.get(f"/console/roster/{liu.id}/behalf").get_data(as_text=True)
    assert "代刘海波登记" in page and "主题党日" in page
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    said = client.post(f"/console/roster/{liu.id}/behalf", data={
        "what": "yes", "meeting": theme.id, "csrf_token": token}).get_data(as_text=True)
    assert "已代刘海波报名：主题党日" in said
    row = db.session.execute(select(MeetingAttendance).where(
        MeetingAttendance.member_id == liu.id, MeetingAttendance.meeting_id == theme.id)
        ).scalar_one()
    assert (row.rsvp, row.entered_by) == ("yes", f"member:{li.id}")
    assert "请假要写明原因" in client.post(f"/console/roster/{liu.id}/behalf", data={
        "what": "leave", "meeting": lecture.id, "csrf_token": token}).get_data(as_text=True)
    leave = client.post(f"/console/roster/{liu.id}/behalf", data={
        "what": "leave", "meeting": lecture.id, "reason": "腿脚不便", "approve": "1",
        "csrf_token": token}).get_data(as_text=True)
    assert "已代刘海波请假：党课" in leave and "并已批准" in leave
    row = db.session.execute(select(MeetingAttendance).where(
        MeetingAttendance.member_id == liu.id, MeetingAttendance.meeting_id == lecture.id)
        ).scalar_one()
    assert (row.leave_status, row.attendance, row.entered_by) == \
        ("approved", "excused", f"member:{li.id}")
    study = client.post(f"/console/roster/{liu.id}/behalf", data={
        "what": "study", "day": "2026-11-21", "material": "党章", "minutes": "30",
        "reflection": "不忘初心", "csrf_token": token}).get_data(as_text=True)
    assert "已代刘海波记录今天的学习" in study
    record = db.session.execute(select(StudyCheckin)).scalar_one()
    assert (record.member_id, record.minutes, record.entered_by) == (liu.id, 30,
                                                                     f"member:{li.id}")
    late = client.post(f"/console/roster/{liu.id}/behalf", data={
        "what": "study", "day": "2026-11-01", "csrf_token": token}).get_data(as_text=True)
    assert "只能补记最近" in late  # the member's own rules apply
    from openpyxl import load_workbook

    out = tmp_path / "nov.xlsx"
    from bot.cli.exports import group as export_cli
    assert app.test_cli_runner().invoke(export_cli, ["attendance", "--month", "2026-11", "--out",
                                                     str(out)]).exit_code == 0
    leave_rows = [[c.value for c in row] for row in load_workbook(out)["请假明细"].iter_rows()]
    assert any(r[0] == "刘海波" and r[2] == "腿脚不便（李红梅代登记）" for r in leave_rows)


def test_the_home_page_at_a_glance_with_its_two_charts(app, month, platform, clock):  # noqa: F811
    client = app.test_client()
    sign_in(platform, client)
    quiet = client.get("/console/").get_data(as_text=True)
    assert "今天需要您关注的事" in quiet and "今天没有需要特别处理的事" in quiet
    assert "编号" in platform.text("o_wang", "11月27日党课请假，出差")
    page = client.get("/console/").get_data(as_text=True)  # the secretary's digest, on a page
    glance = page.split("今天需要您关注的事", 1)[1].split('<div class="charts">', 1)[0]
    assert "<strong>待批请假</strong>" in glance and "王志强" in glance and "出差" in glance
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "console-home-charts.html").write_text(page, encoding="utf-8")  # to look at
    # 出席率: November's closed meetings — 2 of 14 statuses present or remote (theme day 2 of 4;
    # the 支委会, both 党小组会 and the 20th's 党课 nobody signed in)
    assert ">14%</text>" in page and ">11月</text>" in page and page.count("无会") == 5
    # 三会一课 of 2026-Q4 counted from November (the branch started on the 1st): November's and
    # December's 4 each and the 党课 (still to come); the 支部党员大会 is 未记录 (the quarter began
    # before the start, none planned): 1 of 9 met (November's 主题党日)
    assert ">1 / 9</text>" in page and "2026年4季度" in page
    assert page.count("<svg") == 2


def test_the_papers_of_a_month_on_one_page(app, month, platform, clock):  # noqa: F811
    """材料: the workbook, each held meeting's 记实表 (Word and Excel), the quarter's check;
    every download from it logged."""
    from bot.storage.models import Meeting

    branch, theme, committee = month
    client = app.test_client()
    sign_in(platform, client)
    assert "/console/papers?month=" in client.get("/console/").get_data(as_text=True)
    page = client.get("/console/papers?month=2026-11").get_data(as_text=True)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "console-papers.html").write_text(page, encoding="utf-8")
    held = db.session.execute(select(Meeting).where(Meeting.status == "closed")).scalars().all()
    assert held and theme in held
    for meeting in held:
        assert f"/console/meetings/{meeting.id}/record.docx" in page, meeting
    groups = [m for m in held if m.group is not None]  # two 党小组会: told apart by group
    assert len(groups) == 2 and all(f"党小组会（{m.group.name}）" in page for m in groups)
    scheduled = db.session.execute(select(Meeting).where(Meeting.status == "scheduled")
                                   ).scalars().first()
    assert scheduled is None or f"/console/meetings/{scheduled.id}/record" not in page
    assert "/console/attendance.xlsx?month=2026-11" in page
    assert "/console/compliance?quarter=2026-Q4" in page
    before = db.session.execute(select(ExportLog)).all()
    download = client.get(f"/console/meetings/{theme.id}/record.docx")
    assert download.status_code == 200 and download.data[:2] == b"PK"
    assert len(db.session.execute(select(ExportLog)).all()) == len(before) + 1
    empty = client.get("/console/papers?month=2026-12").get_data(as_text=True)
    assert "还没有已召开的会议" in empty and "2026-Q4" in empty
    assert client.get("/console/papers?month=2026-13").status_code == 400


def test_study_and_floating_pages(app, month, platform, clock):  # noqa: F811
    from bot.storage.models import FloatingContact

    client = app.test_client()
    sign_in(platform, client)
    study = client.get("/console/study?month=2026-11").get_data(as_text=True)
    row = study.split("<td>王志强</td>", 1)[1].split("</tr>", 1)[0]
    assert "<td>1</td><td>40</td>" in row and "党章第三章" in row and "心得：要把学习成果" in row
    assert "排名" not in study.replace("不排名次", "")
    floating = client.get("/console/floating").get_data(as_text=True)
    assert "张建国" in floating and "苏州" in floating  # 张建国 reported out in the fixture
    token = floating.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    zhang = store.members_by_name("张建国")[0]
    future = client.post("/console/floating", data={
        "member": zhang.id, "on": "2026-12-30", "note": "x", "csrf_token": token})
    assert "不能晚于今天" in future.get_data(as_text=True)
    done = client.post("/console/floating", data={
        "member": zhang.id, "on": "2026-11-21", "note": "电话联系，一切正常",
        "csrf_token": token}).get_data(as_text=True)
    assert "已记录：2026年11月21日联系了张建国" in done
    contact = db.session.execute(select(FloatingContact).order_by(FloatingContact.id.desc())
                                 ).scalars().first()
    assert (contact.note, contact.by) == ("电话联系，一切正常",
                                          f"member:{store.members_by_name('李红梅')[0].id}")


def test_who_may_reach_what(app, month, platform, tmp_path, clock):  # noqa: F811
    """A member and another branch's secretary: refused (401/404), and nothing changes."""
    from bot.members.roster import import_file
    from bot.storage.models import ConsoleChange, Meeting, MeetingAttendance
    from tests.helpers import write_roster

    branch, theme, committee = month
    assert "控制台只对支部书记" in platform.text("o_liu", "控制台")  # 刘海波: a member
    import_file(write_roster(tmp_path / "other.csv", [
        "钱伟,13900139001,第二党支部,,正式党员,书记,在职,5000,否"]), clock(), "机关党委")
    db.session.commit()
    qian = store.members_by_name("钱伟")[0]
    code = store.invite_code_for(qian, clock(), 30).code
    db.session.commit()
    assert "绑定成功" in platform.text("o_qian", f"绑定 {code}")
    other = app.test_client()
    sign_in(platform, other, "o_qian")  # the second branch's own secretary
    assert "第二党支部 控制台" in other.get("/console/").get_data(as_text=True)
    token = other.get("/console/roster").get_data(as_text=True).split(
        'name="csrf_token" value="', 1)[1].split('"', 1)[0]
    wang = store.members_by_name("王志强")[0]
    notice_id = 1
    before = (db.session.execute(select(MeetingAttendance.attendance).order_by(
        MeetingAttendance.id)).all(), theme.starts_at, wang.phone)
    for path in (f"/console/meetings/{theme.id}", f"/console/meetings/{theme.id}/change",
                 f"/console/meetings/{theme.id}/record.docx", f"/console/roster/{wang.id}",
                 f"/console/roster/{wang.id}/behalf", f"/console/attendance/{theme.id}/{wang.id}",
                 f"/console/notices/{notice_id}"):
        assert other.get(path).status_code == 404, path
    for path, data in ((f"/console/meetings/{theme.id}/change", {"action": "cancel"}),
                       (f"/console/roster/{wang.id}", {"name": "x", "phone": "13900000000"}),
                       (f"/console/roster/{wang.id}/behalf", {"what": "yes",
                                                              "meeting": theme.id}),
                       (f"/console/attendance/{theme.id}/{wang.id}",
                        {"status": "present", "reason": "x"}),
                       ("/console/dues", {"month": "2026-11", "member": wang.id,
                                          "amount": "48.00", "method": "cash",
                                          "paid_on": "2026-11-21"}),
                       ("/console/floating", {"member": wang.id, "on": "2026-11-21"}),
                       ("/console/leave", {"number": 1, "decision": "deny"})):
        response = other.post(path, data={**data, "csrf_token": token})
        if path == "/console/leave":  # another branch's leave: answered like one not there
            assert "没有编号为 1 的待批请假" in response.get_data(as_text=True)
        else:
            assert response.status_code == 404, path
    db.session.expire_all()
    assert (db.session.execute(select(MeetingAttendance.attendance).order_by(
        MeetingAttendance.id)).all(), db.session.get(Meeting, theme.id).starts_at,
        store.members_by_name("王志强")[0].phone) == before
    assert db.session.execute(select(ConsoleChange)).first() is None
    papers = other.get("/console/papers?month=2026-11").get_data(as_text=True)
    assert f"/console/meetings/{theme.id}/record" not in papers and "还没有已召开的会议" in papers
    anonymous = app.test_client()
    for path in ("/console/", "/console/roster", "/console/dues", "/console/attendance",
                 "/console/study", "/console/floating", "/console/notices/new", "/console/leave",
                 "/console/papers"):
        assert anonymous.get(path).status_code == 401, path


def test_a_group_leader_sees_the_group_and_changes_only_what_is_theirs(app, month, platform,
                                                                        clock):  # noqa: F811
    """王志强, 党小组长 of 第二党小组: the group's members, meetings, matrix and study; 代登记 for
    them; nothing branch-wide (403), nobody of another group (404), no changes a leader makes."""
    from bot.storage.models import MeetingAttendance

    branch, theme, committee = month
    group = app.test_client()
    sign_in(platform, group, "o_wang")
    home = group.get("/console/").get_data(as_text=True)
    assert "第二党小组" in home and "今天需要您关注的事" not in home and "<svg" not in home
    assert "支委会" not in home and "党小组会（第二党小组）" in home
    assert "党小组会（第一党小组）" not in home and "改期 / 取消" not in home
    roster = group.get("/console/roster").get_data(as_text=True)
    assert "共 2 人" in roster and "刘海波" in roster and "张建国" not in roster
    assert "导入名册文件" not in roster
    matrix = group.get("/console/attendance?month=2026-11").get_data(as_text=True)
    assert "刘海波" in matrix and "李红梅" not in matrix and "第一党小组" not in matrix
    assert "张建国" not in group.get("/console/study?month=2026-11").get_data(as_text=True)
    for path in ("/console/leave", "/console/dues", "/console/notices", "/console/notices/new",
                 "/console/floating", "/console/compliance?quarter=2026-Q4",
                 "/console/papers?month=2026-11",
                 "/console/attendance.xlsx?month=2026-11", f"/console/meetings/{theme.id}",
                 f"/console/meetings/{theme.id}/change"):
        assert group.get(path).status_code == 403, path
    zhang, liu = (store.members_by_name(n)[0] for n in ("张建国", "刘海波"))
    assert group.get(f"/console/roster/{zhang.id}").status_code == 404  # another group's
    page = group.get(f"/console/roster/{liu.id}").get_data(as_text=True)
    assert "名册的修改请找支部书记" in page and 'name="phone"' not in page
    token = group.get(f"/console/roster/{liu.id}/behalf").get_data(as_text=True).split(
        'name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert group.post(f"/console/roster/{liu.id}", data={
        "action": "unbind", "csrf_token": token}).status_code == 403
    assert group.post(f"/console/attendance/{theme.id}/{liu.id}", data={
        "status": "present", "reason": "x", "csrf_token": token}).status_code == 403
    assert db.session.execute(select(MeetingAttendance.attendance).where(
        MeetingAttendance.meeting_id == theme.id, MeetingAttendance.member_id == liu.id)
        ).scalar_one() == "absent"
    study = group.post(f"/console/roster/{liu.id}/behalf", data={
        "what": "study", "day": "2026-11-21", "material": "党章", "minutes": "20",
        "csrf_token": token}).get_data(as_text=True)
    assert "已代刘海波记录今天的学习" in study  # 代登记 for the group: allowed
    from bot.storage.models import Meeting

    lecture = db.session.execute(select(Meeting).where(Meeting.kind == "party_lecture",
                                                       Meeting.status == "scheduled")).scalar_one()
    leave = group.post(f"/console/roster/{liu.id}/behalf", data={
        "what": "leave", "meeting": lecture.id, "reason": "住院", "approve": "1",
        "csrf_token": token}).get_data(as_text=True)
    assert "已代刘海波请假" in leave and "并已批准" not in leave  # entered; a leader decides
    assert db.session.execute(select(MeetingAttendance.leave_status).where(
        MeetingAttendance.meeting_id == lecture.id, MeetingAttendance.member_id == liu.id)
        ).scalar_one() == "pending"
    # a 委员 who is not a leader (宣传委员) sees the branch but changes nothing there
    from bot.storage.models import MemberRole

    li = store.members_by_name("李红梅")[0]
    db.session.execute(MemberRole.__table__.update().where(MemberRole.member_id == li.id)
                       .values(role="propaganda"))
    db.session.commit()
    committee_member = app.test_client()
    sign_in(platform, committee_member, "o_li")
    assert "第一党支部 控制台" in committee_member.get("/console/").get_data(as_text=True)
    assert committee_member.get("/console/leave").status_code == 403
    assert committee_member.get(f"/console/meetings/{theme.id}/change").status_code == 403


def test_a_dues_sheet_imported_from_the_page_all_rows_or_none(app, platform, tmp_path, clock):
    from io import BytesIO

    from bot.members.roster import import_file
    from bot.storage.models import ConsoleChange, DuesPayment
    from tests.helpers import write_roster

    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"))
    import_file(write_roster(tmp_path / "other.csv", [
        "王志强,13900139003,第二党支部,,正式党员,书记,在职,4800,否"]), clock(), "机关党委")
    db.session.commit()  # a namesake of 王志强 in another branch
    client = app.test_client()
    sign_in(platform, client)
    token = client.get("/console/dues?month=2026-11").get_data(as_text=True).split(
        'name="csrf_token" value="', 1)[1].split('"', 1)[0]

    def upload(text: str):
        return client.post("/console/dues/import", data={
            "file": (BytesIO(text.encode("utf-8")), "党费.csv"), "csrf_token": token},
            content_type="multipart/form-data").get_data(as_text=True)

    bad = upload("姓名,月份,金额,所在党支部\n王志强,11月,48.00,\n张建国,11月,1.00,\n"
                 "李红梅,11月,93.00,第二党支部\n")
    assert "整张表都没有记录" in bad and "<td>3</td>" in bad and "只能导入本支部" in bad
    assert db.session.execute(select(DuesPayment)).first() is None
    good = upload("姓名,月份,金额,方式\n王志强,11月,48.00,转账\n张建国,11月,127.50,现金\n")
    assert "已记录 2 笔，共 175.50 元" in good
    paid = {p.member_id for p in db.session.execute(select(DuesPayment)).scalars()}
    assert paid == {store.members_by_name("王志强", branch="第一党支部")[0].id,
                    store.members_by_name("张建国")[0].id}  # not the other branch's 王志强
    assert [c.kind for c in db.session.execute(select(ConsoleChange)).scalars()] == ["dues_import"]
    assert "没有导入" in upload("这不是表\n")
