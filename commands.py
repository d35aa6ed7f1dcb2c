"""Flask CLI commands (``flask --app app …``), registered by app.py: they read the same configuration as the server.

A composition root like app.py (it lives beside it, not in data/): the report command joins data/ and layouts/."""

from __future__ import annotations

import getpass
import time
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from data.access import accounts as auth
from data.access import audit
from data.access import roles as access
from data.core import db, migrate, rollups
from data.core import organisation as org_settings
from data.core.schema import EVENT_KINDS, REFERENCE_KINDS
from data.core.timeutil import local_today
from data.demo import generator
from data.index import jobs, safety_index
from data.index import settings as index_settings
from data.screens import report as reports
from exports import images as figures_export
from exports import report as report_layout
from exports import tables as exports
from web.admin import save_organisation, save_programme


def _engine():
    return db.engine_of(current_app)


def _cli_actor(user: str | None) -> str:
    """Who a command acts as in the audit log: ``cli:<--user or the operating-system user>``."""
    return f"cli:{user or getpass.getuser()}"[:80]


@click.command("init-db")
@click.option("--drop", is_flag=True, help="Drop every table first (destroys data).")
@click.option("--programme-start", type=click.DateTime(["%Y-%m-%d"]), help="Record the programme start date.")
@with_appcontext
def init_db(drop: bool, programme_start: datetime | None) -> None:
    """Create the tables, or bring them to this code's schema (the migrations); idempotent."""
    engine = _engine()
    if drop:
        db.drop_schema(engine)
    db.create_schema(engine)
    if programme_start:
        try:
            with engine.begin() as conn:
                save_programme(conn, {"programme_start": programme_start.date().isoformat()}, _cli_actor(None))
        except index_settings.SettingsError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"schema ready at {engine.url.render_as_string(hide_password=True)}")


def _schema_at_start() -> str | None:
    """What the database was before this process's start-up upgraded it (``create_app`` runs before any command:
    a command finds the database upgraded already), or None when the start-up did not reach it."""
    done = current_app.extensions.get(db.UPGRADE_KEY)
    return None if done is None else done[0]


@click.command("db-upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Migrate the database to this code's schema (data/core/migrations): once, before restarting the hosts."""
    try:
        before, head = migrate.upgrade(_engine())
    except db.SchemaMismatch as exc:
        raise click.ClickException(str(exc)) from None
    before = _schema_at_start() or before
    click.echo(f"schema: {before} -> {head} ({'nothing to do' if before == head else 'upgraded'})")


@click.command("db-current")
@with_appcontext
def db_current() -> None:
    """Show the database's schema revision and this code's head revision."""
    engine = _engine()
    current = migrate.current_revision(engine)
    click.echo(f"database: {engine.url.render_as_string(hide_password=True)}")
    click.echo(f"current: {current or 'none (empty, or from before the migrations)'}")
    click.echo(f"head: {migrate.HEAD}")
    before = _schema_at_start()
    if before is not None and before != current:
        click.echo(f"(upgraded from {before} as this command started)")


@click.command("seed-demo")
@click.option("--seed", type=int, default=None, help="Random seed (default EQIAN_DEMO_SEED).")
@click.option("--scale", type=float, default=None, help="Size (1.0: the full demo town; default EQIAN_DEMO_SCALE).")
@click.option("--reset", is_flag=True, help="Wipe the database first.")
@click.option("--now", "now_text", default=None, help="End the demo at this ISO instant instead of now.")
@click.option("--programme-start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Programme start (default: 15 months before today).")
@with_appcontext
def seed_demo(seed, scale, reset, now_text, programme_start) -> None:
    """Generate the synthetic demo town (data/demo), ending at the current time."""
    engine = _engine()
    seed = current_app.config["EQIAN_DEMO_SEED"] if seed is None else seed
    scale = current_app.config["EQIAN_DEMO_SCALE"] if scale is None else scale
    now = datetime.fromisoformat(now_text) if now_text else None
    if now is not None and now.tzinfo is None:
        raise click.BadParameter("--now must carry a zone, e.g. 2026-11-29T12:00:00+08:00")
    if reset:
        generator.reset(engine)
    started = time.monotonic()
    steps = ["world", "plan", *generator.planning.CELLS, "incidents", "disputes", "hazards", "index"]
    with click.progressbar(length=len(steps), label="seeding demo", show_pos=True) as bar:
        def progress(_label: str, _n: int) -> None:
            bar.update(1)
        try:
            summary = generator.seed_demo(engine, seed=seed, scale=scale, now=now,
                                          programme_start=programme_start.date() if programme_start else None,
                                          progress=progress)
        except generator.DemoError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"seeded in {time.monotonic() - started:.1f}s: {summary['enterprises']:,} enterprises, "
               f"{summary['incidents']:,} incidents, {summary['disputes']:,} disputes, "
               f"{summary['hazards']:,} hazards; programme start {summary['programme_start']}")


