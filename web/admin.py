"""The admin pages (Flask views with CSRF-protected forms; the gate lets only the admin role in).

- ``/admin/users``: the users, a form to add one, per user a role change, (de)activation, password reset;
- ``/admin/tokens``: the wall screens' device tokens; issue one (shown once, with the wall's login link), revoke;
- ``/admin/audit``: the audit log, newest first, filtered by action and actor, paged;
- ``/admin/organisation``: the organisation's name, short name, place and network name (data/core/organisation.py),
  and, in its second form (``/admin/programme``), the programme start, the index's base year and band limits
  (data/index/settings.py); every change audited with its old and new words.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from data import service
from data.access import accounts as auth
from data.access import audit
from data.access.roles import ADMIN, ANALYST, LEADER
from data.core import db
from data.core import organisation as org_settings
from data.core.timeutil import local_today, now_utc, to_local
from data.index import jobs, safety_index
from data.index import settings as index_settings
from web.gate import ConfirmForm, current_principal, forget_principal, request_lang, role_label
from web.inputs import MAX_ID

bp = Blueprint("admin", __name__, url_prefix="/admin")
USER_ROLES = (LEADER, ANALYST, ADMIN)
PAGE_SIZE = 100


class NewUserForm(FlaskForm):
    username = StringField(validators=[DataRequired(), Length(max=64)])
    display_name = StringField(validators=[Optional(), Length(max=64)])
    role = SelectField(choices=list(USER_ROLES))
    password = PasswordField(validators=[DataRequired(), Length(max=200)])


class ChangeUserForm(FlaskForm):
    role = SelectField(choices=list(USER_ROLES))
    active = BooleanField()
    password = PasswordField(validators=[Optional(), Length(max=200)])


class NewTokenForm(FlaskForm):
    name = StringField(validators=[DataRequired(), Length(max=64)])


class OrganisationForm(FlaskForm):
    """One text field per organisation setting (lengths and required ones are checked by data/core/organisation)."""


for _field in org_settings.FIELDS:
    setattr(OrganisationForm, _field, StringField(org_settings.LABELS[_field], validators=[Optional()]))


class ProgrammeForm(FlaskForm):
    """The programme start, the index's base year and band limits (checked by data/index/settings)."""


for _field in index_settings.FIELDS:
    setattr(ProgrammeForm, _field, StringField(index_settings.LABELS[_field], validators=[Optional()]))


def _render(template: str, status: int = 200, **values):
    lang = request_lang()
    return render_template(template, lang=lang, role_label=role_label, local=_local, **values), status


