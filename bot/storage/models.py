"""The tables: organisation, members, WeChat links, invite codes, inbound and outbound logs."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer,
                        Numeric, String, Text, UniqueConstraint, false)
from sqlalchemy.types import TypeDecorator
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.storage.engine import db


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC on every database; read back as an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    @property
    def python_type(self):  # (a TypeDecorator says `object`: 撤回 needs to know)
        return datetime

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class Committee(db.Model):
    """党委: the Party committee above the branches."""

    __tablename__ = "committees"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    branches: Mapped[list[Branch]] = relationship(back_populates="committee")


class Branch(db.Model):
    """党支部: the unit the bot serves. `settings` holds the branch's local-practice overrides."""

    __tablename__ = "branches"
    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id"))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    # The day the branch began to keep its records here (its first roster import, or
    # `branches start`): nothing before it is planned, closed or counted (bot/meetings/store.py).
    started_on: Mapped[date | None] = mapped_column(Date)
    committee: Mapped[Committee] = relationship(back_populates="branches")
    groups: Mapped[list[PartyGroup]] = relationship(back_populates="branch")
    members: Mapped[list[Member]] = relationship(back_populates="branch")

    def setting(self, section: str, defaults: dict) -> dict:
        """The branch's own `section` of settings over their defaults: the one place a branch's
        local practice is read (each topic's rules name their section and defaults)."""
        return {**defaults, **(self.settings or {}).get(section, {})}


