"""The audit log: who did what, when and from where.

Actions written: ``login``, ``login_failed``, ``login_throttled``, ``logout``, ``session_expired``,
``token_login``, ``token_refused``, ``token_issued``, ``token_revoked``, ``user_created``, ``user_changed``,
``export``, ``report``, ``unmasked_view``, ``import``, ``forbidden``. Rows are only ever inserted.
``login_throttled`` is written once per lock of an address (data/access/accounts.py), not for each refused attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, insert, select

from data.access.masking import scrub_text
from data.core.schema import AuditEntry
from data.core.timeutil import now_utc

if TYPE_CHECKING:
    from data.access.roles import Principal

ACTIONS = ("login", "login_failed", "login_throttled", "logout", "session_expired", "token_login",
           "token_refused", "token_issued", "token_revoked", "user_created", "user_changed", "export", "report",
           "unmasked_view", "import", "forbidden", "settings_changed")
_TABLE = AuditEntry.__table__


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    target: str
    detail: str
    ip: str


def record(conn: Connection, who: Principal | str, action: str, target: str = "", detail: str = "",
           ip: str = "", role: str = "", at: datetime | None = None) -> None:
    """Append one entry. ``who`` is a Principal or, before anyone is known (a failed login), a name."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if not isinstance(who, str):
        who, role = who.audit_name, role or who.role
    conn.execute(insert(_TABLE).values(at=at or now_utc(), actor=who[:80], role=role, action=action,
                                       target=target[:300], detail=detail, ip=ip[:64]))


def count_since(conn: Connection, action: str, since: datetime, actor: str | None = None,
                ip: str | None = None, detail: str | None = None) -> int:
    """How many ``action`` entries since ``since``, for one actor, one address and/or one detail."""
    stmt = select(func.count()).select_from(_TABLE).where(_TABLE.c.action == action, _TABLE.c.at >= since)
    if actor is not None:
        stmt = stmt.where(_TABLE.c.actor == actor)
    if ip is not None:
        stmt = stmt.where(_TABLE.c.ip == ip)
    if detail is not None:
        stmt = stmt.where(_TABLE.c.detail == detail)
    return conn.execute(stmt).scalar_one()


def times_since(conn: Connection, action: str, since: datetime, ip: str) -> list[datetime]:
    """When ``action`` was written for the address ``ip`` since ``since``, oldest first."""
    stmt = (select(_TABLE.c.at).where(_TABLE.c.action == action, _TABLE.c.ip == ip, _TABLE.c.at >= since)
            .order_by(_TABLE.c.at))
    return list(conn.execute(stmt).scalars())


def entries(conn: Connection, limit: int = 100, before_id: int | None = None, action: str | None = None,
            actor: str | None = None, since: datetime | None = None, *, unmasked: bool = False) -> list[Entry]:
    """The newest entries first, optionally filtered; page with ``before_id`` (the last id shown).

    Targets and details are free text (an upload's file name, a quarantined row's reasons): they go through
    the scrubber unless ``unmasked``; the table keeps them as written."""
    stmt = select(_TABLE).order_by(_TABLE.c.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(_TABLE.c.id < before_id)
    if action:
        stmt = stmt.where(_TABLE.c.action == action)
    if actor:
        stmt = stmt.where(_TABLE.c.actor == actor)
    if since is not None:
        stmt = stmt.where(_TABLE.c.at >= since)
    shown = (lambda value: value) if unmasked else scrub_text
    return [Entry(r.id, r.at, r.actor, r.role, r.action, shown(r.target), shown(r.detail), r.ip)
            for r in conn.execute(stmt)]


def window(minutes: int, now: datetime | None = None) -> datetime:
    """The instant ``minutes`` before now."""
    return (now or now_utc()) - timedelta(minutes=minutes)