def _local(moment) -> str:
    return to_local(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


@bp.get("")
@bp.get("/")
def index():
    return redirect(url_for("admin.users_page"))


def _apply(form: FlaskForm, action):
    """Validate a posted form and run ``action(conn)`` in one transaction: (result, None) or (None, why not)."""
    if not form.validate_on_submit():
        return None, _form_error(form)
    try:
        with db.current_engine().begin() as conn:
            return action(conn), None
    except (auth.AuthError, org_settings.OrganisationError, index_settings.SettingsError) as exc:
        return None, str(exc)


def _refused(message: str, back: str):
    return _render("message.html", 400, title="400", message=message, back=back, back_label="←")


@bp.route("/users", methods=["GET", "POST"])
def users_page():
    form, message = NewUserForm(), ""
    if request.method == "POST":
        _id, message = _apply(form, lambda conn: auth.create_user(
            conn, form.username.data, form.password.data, form.role.data, form.display_name.data or "",
            by=current_principal()))
        if not message:
            return redirect(url_for("admin.users_page", done=form.username.data))
    with db.current_engine().connect() as conn:
        rows = auth.users(conn)
    return _render("admin_users.html", 400 if message else 200, form=form, rows=rows, message=message,
                   change_form=ChangeUserForm, done=request.args.get("done", ""))


@bp.post("/users/<username>")
def change_user(username: str):
    form = ChangeUserForm()

    def change(conn):
        target = next((u for u in auth.users(conn) if u.username == username), None)
        if target is None:
            raise auth.AuthError(f"no user {username!r}")
        auth.change_user(conn, username, current_principal(), role=form.role.data, active=form.active.data,
                         password=form.password.data or None)
        return target

    target, message = _apply(form, change)
    if message:
        return _refused(message, "/admin/users")
    forget_principal("user", target.id)
    return redirect(url_for("admin.users_page", done=username))


@bp.route("/tokens", methods=["GET", "POST"])
def tokens_page():
    form, message, issued = NewTokenForm(), "", None
    if request.method == "POST":
        made, message = _apply(form, lambda conn: auth.issue_token(conn, form.name.data, current_principal()))
        if made:
            token_id, token = made
            issued = {"id": token_id, "name": form.name.data.strip(), "token": token,
                      "link": f"{request.host_url.rstrip('/')}/device#token={token}&next=/%3Fkiosk%3D1"}
    with db.current_engine().connect() as conn:
        rows = auth.tokens(conn)
    return _render("admin_tokens.html", 400 if message else 200, form=form, rows=rows, message=message,
                   issued=issued, revoke_form=ConfirmForm())


@bp.post(f"/tokens/<int(min=1, max={MAX_ID}):token_id>/revoke")  # an id no INTEGER holds matches no route
def revoke(token_id: int):
    _done, message = _apply(ConfirmForm(), lambda conn: auth.revoke_token(conn, token_id, current_principal()))
    if message:
        return _refused(message, "/admin/tokens")
    forget_principal("device", token_id)
    return redirect(url_for("admin.tokens_page"))


@bp.get("/audit")
def audit_page():
    action = request.args.get("action") or None
    actor = (request.args.get("actor") or "").strip() or None
    try:
        before = _query_id("before")
    except ValueError as exc:
        return _refused(str(exc), "/admin/audit")
    days = request.args.get("days", default=30, type=int)
    with db.current_engine().connect() as conn:
        rows = audit.entries(conn, limit=PAGE_SIZE, before_id=before, action=action, actor=actor,
                             since=now_utc() - timedelta(days=max(1, min(days, 3650))))
    older = rows[-1].id if len(rows) == PAGE_SIZE else None
    return _render("admin_audit.html", rows=rows, actions=audit.ACTIONS, action=action or "", actor=actor or "",
                   days=days, older=older)


@bp.route("/organisation", methods=["GET", "POST"])
def organisation_page():
    form, message, changed = OrganisationForm(), "", None
    if request.method == "POST":
        changed, message = _apply(form, lambda conn: save_organisation(
            conn, {f: getattr(form, f).data for f in org_settings.FIELDS}, current_principal()))
        if changed is not None and not message:
            service.forget_version()  # this process shows the new words at once (others within a second)
            return redirect(url_for("admin.organisation_page", done=len(changed)))
    return _organisation_render(form, ProgrammeForm(formdata=None), message, refused=form if message else None)


@bp.post("/programme")
def programme_page():
    form, message = ProgrammeForm(), ""
    changed, message = _apply(form, lambda conn: save_programme(
        conn, {f: getattr(form, f).data for f in index_settings.FIELDS}, current_principal()))
    if changed is not None and not message:
        service.forget_version()
        if {"programme_start", "base_year"} & set(changed) and jobs.INDEX_WAKE in current_app.extensions:
            current_app.extensions[jobs.INDEX_WAKE].set()  # the index job recomputes every month now
        return redirect(url_for("admin.organisation_page", done=len(changed)))
    return _organisation_render(OrganisationForm(formdata=None), form, message, refused=form)


def _organisation_render(org_form: FlaskForm, programme_form: FlaskForm, message: str,
                         refused: FlaskForm | None = None):
    """The organisation page: its two forms, each showing the stored values but the ``refused`` one, which keeps
    what was posted."""
    with db.current_engine().connect() as conn:
        current, programme, stale = org_settings.load(conn), index_settings.load(conn), index_settings.stale(conn)
    if org_form is not refused:
        org_form.process(data=asdict(current))
    if programme_form is not refused:
        programme_form.process(data=programme.as_text())
    return _render("admin_organisation.html", 400 if message else 200, form=org_form, message=message,
                   fields=org_settings.FIELDS, programme_form=programme_form,
                   programme_fields=index_settings.FIELDS, stale=stale,
                   default_bands=",".join(f"{x:g}" for _n, x in safety_index.default_config().bands),
                   done=request.args.get("done", ""))


def save_organisation(conn, changes: dict, who) -> dict:
    """Store the organisation's settings and audit what changed (old and new words); answers what changed.
    The admin page and ``flask set-organisation`` both come here."""
    _org, changed = org_settings.save(conn, changes)
    for key, (old, new) in changed.items():
        audit.record(conn, who, "settings_changed", f"organisation.{key}", f"{old!r} -> {new!r}")
    return changed


def save_programme(conn, changes: dict, who) -> dict:
    """Store the programme start, base year and band limits (data/index/settings.py: a new base leaves the index
    to recompute, new bands re-band it) and audit what changed; the admin page, ``flask set-programme`` and
    ``flask init-db --programme-start`` come here."""
    changed = index_settings.save(conn, changes, local_today(), safety_index.default_config().bands,
                                  safety_index.reband)
    for key, (old, new) in changed.items():
        audit.record(conn, who, "settings_changed", f"programme.{key}", f"{old!r} -> {new!r}")
    return changed


def _query_id(name: str) -> int | None:
    """An id in the query string (None when absent); ValueError unless it is a whole number from 1 to MAX_ID."""
    raw = request.args.get(name) or ""
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(MAX_ID)) or not 1 <= int(raw) <= MAX_ID:
        raise ValueError(f"{name}={raw[:40]!r} is not an id (a whole number from 1 to {MAX_ID})")
    return int(raw)


def _form_error(form: FlaskForm) -> str:
    if form.errors.get("csrf_token"):
        return "表单已过期，请刷新后重试。"
    return "；".join(f"{name}: {', '.join(errors)}" for name, errors in form.errors.items())


def register(server) -> None:
    server.register_blueprint(bp)
