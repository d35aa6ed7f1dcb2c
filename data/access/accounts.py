"""Accounts: users with passwords, wall screens with device tokens, login throttling, demo accounts.

Passwords are hashed with werkzeug's standard scheme (scrypt); device tokens are random 256-bit strings of
which only the SHA-256 is stored, so a database dump reveals neither.

Throttling locks out the address that guesses, not the account it guesses at: MAX_FAILURES_PER_ADDRESS
failed logins (or unknown device tokens) from one address within THROTTLE_MINUTES lock that address for
LOCK_SECONDS, twice as long for each further lock within BACKOFF_HOURS. The account's owner logging in from
another address is not affected. A locked address is refused before any password is checked and without an
audit row (the lock's own ``login_throttled`` row stands for it), so one address writes at most
MAX_FAILURES_PER_ADDRESS + 1 rows per lock. Everything is counted from the audit log, so it holds across
gunicorn workers and app hosts without another store. Ended (logged-out) sessions are kept in the database
for the same reason (``end_session``).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from data.access import audit
from data.access.roles import ADMIN, ANALYST, LEADER, WALL, Principal
from data.core.schema import DeviceToken, EndedSession, User
from data.core.timeutil import now_utc
from data.core.vocab import USER_ROLES

MIN_PASSWORD_LENGTH = 10
THROTTLE_MINUTES = 15  # failed attempts older than this are forgotten
MAX_FAILURES_PER_ADDRESS = 5  # within THROTTLE_MINUTES (and since the address's last lock): then it is locked
LOCK_SECONDS = 60  # the first lock of an address; each further one within BACKOFF_HOURS lasts twice as long
MAX_LOCK_SECONDS = 24 * 3600
BACKOFF_HOURS = 24
UNKNOWN_TOKEN = "unknown token"  # a guessed device token (a revoked one is a real wall, not an attacker)
_DUMMY_HASH = generate_password_hash("not-a-password-" + secrets.token_hex(8))

# The demo's ready-made accounts (README). Created only on a demo database.
DEMO_PASSWORDS = {"leader": ("领导（演示）", LEADER, "demo-leader-2026"),
                  "analyst": ("研判（演示）", ANALYST, "demo-analyst-2026"),
                  "admin": ("管理员（演示）", ADMIN, "demo-admin-2026")}
DEMO_WALL_TOKEN = ("指挥室大屏（演示）", "demo-wall-token-2026")


class AuthError(ValueError):
    """A refused account operation or login; the message is safe to show."""


class Throttled(AuthError):
    """Too many failed logins from this address; ``retry_after`` seconds until it may try again."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed logins from this address: try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    display_name: str
    role: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True)
class TokenRow:
    id: int
    name: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")


def _check_role(role: str) -> None:
    if role not in USER_ROLES or role == WALL:
        raise AuthError(f"role {role!r} is not a user role (use leader, analyst or admin; walls use device tokens)")


def create_user(conn: Connection, username: str, password: str, role: str, display_name: str = "",
                by: Principal | str = "system") -> int:
    """Add a user; refuses a taken name, a short password or an unknown role."""
    username = username.strip()
    if not username or len(username) > 64:
        raise AuthError("username must have 1 to 64 characters")
    _check_role(role)
    _check_password(password)
    if conn.execute(select(User.id).where(User.username == username)).first():
        raise AuthError(f"user {username!r} exists already")
    new_id = conn.execute(User.__table__.insert().values(
        username=username, display_name=display_name or username, role=role,
        password_hash=generate_password_hash(password), active=True, created_at=now_utc())).inserted_primary_key[0]
    audit.record(conn, by, "user_created", target=username, detail=f"role={role}")
    return new_id


def change_user(conn: Connection, username: str, by: Principal | str, role: str | None = None,
                active: bool | None = None, password: str | None = None) -> None:
    """Change a user's role, active flag or password."""
    values: dict = {}
    if role is not None:
        _check_role(role)
        values["role"] = role
    if active is not None:
        values["active"] = active
    if password is not None:
        _check_password(password)
        values["password_hash"] = generate_password_hash(password)
    if not values:
        return
    changed = conn.execute(update(User).where(User.username == username).values(**values)).rowcount
    if not changed:
        raise AuthError(f"no user {username!r}")
    detail = ", ".join(f"{k}={v}" for k, v in values.items() if k != "password_hash")
    audit.record(conn, by, "user_changed", target=username,
                 detail=detail + (", password reset" if password is not None else ""))


