"""Who may see what: roles, their permissions, and the one gate in front of unmasked personal data.

A ``Principal`` is whoever is asking: a user who logged in with a password, a wall screen that logged in
with a device token, or the system itself (CLI runs, background jobs). Data functions that can return
personal data take a ``viewer`` and call ``reveal``: only a viewer with the ``unmasked`` permission gets
the plain values, and every such view is written to the audit log there, so no caller can forget either.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from data.access import audit

WALL, LEADER, ANALYST, ADMIN = "wall", "leader", "analyst", "admin"
ROLE_LABELS = {WALL: "大屏", LEADER: "领导", ANALYST: "研判", ADMIN: "管理员"}
ROLE_LABELS_EN = {WALL: "Wall screen", LEADER: "Leader", ANALYST: "Analyst", ADMIN: "Administrator"}

# permission -> what it opens
#   wall      the wall cockpit (/, /wall)
#   review    the leadership review, enterprise profiles
#   export    downloads: tables, charts, reports
#   unmasked  callers' names, phones and exact addresses in plain text
#   admin     users, device tokens, the audit log, data intake
PERMISSIONS: dict[str, frozenset[str]] = {
    WALL: frozenset({"wall"}),
    LEADER: frozenset({"wall", "review", "export"}),
    ANALYST: frozenset({"wall", "review", "export", "unmasked"}),
    ADMIN: frozenset({"wall", "review", "export", "admin"}),
}


@dataclass(frozen=True)
class Principal:
    """Whoever is asking. ``kind`` is "user", "device" or "system"; ``name`` is what the audit log shows."""

    kind: str
    id: int
    name: str
    role: str

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    @property
    def audit_name(self) -> str:
        return f"device:{self.name}" if self.kind == "device" else self.name


MASKED = Principal("system", 0, "system", LEADER)  # the default viewer: sees everything masked
ANALYST_SYSTEM = Principal("system", 0, "system", ANALYST)  # CLI `report --unmasked`, audited as "system"


def reveal(conn: Connection, viewer: Principal, what: str, target: str) -> bool:
    """Whether ``viewer`` sees ``what`` (about ``target``) unmasked; an unmasked view is audited on ``conn``."""
    if not viewer.may("unmasked"):
        return False
    with conn.engine.begin() as own:  # committed now, whatever becomes of the caller's transaction
        audit.record(own, viewer, "unmasked_view", target=target, detail=what)
    return True
