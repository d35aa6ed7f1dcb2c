"""Login, logout and device login; the gate in front of every page, callback and download; security headers.

- ``/login`` (a form with a CSRF token), ``/logout`` (confirm, then POST), ``/device#token=…`` (a wall screen:
  the token travels in the URL fragment, which no server log or Referer ever sees; assets/device.js posts it).
- ``gate`` runs before every request: static files and the login pages are open; everything else needs a
  session, and then the permission its path needs (web/pages.py) or, for a Dash callback, the
  permission of the module that registered it (``callbacks_need``). Anonymous: pages redirect to the login,
  callbacks and downloads answer 401. Not allowed: 403, audited.
- Sessions are Flask's signed cookies (Flask-Login on top). A user's session ends after
  ``EQIAN_SESSION_IDLE_MINUTES`` without a request or ``EQIAN_SESSION_HOURS`` after the login; a wall's lasts
  until its token is revoked. Who a session belongs to is re-checked against the database (through the
  cache, ``PRINCIPAL_SECONDS``), so a revoked token or a deactivated user is out within that time. A logout
  is written to the database (``ended_sessions``), so a copy of the cookie is refused at once on every worker
  whatever the cache is: only a shared Redis that answers may remember "not logged out" (for
  ``PRINCIPAL_SECONDS``, deleted by the logout); without one the database is asked on every request.
- Headers (flask-talisman): a Content-Security-Policy with the hashes of Dash's inline scripts, frame
  denial, nosniff, same-origin referrers; ``Cache-Control: no-store`` on everything but static files.
"""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
import time
import unicodedata
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

from flask import Blueprint, Response, current_app, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_talisman import Talisman
from flask_wtf import FlaskForm
from sqlalchemy.exc import SQLAlchemyError
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from data import service
from data.access import accounts as auth
from data.access import audit
from data.access.roles import ROLE_LABELS, ROLE_LABELS_EN, Principal
from data.core import cache as cache_module
from data.core import db
from data.core.cache import cache
from data.core.timeutil import now_utc
from figures.strings import t
from figures.text import org_title
from web import pages

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
login_manager = LoginManager()

PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/static/")
PUBLIC_PATHS = frozenset({"/login", "/device", "/_favicon.ico", "/favicon.ico"})
DASH_PREFIX = "/_dash-"
CALLBACK_PATH = "/_dash-update-component"
PRINCIPAL_SECONDS = 30
SEEN_EVERY_SECONDS = 60
CALLBACK_PERMISSIONS_KEY = "eqian_callback_permissions"


class SessionUser(UserMixin):
    """Flask-Login's view of a Principal; the session stores only ``kind:id``."""

    def __init__(self, principal: Principal):
        self.principal = principal

    def get_id(self) -> str:
        return f"{self.principal.kind}:{self.principal.id}"