class PartyGroup(db.Model):
    """党小组: a group inside one branch."""

    __tablename__ = "party_groups"
    __table_args__ = (UniqueConstraint("branch_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    name: Mapped[str] = mapped_column(String(100))
    branch: Mapped[Branch] = relationship(back_populates="groups")


class Member(db.Model):
    """党员: one member of one branch. The phone is the roster's key; views show it masked."""

    __tablename__ = "members"
    # a branch's members by name (roster look-ups, names shared in a branch)
    __table_args__ = (Index("ix_members_branch_name", "branch_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("party_groups.id"))
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="full")  # full 正式 / probationary 预备
    dues_category: Mapped[str | None] = mapped_column(String(20))
    dues_base: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    is_floating: Mapped[bool] = mapped_column(Boolean, default=False)  # 流动党员
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    # The member asked not to be chased (optional reminders); invitations still come.
    reminders_muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Joined the branch after it started (a later roster's new row, or its 转入日期): meetings
    # before this day are not theirs. None: a member since the branch's start.
    joined_on: Mapped[date | None] = mapped_column(Date)
    # Transferred out of the branch (转出) on this day: from it on the member is no longer in
    # the branch (meetings, dues, lists, the bot), their history before it is kept. left_to:
    # where to (转往何处), as the secretary wrote it. None: still a member.
    left_on: Mapped[date | None] = mapped_column(Date)
    left_to: Mapped[str | None] = mapped_column(String(100))
    # An unfinished dialogue (see dialogue()): {"topic", "state", "expires"}.
    conversation: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    branch: Mapped[Branch] = relationship(back_populates="members")
    group: Mapped[PartyGroup | None] = relationship()
    role_rows: Mapped[list[MemberRole]] = relationship(cascade="all, delete-orphan")
    wechat: Mapped[WechatUser | None] = relationship(back_populates="member", uselist=False)

    @property
    def roles(self) -> set[str]:
        """Role codes (secretary, organization, group_leader …); see bot.members.rules."""
        return {row.role for row in self.role_rows}

    @property
    def phone_masked(self) -> str:
        """138****5678: the only form of the phone number shown in lists and replies."""
        from bot.members.rules import mask_phone

        return mask_phone(self.phone)

    # The member's unfinished dialogue (the reason a leave request waits for, an 外出报告 being
    # filled in) lives on their row: read with the member for free on every message, saved or
    # dropped with the message's own transaction. One dialogue at a time, each with its expiry.
    def dialogue(self, topic: str, now: datetime) -> dict | None:
        """The state of the member's `topic` dialogue, if one is open and not expired."""
        found = self.conversation
        if not found or found.get("topic") != topic:
            return None
        if datetime.fromisoformat(found["expires"]) <= now:
            return None
        return dict(found["state"])

    def start_dialogue(self, topic: str, state: dict, now: datetime, minutes: int) -> None:
        """Open (or continue) the member's dialogue; it lapses `minutes` from now."""
        self.conversation = {"topic": topic, "state": state,
                             "expires": (now + timedelta(minutes=minutes)).isoformat()}

    def end_dialogue(self) -> None:
        self.conversation = None

    def remember(self, kind: str, changes: list[tuple], summary: str, now: datetime) -> None:
        """Keep what this member's message changed — (row, what it was before, or None if the
        message made it) pairs — so that 撤回 within minutes can put it back
        (bot/chat/undo.py)."""
        if any(row.id is None for row, _ in changes):
            db.session.flush()
        db.session.add(MemberAction(
            member_id=self.id, kind=kind, summary=summary, created_at=now,
            undo={"rows": [{"table": row.__tablename__, "id": row.id, "before": before}
                           for row, before in changes]}))


def state_of(row, *columns: str) -> dict:
    """The values of a row's columns, as JSON (what an undo puts back)."""
    out = {}
    for name in columns:
        value = getattr(row, name)
        out[name] = value.isoformat() if isinstance(value, (date, datetime)) else \
            str(value) if isinstance(value, Decimal) else value
    return out


class MemberRole(db.Model):
    """One role a member holds in their branch (党内职务)."""

    __tablename__ = "member_roles"
    # a branch's 书记 or 组织委员 (named in replies), its leaders: found by role
    __table_args__ = (Index("ix_member_roles_role", "role"),)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"),
                                           primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class WechatUser(db.Model):
    """A follower of the official account, by openid; linked to a member once bound."""

    __tablename__ = "wechat_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), unique=True)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Start of the 48-hour customer-service window: the member's last message, click or follow.
    last_interaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    member: Mapped[Member | None] = relationship(back_populates="wechat")


class InviteCode(db.Model):
    """A one-time code a member sends as `绑定 CODE` to link their WeChat to the roster."""

    __tablename__ = "invite_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"),
                                           index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_openid: Mapped[str | None] = mapped_column(String(64))
    member: Mapped[Member] = relationship()


class InboundMessage(db.Model):
    """Every message and event the platform delivered, raw XML kept, with what we did with it."""

    __tablename__ = "inbound_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    # msg:<MsgId> or evt:<FromUserName>:<CreateTime>:<Event> — the platform's retries collide here.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    openid: Mapped[str | None] = mapped_column(String(64), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    msg_type: Mapped[str] = mapped_column(String(32))
    event: Mapped[str | None] = mapped_column(String(64))
    msg_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the platform's CreateTime
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    content: Mapped[str | None] = mapped_column(Text)  # text, or the voice Recognition
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    scale: Mapped[int | None] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(Text)
    raw_xml: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="processing")
    intent: Mapped[str | None] = mapped_column(String(32))
    slots: Mapped[dict | None] = mapped_column(JSON)
    reply: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboundMessage(db.Model):
    """One logical send to a member; `attempts` records every call made for it (channel, errcode)."""

    __tablename__ = "outbound_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    # The channel of the last attempt: custom (客服消息) or template (模板消息).
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(64))  # the prompts key that was sent
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # pending / sent / failed
    errcode: Mapped[int | None] = mapped_column(Integer)
    errmsg: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[list] = mapped_column(JSON, default=list)
    wechat_msgid: Mapped[int | None] = mapped_column(BigInteger, index=True)
    delivery_status: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Meeting(db.Model):
    """One meeting of 三会一课 or a 主题党日. `kind` is stored as in MEETING_KINDS
    (theme_day 主题党日, branch_assembly 支部党员大会, committee 支委会, group 党小组会,
    party_lecture 党课, org_life 组织生活会). `period` ties a meeting planned from a rule to its
    month, quarter or year, so planning again never duplicates it."""

    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("branch_id", "kind", "group_key", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("party_groups.id"))
    group_key: Mapped[int] = mapped_column(Integer, default=0)  # group_id or 0, for uniqueness
    kind: Mapped[str] = mapped_column(String(20))
    audience: Mapped[str] = mapped_column(String(16))  # branch / committee / group
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    place: Mapped[str | None] = mapped_column(String(200))
    topic: Mapped[str | None] = mapped_column(String(500))
    checkin_code: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled/cancelled/closed
    period: Mapped[str | None] = mapped_column(String(10))  # 2026-12 / 2026-Q4 / 2026; None if added
    moved_from: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the rule's date, if moved
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 补录: a meeting held before it was entered (`meetings add --at PAST --held`); its members'
    # statuses are what the secretary marks, the rest 未记录 (never 缺席).
    backfilled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The meeting record (记实表): who chaired and kept it, what was discussed and decided.
    host: Mapped[str | None] = mapped_column(String(50))
    recorder: Mapped[str | None] = mapped_column(String(50))
    content: Mapped[str | None] = mapped_column(Text)
    decisions: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    branch: Mapped[Branch] = relationship()
    group: Mapped[PartyGroup | None] = relationship()


class MeetingAttendance(db.Model):
    """One member's answer and attendance for one meeting (rows exist once something happened)."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"),
                                            index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    rsvp: Mapped[str | None] = mapped_column(String(8))  # yes / leave
    leave_reason: Mapped[str | None] = mapped_column(Text)
    leave_status: Mapped[str | None] = mapped_column(String(12))  # pending / approved / denied
    leave_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leave_decided_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    leave_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attendance: Mapped[str | None] = mapped_column(String(10))  # present/remote/excused/absent
    signed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None: the member's own answer; member:<id>: a leader entered it on their behalf (代登记)
    entered_by: Mapped[str | None] = mapped_column(String(100))


class AttendanceChange(db.Model):
    """The audit trail: every change to an attendance status (who, when, old, new, why)."""

    __tablename__ = "attendance_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"),
                                            index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    old: Mapped[str | None] = mapped_column(String(10))
    new: Mapped[str | None] = mapped_column(String(10))
    changed_by: Mapped[str] = mapped_column(String(100))  # member:<id>, cli, system
    reason: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Reminder(db.Model):
    """One reminder of one meeting for one member, at one slot of the cadence (3d, eve, 2h).

    pending → (claimed by a planner run with `claim`) sending → sent / failed / skipped.
    A send job sends only the rows still holding its own claim, so nothing goes out twice.
    """

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id", "slot"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"),
                                            index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    slot: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    claim: Mapped[str | None] = mapped_column(String(40), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outbound_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_messages.id"))
    note: Mapped[str | None] = mapped_column(String(100))  # why skipped / failed
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Notice(db.Model):
    """通知: a notice from a leader (or the CLI) to an audience of the branch.

    `audience` is all / committee / floating / group:NAME (bot/notices/rules.py). scheduled →
    (the fan-out has claimed it) sending → sent once every recipient's send is settled.
    """

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    audience: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)  # 紧急通知: not held by quiet hours
    status: Mapped[str] = mapped_column(String(10), default="scheduled", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 再提醒 (once)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the reminder goes

    branch: Mapped[Branch] = relationship()
    sender: Mapped[Member | None] = relationship()


class NoticeRecipient(db.Model):
    """A member a notice is addressed to (the audience as it was when it was confirmed), and
    when they acknowledged it (收到), and how: chat, menu (the one-tap option) or page."""

    __tablename__ = "notice_recipients"
    __table_args__ = (UniqueConstraint("notice_id", "member_id"),
                      Index("ix_notice_recipients_member_open", "member_id", "acked_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"),
                                           index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ack_via: Mapped[str | None] = mapped_column(String(10))


class NoticeSend(db.Model):
    """One push of a notice to one member: round 0 the notice, round 1 the reminder (再提醒).

    pending → (claimed) sending → sent / failed / skipped, as reminders (bot/wechat/fanout.py).
    """

    __tablename__ = "notice_sends"
    __table_args__ = (UniqueConstraint("notice_id", "member_id", "round"),
                      Index("ix_notice_sends_notice_round_status", "notice_id", "round",
                            "status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"),
                                           index=True)
    round: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    claim: Mapped[str | None] = mapped_column(String(40), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outbound_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_messages.id"))
    note: Mapped[str | None] = mapped_column(String(100))  # why skipped / failed
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StudyCheckin(db.Model):
    """学习打卡: one member's study on one day (a second check-in that day adds to the record,
    unless the branch counts several per day: then `seq` numbers them)."""

    __tablename__ = "study_checkins"
    __table_args__ = (UniqueConstraint("member_id", "day", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"),
                                           index=True)
    day: Mapped[date] = mapped_column(Date, index=True)  # Beijing date the study was done
    seq: Mapped[int] = mapped_column(Integer, default=1)
    material: Mapped[str | None] = mapped_column(Text)  # what was studied
    minutes: Mapped[int | None] = mapped_column(Integer)
    reflection: Mapped[str | None] = mapped_column(Text)  # 心得
    entries: Mapped[int] = mapped_column(Integer, default=1)  # messages merged into this record
    entered_by: Mapped[str | None] = mapped_column(String(100))  # member:<id>: 代登记
    # Digests of the messages merged (bot/study/checkins.py): the same text again is a repeat,
    # a different text never is.
    digests: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DuesBase(db.Model):
    """A member's dues category and base (党费基数) from a month on; the latest row whose month
    is not after a given month applies to it. `amount` is the branch-set monthly sum for 农民."""

    __tablename__ = "dues_bases"
    __table_args__ = (UniqueConstraint("member_id", "from_month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"),
                                           index=True)
    from_month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    category: Mapped[str] = mapped_column(String(20))  # see bot.members.rules
    base: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    set_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DuesPayment(db.Model):
    """党费 paid: one row per month covered (`month`), so 补交 and 预交 of several months are
    several rows sharing a `batch`; a voluntary extra payment (自愿多交) has no month."""

    __tablename__ = "dues_payments"
    __table_args__ = (UniqueConstraint("member_id", "month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"),
                                           index=True)
    month: Mapped[str | None] = mapped_column(String(7), index=True)  # YYYY-MM; None: voluntary
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    paid_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(16))  # cash / transfer / online / proxy
    paid_by: Mapped[str | None] = mapped_column(String(50))  # 代交: who paid for the member
    batch: Mapped[str] = mapped_column(String(32), index=True)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FloatingPeriod(db.Model):
    """外出: a member away from home without transferring their 组织关系 (流动党员), from the
    外出报告 to the 返回报告; `contact_person_id` keeps contact for the branch (一人一台帐)."""

    __tablename__ = "floating_periods"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"),
                                           index=True)
    # 务工, 经商, 求学 …; the city. None where the roster marked the member floating without
    # saying (source "roster"): the bot asks the member at their next message.
    reason: Mapped[str | None] = mapped_column(String(50))
    destination: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(8), default="chat", server_default="chat")
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # missing details asked for
    place: Mapped[str | None] = mapped_column(String(200))  # employer or place, if given
    left_on: Mapped[date] = mapped_column(Date)
    expected_return: Mapped[date | None] = mapped_column(Date)
    contact_phone: Mapped[str | None] = mapped_column(String(20))  # if changed while away
    contact_person_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    returned_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FloatingReport(db.Model):
    """月度汇报: one per member and month, assembled from one message or several; the location
    is kept at the precision the member sent (a place in words, or coordinates and label)."""

    __tablename__ = "floating_reports"
    __table_args__ = (UniqueConstraint("member_id", "month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"),
                                           index=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("floating_periods.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))
    place: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    content: Mapped[str | None] = mapped_column(Text)  # work, study, party life, in their words
    party_life: Mapped[bool | None] = mapped_column(Boolean)  # joined the host's Party life
    parts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FloatingContact(db.Model):
    """A contact by the branch with a floating member (联系了张三，在苏州一切正常)."""

    __tablename__ = "floating_contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"),
                                           index=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("floating_periods.id", ondelete="CASCADE"))
    contacted_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(100))  # member:<id> or cli
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ExportLog(db.Model):
    """Who exported what, and when (domain.md, Privacy: log who exported branch data)."""

    __tablename__ = "export_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # attendance / …
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    period: Mapped[str] = mapped_column(String(10))  # 2026-11
    options: Mapped[dict] = mapped_column(JSON, default=dict)  # sheets, phones, locations, format
    exported_by: Mapped[str] = mapped_column(String(100))
    path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookNonce(db.Model):
    """A (timestamp, nonce) pair the webhook accepted, with a digest of the body it came with:
    the platform's signature covers the URL, not a plain body, so each pair is accepted with
    one body only (a retry repeats the body; a replay with another body is refused). Kept a few
    minutes past the freshness window, then pruned."""

    __tablename__ = "webhook_nonces"
    __table_args__ = (UniqueConstraint("timestamp", "nonce"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    nonce: Mapped[str] = mapped_column(String(64))
    body_sha: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ConsoleUser(db.Model):
    """A leader who may sign in to the console with a password, where a computer has no
    WeChat (`console add-user`); argon2 hash only. Access still follows the member's roles."""

    __tablename__ = "console_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"),
                                           unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConsoleChange(db.Model):
    """A change made on the console, and who made it (the roster edited, a member unbound, a
    meeting moved …): the console's audit trail, beside export_log for downloads."""

    __tablename__ = "console_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    by: Mapped[str] = mapped_column(String(100))  # member:<id>
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(100))  # member:<id>, meeting:<id> …
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # before → after
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ReviewItem(db.Model):
    """A text the bot was unsure of (asked back), that was undone, or that it did not
    understand — the words only, no sender — kept for review within the retention period
    (`flask --app wsgi intents review`): what the bot read, and what the person then chose."""

    __tablename__ = "review_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # asked / undone / unknown
    text: Mapped[str] = mapped_column(Text)
    read: Mapped[str] = mapped_column(String(40))  # the bot's reading
    chosen: Mapped[str | None] = mapped_column(String(40))  # what the person chose after
    confidence: Mapped[float | None] = mapped_column(Numeric(6, 4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed: Mapped[str | None] = mapped_column(String(40))


class MemberAction(db.Model):
    """What a member's message changed, so that 撤回 / 说错了 can undo it within minutes: the
    kind, what to restore (`undo`, for the topic that made the change) and the words to say
    what was undone. Kept after an undo (undone_at): the audit trail keeps both."""

    __tablename__ = "member_actions"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"),
                                           index=True)
    kind: Mapped[str] = mapped_column(String(20))  # rsvp / leave / study / report / …
    undo: Mapped[dict] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
