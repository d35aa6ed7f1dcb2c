"""Flask CLI commands (``flask --app app …``): they read the same configuration as the server."""

from __future__ import annotations

import time
from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from data import db, rollups, safety_index
from data.demo import generator
from data.timeutil import local_today


def _engine():
    return db.engine_of(current_app)


@click.command("init-db")
@click.option("--drop", is_flag=True, help="Drop every table first (destroys data).")
@click.option("--programme-start", type=click.DateTime(["%Y-%m-%d"]), help="Record the programme start date.")
@with_appcontext
def init_db(drop: bool, programme_start: datetime | None) -> None:
    """Create the tables (idempotent)."""
    engine = _engine()
    if drop:
        db.drop_schema(engine)
    db.create_schema(engine)
    if programme_start:
        db.set_meta(engine, "programme_start", programme_start.date().isoformat())
    click.echo(f"schema ready at {engine.url.render_as_string(hide_password=True)}")


@click.command("seed-demo")
@click.option("--seed", type=int, default=None, help="Random seed (default EQIAN_DEMO_SEED).")
@click.option("--scale", type=float, default=None, help="Size relative to Zhili (default EQIAN_DEMO_SCALE, 1.0).")
@click.option("--reset", is_flag=True, help="Wipe the database first.")
@click.option("--now", "now_text", default=None, help="End the demo at this ISO instant instead of now.")
@click.option("--programme-start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Programme start (default: 15 months before today).")
@with_appcontext
def seed_demo(seed, scale, reset, now_text, programme_start) -> None:
    """Generate the synthetic demo town of Zhili, ending at the current time."""
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
@click.option("--rate", type=float, default=None, help="Event rate multiplier, at least 1 (default EQIAN_SIMULATE_RATE).")
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
    with engine.begin() as conn:
        months = safety_index.index_months(conn, today)
        if not all_months:
            months = months[-2:]
        rows = safety_index.refresh(conn, months, today)
    click.echo(f"index refreshed for {len(months)} month(s), {rows:,} rows in {time.monotonic() - started:.1f}s")


@click.command("rebuild-rollups")
@with_appcontext
def rebuild_rollups() -> None:
    """Recompute every rollup table from the event tables (after changing enterprises' sectors)."""
    started = time.monotonic()
    with _engine().begin() as conn:
        rollups.rebuild(conn)
    click.echo(f"rollups rebuilt in {time.monotonic() - started:.1f}s")


def register(app) -> None:
    """Add the commands to a Flask app's CLI."""
    for command in (init_db, seed_demo, simulate, refresh_index, rebuild_rollups):
        app.cli.add_command(command)