@click.command("simulate")
@click.option("--rate", type=float, default=None,
              help="Event rate multiplier, at least 1 (default EQIAN_SIMULATE_RATE).")
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds between writes.")
@click.option("--once", is_flag=True, help="Write what is due now and stop.")
@with_appcontext
def simulate(rate, interval, once) -> None:
    """Keep the demo alive: write each event when its time comes."""
    rate = current_app.config["EQIAN_SIMULATE_RATE"] if rate is None else rate
    try:
        sim = generator.Simulator(_engine(), rate=rate)
    except generator.DemoError as exc:
        raise click.ClickException(str(exc)) from None
    if once:
        click.echo(f"wrote {sim.tick()} events")
        return
    click.echo(f"simulating at rate {rate} every {interval}s; Ctrl-C stops")
    generator.run_simulator(sim, interval)


@click.command("refresh-index")
@click.option("--all", "all_months", is_flag=True, help="Recompute every month, not just this one and the last.")
@with_appcontext
def refresh_index(all_months: bool) -> None:
    """Recompute the enterprise safety index (this month and last; --all for every month)."""
    engine = _engine()
    today = local_today()
    started = time.monotonic()
    try:
        with engine.begin() as conn:
            months = safety_index.index_months(conn, today)
            rows, months = jobs.refresh_months(conn, months if all_months else months[-2:], today)
    except safety_index.IndexConfigError as exc:  # a setting to fix, not a crash: say which (exit status 1)
        raise click.ClickException(str(exc)) from None
    click.echo(f"index refreshed for {len(months)} month(s), {rows:,} rows in {time.monotonic() - started:.1f}s")


@click.command("rebuild-rollups")
@with_appcontext
def rebuild_rollups() -> None:
    """Recompute every rollup table from the event tables (after changing enterprises' sectors)."""
    started = time.monotonic()
    with _engine().begin() as conn:
        rollups.rebuild(conn)
    click.echo(f"rollups rebuilt in {time.monotonic() - started:.1f}s")


@click.command("report")
@click.option("--period", default="month", show_default=True,
              help="2026-10, 2026, 2026-Q3, 2026-W44, 2026-10-15, 2026-01-01..2026-10-31, "
                   "or week/28d/month/quarter/ytd.")
@click.option("--unit", default="", help="The whole jurisdiction (default; its word or place name), a station (its "
              "name or code) or a park (its name).")
@click.option("--format", "fmt", type=click.Choice(["pdf", "docx"]), default="pdf", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Output file (default: 织南_平安建设通报_…_<today>.<format> in the current folder).")
@click.option("--unmasked", is_flag=True,
              help="Show personal data unmasked (written to the audit log as a view by 'system').")
@with_appcontext
def report(period: str, unit: str, fmt: str, out: str | None, unmasked: bool) -> None:
    """Write the report (通报) of a period and unit as PDF or DOCX."""
    today = local_today()
    started = time.monotonic()
    steps = reports.DATA_STEPS + report_layout.CHART_STEPS + report_layout.LAYOUT_STEPS
    with click.progressbar(length=steps, label=f"report {unit} {period}", show_pos=True,
                           item_show_func=lambda label: label) as bar:
        def progress(label: str) -> None:
            bar.update(1, label)
        try:
            with _engine().connect() as conn:
                chosen_period = reports.parse_period(period, today)
                chosen_unit = reports.resolve_unit(conn, unit)
                viewer = access.ANALYST_SYSTEM if unmasked else access.MASKED
                data = reports.build_report(conn, chosen_period, chosen_unit, today, viewer=viewer,
                                            progress=progress)
        except reports.ReportError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            body = report_layout.render(data, fmt, progress=progress)
        except (figures_export.ExportError, report_layout.ReportFontMissing) as exc:  # what to install: exit 1
            raise click.ClickException(str(exc)) from None
    path = Path(out) if out else Path(exports.filename(chosen_unit.short, f"平安建设通报_{chosen_period.title}",
                                                        today, fmt))
    path.write_bytes(body)
    click.echo(f"{data.title}: {path} ({len(body):,} bytes, {time.monotonic() - started:.1f}s)")


def _import_options(kinds: tuple[str, ...]):
    """The arguments and options every import command takes (events and reference data)."""
    options = (
        click.argument("kind", type=click.Choice(kinds)),
        click.argument("file", type=click.Path(exists=True, dir_okay=False)),
        click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False),
                     help="YAML or JSON mapping of the file's layout onto ours (default: columns named as ours)."),
        click.option("--source", default=None, help="The system the file comes from (overrides the mapping's)."),
        click.option("--dry-run", is_flag=True, help="Validate and report, store nothing."),
        click.option("--allow-demo", is_flag=True, help="Allow importing into the synthetic demo database."),
        click.option("--max-lines", type=click.IntRange(0), default=200, show_default=True,
                     help="Rejected and flagged rows to list (0: all)."),
        click.option("--user", default=None, help="Who imports (recorded with the import)."),
    )

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _finish_import(file: str, report, max_lines: int, user: str | None) -> None:
    """Print the report, audit it, and exit 1 when the file failed as a whole."""
    for line in report.lines(limit=max_lines or None):
        click.echo(line)
    _audit_import(file, report, user)
    if not report.ok:
        raise click.exceptions.Exit(1)