class LoginForm(FlaskForm):
    username = StringField(validators=[DataRequired(), Length(max=64)])
    password = PasswordField(validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


class DeviceForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token: logout, revoke."""


def page_title(key: str, lang: str = "zh") -> str:
    """A page's title with the organisation's name (the templates' ``org_title``)."""
    return org_title(key, service.organisation_or_default(), lang)


def request_lang() -> str:
    return "en" if request.args.get("lang") == "en" or request.form.get("lang") == "en" else "zh"


def client_ip() -> str:
    return request.remote_addr or ""


def current_principal() -> Principal | None:
    """The principal of this request's session, or None."""
    user = current_user
    return user.principal if user and user.is_authenticated else None


def role_label(role: str, lang: str = "zh") -> str:
    return (ROLE_LABELS_EN if lang == "en" else ROLE_LABELS).get(role, role)


# -- sessions -------------------------------------------------------------------------------------------------

def _principal_key(kind: str, ident: int) -> str:
    return f"principal:{kind}:{ident}"


_NOT_READ = object()


def load_principal(kind: str, ident: int, cached=_NOT_READ) -> Principal | None:
    """The principal of a session id, from the cache or the database; None when revoked or inactive.
    ``cached``: what the caller already read from the cache under the principal's key (one round trip)."""
    key = _principal_key(kind, ident)
    if cached is _NOT_READ:
        cached = cache.get(key)
    if cached is not None:
        return cached or None
    try:
        with db.current_engine().connect() as conn:
            who = auth.user_principal(conn, ident) if kind == "user" else auth.device_principal(conn, ident)
    except SQLAlchemyError as exc:  # the database is away: the signed session vouches for itself meanwhile
        log.warning("account %s:%s not re-checked (database unavailable: %s)", kind, ident, exc.__class__.__name__)
        return _principal_from_session(kind, ident)
    cache.set(key, who or False, timeout=PRINCIPAL_SECONDS)
    return who


def _principal_from_session(kind: str, ident: int) -> Principal | None:
    """Who the signed session says it is (its name and role were written at login): used only while the
    database cannot be asked, so that a wall keeps its last frame instead of an error page."""
    name, role = session.get("name"), session.get("role")
    if not name or not role:
        return None
    return Principal(kind, ident, name.removeprefix("device:"), role)


def record_quietly(who, action: str, **fields) -> None:
    """An audit entry that must not turn a refusal or an ended session into an error page when the database
    is away (the log keeps it instead)."""
    try:
        with db.current_engine().begin() as conn:
            audit.record(conn, who, action, **fields)
    except SQLAlchemyError as exc:
        log.warning("audit entry %s by %s not written (database unavailable: %s)", action,
                    who if isinstance(who, str) else who.audit_name, exc.__class__.__name__)


def forget_principal(kind: str, ident: int) -> None:
    """Drop a cached principal after its account changed, so the change applies at once."""
    cache.delete(_principal_key(kind, ident))


def _expired(kind: str, now: float) -> bool:
    if kind != "user":
        return False
    config = current_app.config
    idle = now - session.get("seen", 0) > config["EQIAN_SESSION_IDLE_MINUTES"] * 60
    too_old = now - session.get("login_at", 0) > config["EQIAN_SESSION_HOURS"] * 3600
    return idle or too_old


@login_manager.user_loader
def _load_user(user_id: str):
    kind, _, ident = user_id.partition(":")
    if kind not in ("user", "device") or not ident.isdigit():
        return None
    # one cache round trip on the walls' hot path: has this session logged out, and who is it
    sid = session.get("sid", "")
    ended, live, cached = cache.get_many(_ended_key(sid), _live_key(sid), _principal_key(kind, int(ident)))
    if _logged_out(sid, ended, live):  # a late response re-sent its cookie, or someone copied it
        session.clear()
        return None
    now = time.time()
    if _expired(kind, now):
        _end_session("session_expired", detail=user_id)
        return None
    who = load_principal(kind, int(ident), cached)
    if who is None:
        _end_session("token_refused" if kind == "device" else "session_expired", detail=f"{user_id} revoked")
        return None
    if now - session.get("seen", 0) > SEEN_EVERY_SECONDS:
        session["seen"] = now
    return SessionUser(who)


def _end_session(action: str, detail: str) -> None:
    record_quietly(session.get("name", "?"), action, detail=detail, ip=client_ip(), role=session.get("role", ""))
    session.clear()
    session["ended"] = True


def _start_session(who: Principal) -> None:
    session.clear()
    login_user(SessionUser(who))
    session.permanent = True
    now = time.time()
    session.update(login_at=now, seen=now, name=who.audit_name, role=who.role, sid=secrets.token_urlsafe(16))


def _ended_key(sid: str) -> str:
    return f"session-ended:{sid}"


def _live_key(sid: str) -> str:
    return f"session-live:{sid}"


def _cache_is_shared() -> bool:
    """Whether the cache is one every process shares and it answers now (Redis), so a logout anywhere is seen."""
    backend = cache_module.backend(current_app)
    return isinstance(backend, cache_module.ResilientRedisCache) and backend.available


def _logged_out(sid: str, cached_ended, cached_live) -> bool:
    """Whether this session logged out. The database knows (``ended_sessions``); a shared cache that answers
    remembers its word for PRINCIPAL_SECONDS (a logout deletes it at once). Without one (no cache, a
    per-process one, Redis away) the database is asked on every request."""
    if cached_ended:
        return True
    if not sid:
        return False
    shared = _cache_is_shared()
    if shared and cached_live:
        return False
    ended = _ended_in_database(sid)
    if shared and ended is not None:
        if ended:
            cache.set(_ended_key(sid), True, timeout=int(current_app.permanent_session_lifetime.total_seconds()))
        else:
            cache.set(_live_key(sid), True, timeout=PRINCIPAL_SECONDS)
    return bool(ended)


def _ended_in_database(sid: str) -> bool | None:
    """The database's word on a session id; None while the database is away (the signed session then vouches
    for itself, as it does for who it belongs to)."""
    try:
        with db.current_engine().connect() as conn:
            return auth.session_ended(conn, sid)
    except SQLAlchemyError as exc:
        log.warning("session not checked for a logout (database unavailable: %s)", exc.__class__.__name__)
        return None


def _end_logged_out_session(who: Principal | None) -> None:
    """Audit the logout and remember its session id in the database and the cache, so a copy of the cookie is
    refused on every worker whatever the cache does."""
    sid = session.get("sid")
    lifetime = current_app.permanent_session_lifetime  # no copy of the cookie is accepted after that anyway
    try:
        with db.current_engine().begin() as conn:
            if who is not None:
                audit.record(conn, who, "logout", ip=client_ip())
            if sid:
                auth.end_session(conn, sid, now_utc() + lifetime)
    except SQLAlchemyError as exc:
        log.warning("logout of %s not recorded (database unavailable: %s)", who.audit_name if who else "?",
                    exc.__class__.__name__)
    if sid:
        cache.set(_ended_key(sid), True, timeout=int(lifetime.total_seconds()))
        cache.delete(_live_key(sid))


# -- the gate -------------------------------------------------------------------------------------------------

def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def page_permission(path: str) -> str | None:
    """The permission a path needs (web/pages.py: the wall at / needs "wall"); an unknown page needs only a login."""
    page = pages.guarding(path)
    return page.permission if page is not None else None


def callback_permission(server) -> str | None:
    """The permission of the callback a POST to /_dash-update-component asks for; "deny" if unknown."""
    try:
        body = request.get_json(silent=True) or {}
    except RecursionError:  # absurdly nested JSON: silent=True covers only ValueError
        return "deny"
    output = body.get("output") if isinstance(body, dict) else None
    if not isinstance(output, str):
        return "deny"
    return server.extensions.get(CALLBACK_PERMISSIONS_KEY, {}).get(output, "deny")


def _same_origin() -> bool:
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


def _deny(status: int, who: Principal | None, message: str) -> Response:
    if request.path.startswith(DASH_PREFIX):
        return Response(json.dumps({"error": message}), status=status, mimetype="application/json")
    if status == 401:
        return Response(message + "\n", status=401, mimetype="text/plain")
    lang = request_lang()
    detail = t("forbidden_detail", lang, role=role_label(who.role, lang)) if who else ""
    return Response(render_template("message.html", lang=lang, title=t("forbidden", lang), message=detail,
                                    back="/", back_label=t("to_wall", lang)), status=status)


def gate():
    """Before every request: let the public through, send the anonymous to log in, refuse the unentitled."""
    path = request.path
    if is_public(path):
        return None
    who = current_principal()
    if who is None:
        if path.startswith(DASH_PREFIX) or path.startswith("/export/") or request.method != "GET":
            return _deny(401, None, "login required")
        reason = "expired" if session.pop("ended", False) else "needed"
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?"), reason=reason))
    if path == CALLBACK_PATH:
        if not _same_origin():
            return _deny(403, who, "cross-origin request refused")
        permission = callback_permission(current_app)
    else:
        permission = page_permission(path)
    if permission is not None and not who.may(permission):
        record_quietly(who, "forbidden", target=path, detail=permission, ip=client_ip())
        return _deny(403, who, "forbidden")
    return None


@contextmanager
def callbacks_need(dash_app, permission: str | None):
    """Every callback registered inside this block needs ``permission`` (None: any logged-in user)."""
    before = set(dash_app.callback_map)
    yield
    table = dash_app.server.extensions.setdefault(CALLBACK_PERMISSIONS_KEY, {})
    for output in set(dash_app.callback_map) - before:
        table[output] = permission


def audit_downloads(response: Response) -> Response:
    """After every request: an export or a report that was sent is written to the audit log."""
    if request.path.startswith("/export/") and response.status_code == 200:
        who = current_principal()
        if who is not None:
            action = "report" if request.path.startswith("/export/report") else "export"
            record_quietly(who, action, target=request.path, detail=request.query_string.decode()[:500],
                           ip=client_ip())
    return response


def no_store(response: Response) -> Response:
    """Data and pages are never cached by the browser or a proxy; static files may be."""
    if not is_public(request.path) or request.path in ("/login", "/device"):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def content_security_policy(dash_app) -> dict:
    """The CSP the Dash app works under: its own origin only, Dash's inline scripts by hash."""
    tile_origin = ""
    tile_url = dash_app.server.config.get("EQIAN_TILE_URL") or ""
    if tile_url:
        parts = urlsplit(tile_url)
        tile_origin = f"{parts.scheme}://{parts.netloc}"
    extra = [tile_origin] if tile_origin else []
    return {
        "default-src": "'self'",
        "script-src": ["'self'", *dash_app.csp_hashes()],
        "style-src": ["'self'", "'unsafe-inline'"],  # plotly and React write style elements and attributes
        "img-src": ["'self'", "data:", "blob:", *extra],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", *extra],
        "worker-src": ["'self'", "blob:"],  # the map library runs its workers from blob: URLs
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def secure(dash_app) -> None:
    """Security headers on every response; call after every callback is registered (the CSP hashes them)."""
    server = dash_app.server
    production = server.config["EQIAN_ENV"] == "production"
    Talisman(server, force_https=False, strict_transport_security=production,
             session_cookie_secure=production, frame_options="DENY",
             content_security_policy=content_security_policy(dash_app), referrer_policy="same-origin")


# -- the pages ------------------------------------------------------------------------------------------------

MAX_NEXT = 2000  # a longer "next" did not come from this site's own links


def _safe_next(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default``: never another site, however it is spelled."""
    if not isinstance(target, str) or not target or len(target) > MAX_NEXT or not _plain(target):
        return default
    path = re.split(r"[?#]", target, maxsplit=1)[0]
    return target if all(_local_path(form) for form in _decodings(path)) else default


def _plain(text: str) -> bool:
    """No character a browser drops from a URL or reads as a slash (control characters, whitespace, backslash);
    a newline would also break the Location header."""
    return not any(ch.isspace() or ch == "\\" or unicodedata.category(ch).startswith("C") for ch in text)


def _decodings(path: str) -> set[str]:
    """The path and what it becomes when percent-decoded, once and again (``/%2F/x`` is ``//x`` once decoded)."""
    forms = {path}
    for _ in range(3):
        path = unquote(path)
        forms.add(path)
    return forms


def _local_path(path: str) -> bool:
    """One slash, then printable ASCII (no look-alike slashes), naming no scheme and no host."""
    if not all("!" <= ch <= "~" for ch in path) or "\\" in path:
        return False
    if not path.startswith("/") or path.startswith("//"):
        return False
    parts = urlsplit(path)
    return not parts.scheme and not parts.netloc


@bp.route("/login", methods=["GET", "POST"])
def login():
    lang = request_lang()
    form = LoginForm()
    if request.method == "GET":
        form.next.data = _safe_next(request.args.get("next"))
    message, status = _login_message(lang), 200
    if request.method == "POST":
        if not form.validate_on_submit():
            message, status = t("csrf_failed", lang) if form.csrf_token.errors else t("login_failed", lang), 400
        else:
            refused = None
            try:
                with db.current_engine().begin() as conn:  # the audit row is committed whatever the outcome
                    try:
                        who = auth.authenticate(conn, form.username.data.strip(), form.password.data, client_ip())
                    except auth.AuthError as exc:
                        refused = exc
            except SQLAlchemyError:
                return render_template("login.html", form=form, lang=lang, message=t("login_unavailable", lang)), 503
            if refused is None:
                _start_session(who)
                target = _safe_next(form.next.data, "/" if who.may("wall") else "/review")
                if not who.may(page_permission(urlsplit(target).path) or "wall"):
                    target = "/review" if who.may("review") else "/"
                return redirect(target)
            if isinstance(refused, auth.Throttled):
                return _throttled("login.html", form, lang, refused)
            message, status = t("login_failed", lang), 401
    return render_template("login.html", form=form, lang=lang, message=message), status


def _throttled(template: str, form, lang: str, refused: auth.Throttled) -> Response:
    """429 for a locked address, saying (and telling the client in Retry-After) how long the lock lasts."""
    message = t("login_throttled", lang, minutes=max(1, math.ceil(refused.retry_after / 60)))
    response = Response(render_template(template, form=form, lang=lang, message=message), status=429)
    response.headers["Retry-After"] = str(refused.retry_after)
    return response


def _login_message(lang: str) -> str:
    reason = request.args.get("reason")
    return {"expired": t("login_expired", lang), "needed": t("login_needed", lang),
            "logged_out": t("login_logged_out", lang)}.get(reason, "")


@bp.route("/device", methods=["GET", "POST"])
def device():
    """A wall screen logs in with its token (posted by assets/device.js from the URL fragment)."""
    lang = request_lang()
    form = DeviceForm()
    if request.method == "GET":
        return render_template("device.html", form=form, lang=lang, message="")
    if not form.validate_on_submit():
        return render_template("device.html", form=form, lang=lang, message=t("csrf_failed", lang)), 400
    refused = None
    try:
        with db.current_engine().begin() as conn:
            try:
                who = auth.token_login(conn, form.token.data, client_ip())
            except auth.AuthError as exc:
                refused = exc
    except SQLAlchemyError:
        return render_template("device.html", form=form, lang=lang, message=t("login_unavailable", lang)), 503
    if isinstance(refused, auth.Throttled):
        return _throttled("device.html", form, lang, refused)
    if refused is not None:
        return render_template("device.html", form=form, lang=lang, message=t("token_refused", lang)), 401
    _start_session(who)
    return redirect(_safe_next(form.next.data, "/?kiosk=1"))


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    lang = request_lang()
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        _end_logged_out_session(current_principal())
        logout_user()
        session.clear()
        return redirect(url_for("auth.login", reason="logged_out"))
    return render_template("logout.html", form=form, lang=lang), (400 if request.method == "POST" else 200)


@bp.get("/session")
def whoami():
    """Who this session belongs to (the gate has already refused an anonymous request)."""
    who = current_principal()
    return {"name": who.name, "kind": who.kind, "role": who.role, "label": role_label(who.role, request_lang())}


def register(server) -> None:
    """Sessions, the gate, the login pages and the download audit on the Flask server."""
    login_manager.init_app(server)
    login_manager.session_protection = "basic"
    server.register_blueprint(bp)
    server.before_request(gate)
    server.after_request(audit_downloads)
    server.after_request(no_store)