def users(conn: Connection) -> list[UserRow]:
    return [UserRow(r.id, r.username, r.display_name, r.role, r.active, r.created_at, r.last_login_at)
            for r in conn.execute(select(User.__table__).order_by(User.username))]


@dataclass(frozen=True)
class Lock:
    """A lock of one address: when it began and its place in the address's back-off (1 for the first)."""

    started: datetime
    level: int

    @property
    def until(self) -> datetime:
        return self.started + timedelta(seconds=lock_seconds(self.level))


def lock_seconds(level: int) -> int:
    """How long the ``level``-th lock of an address within BACKOFF_HOURS lasts: doubling, capped."""
    return min(LOCK_SECONDS * 2 ** min(level - 1, 32), MAX_LOCK_SECONDS)


def _locks(conn: Connection, ip: str, now: datetime) -> list[datetime]:
    """When the address was locked, oldest first, as far back as a lock can still matter."""
    reach = timedelta(hours=BACKOFF_HOURS, seconds=MAX_LOCK_SECONDS)
    return audit.times_since(conn, "login_throttled", now - reach, ip=ip)


def last_lock(conn: Connection, ip: str, now: datetime | None = None) -> Lock | None:
    """The address's latest lock (it may be over by now), or None."""
    now = now or now_utc()
    times = _locks(conn, ip[:64], now)
    if not times:
        return None
    started = times[-1]
    return Lock(started, sum(1 for t in times if t >= started - timedelta(hours=BACKOFF_HOURS)))


def check_address(conn: Connection, ip: str, now: datetime | None = None) -> None:
    """Raise Throttled while the address is locked (nothing is written: its lock's row stands for it)."""
    now = now or now_utc()
    lock = last_lock(conn, ip, now)
    if lock is not None and now < lock.until:
        raise Throttled(math.ceil((lock.until - now).total_seconds()))


def _failures_since(conn: Connection, ip: str, since: datetime) -> int:
    """Failed logins and guessed device tokens from the address since ``since``."""
    return (audit.count_since(conn, "login_failed", since, ip=ip)
            + audit.count_since(conn, "token_refused", since, ip=ip, detail=UNKNOWN_TOKEN))


def _record_failure(conn: Connection, actor: str, action: str, detail: str, ip: str, now: datetime,
                    role: str = "") -> None:
    """Audit one failed attempt; the one that makes MAX_FAILURES_PER_ADDRESS locks the address."""
    ip = ip[:64]
    audit.record(conn, actor, action, detail=detail, ip=ip, role=role, at=now)
    lock = last_lock(conn, ip, now)
    since = audit.window(THROTTLE_MINUTES, now)
    if lock is not None:
        since = max(since, lock.until)
    if _failures_since(conn, ip, since) < MAX_FAILURES_PER_ADDRESS:
        return
    level = 1 + sum(1 for t in _locks(conn, ip, now) if t >= now - timedelta(hours=BACKOFF_HOURS))
    audit.record(conn, actor, "login_throttled", ip=ip, at=now, role=role,
                 detail=f"address locked for {lock_seconds(level)} s after {MAX_FAILURES_PER_ADDRESS} failed "
                        f"attempts (lock {level} within {BACKOFF_HOURS} h)")


def authenticate(conn: Connection, username: str, password: str, ip: str = "",
                 now: datetime | None = None) -> Principal:
    """The user for a name and password, audited either way; raises AuthError, or Throttled for a locked address."""
    now = now or now_utc()
    check_address(conn, ip, now)
    row = conn.execute(select(User.__table__).where(User.username == username)).first()
    ok = check_password_hash(row.password_hash if row else _DUMMY_HASH, password)  # same work when unknown
    if not (row and ok and row.active):
        reason = "unknown user" if row is None else ("inactive" if ok else "wrong password")
        _record_failure(conn, username, "login_failed", reason, ip, now)
        raise AuthError("wrong username or password")
    conn.execute(update(User).where(User.id == row.id).values(last_login_at=now))
    who = Principal("user", row.id, row.username, row.role)
    audit.record(conn, who, "login", ip=ip, at=now)
    return who


