"""What a bureau has set up and what is missing (``/admin/setup``): one check per step of docs/onboarding.md.

Each check counts what is stored and says, in the admin's words, what is missing and where it is fixed: "尚未导入
派出所辖区" with the link to /admin/stations, "12,000 家企业没有从业人数" with the link to the registry import. The
counts are plain aggregates on the tables (an admin page, opened now and then; the event totals come from the
rollups, so a province's tens of millions of rows cost no scan).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, func, select

from data.core import organisation, rollups
from data.core.schema import (
    DeviceToken,
    Enterprise,
    Incident,
    NetworkClass,
    Park,
    QuarantineRow,
    Sector,
    Station,
    Team,
    User,
)
from data.counts import programme
from data.index import stored

OK, MISSING, PARTIAL, OPTIONAL = "ok", "missing", "partial", "optional"


@dataclass(frozen=True)
class Check:
    """One step of setting up: its state, what is stored, what is missing, and where it is fixed."""

    key: str
    label: str
    state: str  # ok | missing | partial | optional
    count: str  # what is stored, in words
    detail: str = ""  # what is missing, in words ("" when nothing is)
    fix: str = ""  # the page (or command) that fixes it


def _count(conn: Connection, model, *where) -> int:
    return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def _organisation(conn: Connection) -> Check:
    org = organisation.load(conn)
    if not org.short_name:
        return Check("organisation", "机构名称", MISSING, "未设置", "尚未设置机构名称：标题、报告和导出文件都用它",
                     "/admin/organisation")
    return Check("organisation", "机构名称", OK, org.short_name, fix="/admin/organisation")


def _stations(conn: Connection) -> Check:
    n = _count(conn, Station)
    if not n:
        return Check("stations", "派出所辖区", MISSING, "0 个派出所", "尚未导入派出所辖区", "/admin/stations")
    return Check("stations", "派出所辖区", OK, f"{n:,} 个派出所", fix="/admin/stations")


def _sectors(conn: Connection) -> Check:
    n = _count(conn, Sector)
    if not n:
        return Check("sectors", "行业分类", MISSING, "0 个行业",
                     "尚未导入行业分类：企业名录的行业和平安指数的同行比较都靠它", "/admin/imports")
    return Check("sectors", "行业分类", OK, f"{n:,} 个行业", fix="/admin/imports")


def _network(conn: Connection) -> Check:
    classes, units = _count(conn, NetworkClass), _count(conn, Enterprise, Enterprise.network_unit_class.is_not(None))
    teams = _count(conn, Team, Team.dissolved_on.is_(None))
    words = f"{classes:,} 个网格单位类别，{units:,} 个网格单位，{teams:,} 支自治队伍"
    return Check("network", "网格单位与自治队伍", OK if classes or teams else OPTIONAL, words,
                 "" if classes or teams else "尚未导入网格单位类别和自治队伍（平安指数的共治一项看队伍）",
                 "/admin/imports")


def _parks(conn: Connection) -> Check:
    n = _count(conn, Park)
    return Check("parks", "园区", OK if n else OPTIONAL, f"{n:,} 个园区",
                 "" if n else "尚未导入园区（没有园区可以不导）", "/admin/imports")


def _enterprises(conn: Connection) -> Check:
    open_ = Enterprise.closed_on.is_(None)
    n = _count(conn, Enterprise, open_)
    if not n:
        return Check("enterprises", "企业名录", MISSING, "0 家企业", "尚未导入企业名录：平安指数没有可评的企业",
                     "/admin/imports")
    no_workers = _count(conn, Enterprise, open_, Enterprise.workers.is_(None))
    no_point = _count(conn, Enterprise, open_, Enterprise.import_flags.like("%point_from_%"))
    bad_digit = _count(conn, Enterprise, open_, Enterprise.import_flags.like("%credit_code_check_digit%"))
    closed = _count(conn, Enterprise, Enterprise.closed_on.is_not(None))
    gaps = [text for count, text in ((no_workers, "家没有从业人数（平安指数用同行业中位数）"),
                                     (no_point, "家没有坐标（用园区或派出所的位置）"),
                                     (bad_digit, "家统一社会信用代码校验位不符")) if count
            for text in [f"{count:,} {text}"]]
    count = f"{n:,} 家企业" + (f"（另有 {closed:,} 家已不在名录中）" if closed else "")
    return Check("enterprises", "企业名录", PARTIAL if gaps else OK, count, "；".join(gaps), "/admin/imports")


def _programme(conn: Connection) -> Check:
    start = programme.programme_start(conn)
    if start is None:
        return Check("programme", "工作起始日", MISSING, "未设置",
                     "尚未设置工作起始日：成效对比和平安指数的基准年从它算起",
                     "flask --app app init-db --programme-start")
    return Check("programme", "工作起始日", OK, start.isoformat())


def _events(conn: Connection) -> Check:
    counts = rollups.event_totals(conn)
    total = sum(counts.values())
    words = f"警情 {counts['incidents']:,}、纠纷 {counts['disputes']:,}、隐患 {counts['hazards']:,}"
    if not total:
        return Check("events", "警情、纠纷、隐患", MISSING, words, "尚未导入任何事件", "/admin/imports")
    outside = _count(conn, Incident, Incident.import_flags.like("%out_of_area%"))
    share = outside / counts["incidents"] if counts["incidents"] else 0.0
    detail = f"{outside:,} 起警情（{share:.1%}）的坐标不在任何派出所辖区内" if outside else ""
    return Check("events", "警情、纠纷、隐患", PARTIAL if outside else OK, words, detail,
                 "/admin/stations" if outside else "/admin/imports")


def _quarantine(conn: Connection) -> Check:
    n = _count(conn, QuarantineRow, QuarantineRow.status == "open")
    return Check("quarantine", "待修正数据", PARTIAL if n else OK, f"{n:,} 行待修正",
                 f"{n:,} 行导入时被拒，等待修正后重新提交" if n else "", "/admin/quarantine")


def _people(conn: Connection) -> Check:
    users = _count(conn, User, User.active.is_(True))
    leaders = _count(conn, User, User.active.is_(True), User.role.in_(("leader", "analyst")))
    tokens = _count(conn, DeviceToken, DeviceToken.revoked_at.is_(None))
    words = f"{users:,} 个用户（领导、研判 {leaders:,}），{tokens:,} 块大屏"
    if not leaders or not tokens:
        missing = "、".join(w for w, n in (("领导或研判账号", leaders), ("大屏设备令牌", tokens)) if not n)
        return Check("people", "用户与大屏", PARTIAL, words, f"尚未建立{missing}", "/admin/users")
    return Check("people", "用户与大屏", OK, words, fix="/admin/users")


def _index(conn: Connection, today: date) -> Check:
    month = stored.latest_month(conn, today)
    if month is None:
        return Check("index", "平安指数", MISSING, "未计算",
                     "平安指数尚未算出：需要企业名录、工作起始日和事件（应用每 10 分钟计算一次本月指数）")
    return Check("index", "平安指数", OK, f"已算到 {month:%Y年%m月}")


def checks(conn: Connection, today: date) -> list[Check]:
    """Every step, in the order docs/onboarding.md takes them."""
    return [_organisation(conn), _stations(conn), _sectors(conn), _parks(conn), _enterprises(conn), _network(conn),
            _programme(conn), _events(conn), _quarantine(conn), _people(conn), _index(conn, today)]


GAPS = ("stations", "enterprises")  # what the screens say is missing, first first (figures/strings.py setup_gap_*)


def missing_reference(conn: Connection) -> str | None:
    """The first step a screen cannot do without that is missing: "stations" (尚未导入派出所辖区), "enterprises"
    (尚未导入企业名录), or None; the wall and the review say so instead of drawing empty panels."""
    if not _count(conn, Station):
        return "stations"
    if not _count(conn, Enterprise):
        return "enterprises"
    return None