@click.command("import")
@_import_options(EVENT_KINDS)
@click.option("--batch-size", type=click.IntRange(100, 1_000_000), default=None, help="Rows per batch (10,000).")
@with_appcontext
def import_file(kind, file, mapping_path, source, dry_run, allow_demo, max_lines, user, batch_size) -> None:
    """Import a CSV/XLSX file of incidents, disputes or hazards (all or nothing; rejects go to quarantine)."""
    from data import intake  # noqa: PLC0415 - 150-250 ms and 12 MB at every start-up otherwise (measured)

    with click.progressbar(length=1, label=f"importing {kind}", show_percent=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(max(done - bar.pos, 0))

        report = intake.import_file(_engine(), kind, file, mapping_path, source=source, dry_run=dry_run,
                                    allow_demo=allow_demo, progress=progress, user=user,
                                    batch_size=batch_size or intake.importer.BATCH_SIZE)
    _finish_import(file, report, max_lines, user)


def _audit_import(file: str, report, user: str | None) -> None:
    """Write the import to the audit log as the upload page does (dry runs and failures too); the actor is
    ``cli:<--user or the operating-system user>``."""
    target = Path(file).name + (f" · import #{report.import_id}" if report.import_id else "")
    with _engine().begin() as conn:
        audit.record(conn, _cli_actor(user), "import", target=target,
                     detail=report.summary(), role="cli")


@click.command("import-registry")
@_import_options(REFERENCE_KINDS)
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The snapshot's date (default today): changed values hold from it, a full snapshot closes on it.")
@click.option("--allow-mass-close", is_flag=True, help="Let a full snapshot close more than its max_close share.")
@with_appcontext
def import_registry(kind, file, mapping_path, source, dry_run, allow_demo, max_lines, user, as_of,
                    allow_mass_close) -> None:
    """Import the sector table, parks or the enterprise registry from CSV/XLSX (matched on their key; all or
    nothing)."""
    from data import intake  # noqa: PLC0415 - the importer loads only for import commands

    report = intake.import_any(_engine(), kind, file, mapping_path, source=source,
                               as_of=as_of.date() if as_of else None, dry_run=dry_run, allow_demo=allow_demo,
                               allow_mass_close=allow_mass_close, user=user)
    _finish_import(file, report, max_lines, user)


@click.command("import-stations")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--code-field", required=True, help="The field holding each station's code.")
@click.option("--name-field", required=True, help="The field holding each station's name.")
@click.option("--crs", default=None, help="The file's coordinate system when it names none (EPSG:4547, …).")
@click.option("--coords", type=click.Choice(["wgs84", "cgcs2000", "gcj02"]), default="wgs84", show_default=True,
              help="What the longitudes and latitudes are once read (gcj02: from a Chinese map service).")
@click.option("--dry-run", is_flag=True, help="Check and report, store nothing.")
@click.option("--user", default=None, help="Who imports (recorded in the audit log).")
@with_appcontext
def import_stations(file, code_field, name_field, crs, coords, dry_run, user) -> None:
    """Create or update the stations and their boundaries from GeoJSON, KML or a zipped shapefile (all or nothing)."""
    from data.intake import boundaries  # noqa: PLC0415 - GDAL and pyproj load only for this command (0.4 s)

    try:
        with _engine().begin() as conn:
            report = boundaries.import_boundaries(conn, file, code_field, name_field, crs, coords, dry_run)
            boundaries.record_audit(conn, report, _cli_actor(user), role="cli")
    except boundaries.BoundaryError as exc:
        raise click.ClickException(str(exc)) from None
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        raise click.exceptions.Exit(1)


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(["leader", "analyst", "admin"]), required=True,
              help="leader 领导 (review, exports; masked), analyst 研判 (unmasked personal data), admin 管理员.")
@click.option("--name", "display_name", default="", help="Display name (default: the username).")
@click.password_option(help="Password (at least 10 characters); prompted for when not given.")
@with_appcontext
def create_user(username: str, role: str, display_name: str, password: str) -> None:
    """Create a user (the first admin comes from here)."""
    try:
        with _engine().begin() as conn:
            auth.create_user(conn, username, password, role, display_name, by="cli")
    except auth.AuthError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"user {username} created with role {role}")