def user_principal(conn: Connection, user_id: int) -> Principal | None:
    """The principal of an active user, or None."""
    row = conn.execute(select(User.id, User.username, User.role, User.active).where(User.id == user_id)).first()
    if row is None or not row.active:
        return None
    return Principal("user", row.id, row.username, row.role)


def issue_token(conn: Connection, name: str, by: Principal | str, token: str | None = None) -> tuple[int, str]:
    """A new device token for a wall screen: (id, the token). The token is shown once and never stored."""
    name = name.strip()
    if not name or len(name) > 64:
        raise AuthError("a device name must have 1 to 64 characters")
    token = token or secrets.token_urlsafe(32)
    new_id = conn.execute(DeviceToken.__table__.insert().values(
        name=name, token_hash=hash_token(token), created_by=by if isinstance(by, str) else by.audit_name,
        created_at=now_utc())).inserted_primary_key[0]
    audit.record(conn, by, "token_issued", target=f"{new_id}:{name}")
    return new_id, token


def revoke_token(conn: Connection, token_id: int, by: Principal | str) -> None:
    changed = conn.execute(update(DeviceToken).where(DeviceToken.id == token_id, DeviceToken.revoked_at.is_(None))
                           .values(revoked_at=now_utc())).rowcount
    if not changed:
        raise AuthError(f"no active device token {token_id}")
    audit.record(conn, by, "token_revoked", target=str(token_id))


def tokens(conn: Connection) -> list[TokenRow]:
    return [TokenRow(r.id, r.name, r.created_by, r.created_at, r.revoked_at, r.last_used_at)
            for r in conn.execute(select(DeviceToken.__table__).order_by(DeviceToken.id))]


def token_login(conn: Connection, token: str, ip: str = "", now: datetime | None = None) -> Principal:
    """The wall principal of a valid, unrevoked device token (audited); raises AuthError, or Throttled for an
    address locked by failed attempts."""
    now = now or now_utc()
    check_address(conn, ip, now)
    digest = hash_token(token or "")
    row = conn.execute(select(DeviceToken.__table__).where(DeviceToken.token_hash == digest)).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        if row is None:
            _record_failure(conn, "device:?", "token_refused", UNKNOWN_TOKEN, ip, now, role=WALL)
        else:
            audit.record(conn, f"device:{row.name}", "token_refused", ip=ip, detail="revoked", role=WALL, at=now)
        raise AuthError("this device token is not valid")
    conn.execute(update(DeviceToken).where(DeviceToken.id == row.id).values(last_used_at=now_utc()))
    who = Principal("device", row.id, row.name, WALL)
    audit.record(conn, who, "token_login", target=str(row.id), ip=ip)
    return who


def device_principal(conn: Connection, token_id: int) -> Principal | None:
    """The wall principal of an unrevoked device token, or None."""
    row = conn.execute(select(DeviceToken.id, DeviceToken.name, DeviceToken.revoked_at)
                       .where(DeviceToken.id == token_id)).first()
    if row is None or row.revoked_at is not None:
        return None
    return Principal("device", row.id, row.name, WALL)


def end_session(conn: Connection, sid: str, expires_at: datetime, now: datetime | None = None) -> None:
    """Remember that the session ``sid`` logged out (until ``expires_at``); forget the ones whose time is up."""
    now = now or now_utc()
    conn.execute(delete(EndedSession).where(EndedSession.expires_at < now))
    if not session_ended(conn, sid):
        conn.execute(insert(EndedSession).values(sid=sid, ended_at=now, expires_at=expires_at))


def session_ended(conn: Connection, sid: str) -> bool:
    """Whether the session ``sid`` logged out."""
    return conn.execute(select(EndedSession.sid).where(EndedSession.sid == sid)).first() is not None


def ensure_demo_accounts(conn: Connection) -> None:
    """The demo's leader, analyst and admin users and its wall token, when they do not exist yet."""
    existing = set(conn.execute(select(User.username)).scalars())
    for username, (display, role, password) in DEMO_PASSWORDS.items():
        if username not in existing:
            create_user(conn, username, password, role, display, by="demo")
    name, token = DEMO_WALL_TOKEN
    if not conn.execute(select(DeviceToken.id).where(DeviceToken.token_hash == hash_token(token))).first():
        issue_token(conn, name, "demo", token=token)