@click.command("change-user")
@click.argument("username")
@click.option("--role", type=click.Choice(["leader", "analyst", "admin"]), default=None)
@click.option("--active/--inactive", default=None, help="Enable or disable the account.")
@click.option("--reset-password", is_flag=True, help="Prompt for a new password.")
@with_appcontext
def change_user(username: str, role: str | None, active: bool | None, reset_password: bool) -> None:
    """Change a user's role, enable or disable them, or reset their password."""
    password = click.prompt("New password", hide_input=True, confirmation_prompt=True) if reset_password else None
    try:
        with _engine().begin() as conn:
            auth.change_user(conn, username, "cli", role=role, active=active, password=password)
    except auth.AuthError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"user {username} changed (running servers apply it within 30 s)")


@click.command("issue-token")
@click.argument("name")
@click.option("--base-url", default="https://eqian.example", show_default=True, help="The app's address, for the link.")
@with_appcontext
def issue_token(name: str, base_url: str) -> None:
    """Issue a device token for a wall screen and print its login link (shown once)."""
    try:
        with _engine().begin() as conn:
            token_id, token = auth.issue_token(conn, name, "cli")
    except auth.AuthError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"device token {token_id} for {name}: {token}")
    click.echo(f"wall start page: {base_url.rstrip('/')}/device#token={token}&next=/%3Fkiosk%3D1")


@click.command("revoke-token")
@click.argument("token_id", type=int)
@with_appcontext
def revoke_token(token_id: int) -> None:
    """Revoke a wall screen's device token."""
    try:
        with _engine().begin() as conn:
            auth.revoke_token(conn, token_id, "cli")
    except auth.AuthError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"device token {token_id} revoked (running servers apply it within 30 s)")


def _organisation_options(fn):
    """One option per organisation setting: --name, --short-name, … (data/core/organisation.py FIELDS)."""
    for name in reversed(org_settings.FIELDS):
        fn = click.option(f"--{name.replace('_', '-')}", name, default=None, help=org_settings.LABELS[name])(fn)
    return fn


@click.command("set-organisation")
@_organisation_options
@click.option("--user", default=None, help="Who changes them (recorded in the audit log).")
@with_appcontext
def set_organisation(user: str | None, **values) -> None:
    """Set the organisation's names (what titles, reports and file names say); without options, show them."""
    changes = {k: v for k, v in values.items() if v is not None}
    try:
        with _engine().begin() as conn:
            changed = save_organisation(conn, changes, _cli_actor(user)) if changes else {}
            current = org_settings.load(conn)
    except org_settings.OrganisationError as exc:
        raise click.ClickException(str(exc)) from None
    _echo_settings(changes, changed, {k: getattr(current, k) for k in org_settings.FIELDS}, org_settings.LABELS)


def _echo_settings(changes: dict, changed: dict, current: dict[str, str], labels: dict[str, str]) -> None:
    """What a settings command did: each change (old -> new), "nothing changed", or, asked for nothing, every
    setting with its label and value."""
    for key, (old, new) in changed.items():
        click.echo(f"{key}: {old!r} -> {new!r}")
    if changes and not changed:
        click.echo("nothing changed")
    if not changes:
        for key, value in current.items():
            click.echo(f"{key} ({labels[key]}): {value!r}")


@click.command("set-programme")
@click.option("--programme-start", default=None, help=index_settings.LABELS["programme_start"] + " (YYYY-MM-DD)")
@click.option("--base-year", default=None, help=index_settings.LABELS["base_year"] + " ('' for the default)")
@click.option("--bands", default=None, help=index_settings.LABELS["bands"] + ", e.g. 80,65,50 ('' for the default)")
@click.option("--user", default=None, help="Who changes them (recorded in the audit log).")
@with_appcontext
def set_programme(user: str | None, **values) -> None:
    """Set the programme start, the index's base year and its band limits; without options, show them. A new
    start or base year leaves the index to recompute (the running app does it; or run refresh-index)."""
    changes = {k: v for k, v in values.items() if v is not None}
    try:
        with _engine().begin() as conn:
            changed = save_programme(conn, changes, _cli_actor(user)) if changes else {}
            current, stale = index_settings.load(conn).as_text(), index_settings.stale(conn)
    except index_settings.SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    _echo_settings(changes, changed, current, index_settings.LABELS)
    if stale:
        click.echo(f"the index waits to be recomputed against the new base ({stale}): "
                   "the running app does it within its refresh interval, or run `flask refresh-index`")


def register(app) -> None:
    """Add the commands to a Flask app's CLI."""
    for command in (init_db, db_upgrade, db_current, seed_demo, simulate, refresh_index, rebuild_rollups, report,
                    import_file, create_user, change_user, issue_token, revoke_token, set_organisation, set_programme,
                    import_stations, import_registry):
        app.cli.add_command(command)


