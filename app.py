"""The composition root: ``create_app`` builds the Flask server and the Dash app on it.

``gunicorn app:server`` serves it; ``python app.py`` serves it on http://127.0.0.1:8050 and, on an empty
demo database, seeds the demo first and then keeps it alive with the simulator.
"""

from __future__ import annotations

import logging
import threading

from dash import Dash
from flask import Flask
from sqlalchemy.exc import OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix

import commands
from callbacks import router
from data.access import accounts
from data.core import cache, db
from data.core.config import INSTANCE_DIR, PROJECT_ROOT, load_config
from data.core.organisation import DEFAULT as DEFAULT_ORGANISATION
from data.demo import generator
from data.index import jobs, safety_index
from figures import wall_spec
from figures.strings import check_labels, t
from figures.text import org_title
from layouts import pages
from web import admin, admin_intake, admin_reference, downloads, errors
from web import gate as auth

log = logging.getLogger("eqian")


def check_vocabulary() -> None:
    """Refuse to start when a vocabulary value lacks what the app needs of it: an incident category its harm
    weight, a settlement level its escalation step (data/index/safety_index.toml), a displayed value or index band
    its English label (figures/strings.py), a wall KPI tile its label and the wall's grids a panel
    (figures/wall_spec.py). Raises IndexConfigError, LabelError or SpecError naming what is missing."""
    index_config = safety_index.load_config()
    check_labels(tuple(name for name, _lower in index_config.bands))
    wall_spec.check_tiles()
    wall_spec.check_grids()


def create_app(config: dict | None = None) -> Flask:
    """Build the Flask server with the Dash app mounted at /; ``config`` overrides EQIAN_* settings."""
    settings = load_config(config)
    check_vocabulary()
    router.check_screens()  # every Dash page of web/pages.py has its screen, and no screen is extra
    server = Flask(__name__, instance_path=str(INSTANCE_DIR), template_folder=str(PROJECT_ROOT / "web" / "templates"))
    server.config.update(settings)
    server.jinja_env.globals["t"] = t
    server.jinja_env.globals["org_title"] = auth.page_title
    if settings["EQIAN_PROXY_HOPS"] > 0:  # the client's address and scheme as the proxy saw them
        hops = settings["EQIAN_PROXY_HOPS"]
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    engine = db.init_app(server)
    cache.init_app(server)
    try:
        server.extensions[db.UPGRADE_KEY] = db.create_schema(engine, reset_demo=settings["EQIAN_DEMO"])
    except OperationalError as exc:  # the database may come up later; queries will retry then
        log.warning("database not reachable at start-up, schema not checked: %s", exc.__class__.__name__)

    dash_app = Dash(
        __name__,
        server=server,
        title=org_title("app_title", DEFAULT_ORGANISATION),  # the tab before a page draws; pages name the organisation
        update_title=None,
        assets_folder=str(PROJECT_ROOT / "assets"),
        serve_locally=True,
    )
    dash_app.layout = _root_layout
    dash_app.validation_layout = router.validation_layout()
    auth.register(server)  # first: the gate runs before any other handler
    errors.register(server)  # malformed callback requests: 400 JSON (after the gate, so the anonymous get 401)
    with auth.callbacks_need(dash_app, None):  # the router checks each page's permission itself
        router.register_callbacks(dash_app)
    for page, screen in router.screens():
        if screen.register is not None:
            with auth.callbacks_need(dash_app, page.permission):
                screen.register(dash_app)
    server.extensions["dash_app"] = dash_app
    downloads.register(server)
    admin.register(server)
    admin_intake.register(server)
    admin_reference.register(server)
    commands.register(server)
    auth.secure(dash_app)  # last: the CSP carries the hashes of every inline script registered above
    _set_up_dash_now(dash_app)
    return server


def _set_up_dash_now(dash_app: Dash) -> None:
    """Run Dash's first-request set-up (it registers the bundles it serves) before any request arrives: done
    lazily, a fresh threaded worker's concurrent first requests found no bundle registered and answered 500."""
    with dash_app.server.test_request_context("/"):
        dash_app._setup_server()  # noqa: SLF001 - Dash has no public name for it


def _root_layout():
    """The page shell for the logged-in user (Dash asks for it on each page load)."""
    who = auth.current_principal()
    return pages.root(who.audit_name if who else None, auth.role_label(who.role) if who else None,
                      bool(who and who.may("admin")))


def dash_app_of(server: Flask) -> Dash:
    """The Dash app that ``create_app`` mounted on ``server``."""
    return server.extensions["dash_app"]


def prepare_demo(server: Flask) -> None:
    """Seed the demo on an empty database when demo mode is on."""
    if not server.config["EQIAN_DEMO"]:
        return
    engine = db.engine_of(server)
    with engine.connect() as conn:
        empty = not generator.has_events(conn)
    if not empty and generator.is_demo(engine):
        with engine.begin() as conn:
            accounts.ensure_demo_accounts(conn)
    if empty:
        log.warning("empty database: seeding the demo (scale %s) …", server.config["EQIAN_DEMO_SCALE"])
        summary = generator.seed_demo(engine, seed=server.config["EQIAN_DEMO_SEED"],
                                      scale=server.config["EQIAN_DEMO_SCALE"])
        log.warning("demo seeded: %s incidents", f"{summary['incidents']:,}")


def start_background_jobs(server: Flask) -> threading.Event:
    """The live simulator (on a demo database) and the safety-index refresher, in daemon threads."""
    engine = db.engine_of(server)
    stop = threading.Event()
    if server.config["EQIAN_SIMULATE"] and generator.is_demo(engine):
        sim = generator.Simulator(engine, rate=server.config["EQIAN_SIMULATE_RATE"])
        jobs.start(sim.tick, 1.0, "demo simulator", stop)
    wake = server.extensions[jobs.INDEX_WAKE] = threading.Event()  # set by /admin/programme after a new base
    jobs.start(jobs.index_refresher(engine), server.config["EQIAN_INDEX_REFRESH_SECONDS"], "index refresher", stop,
               wake)
    return stop


def __getattr__(name: str):
    # ``gunicorn app:server`` asks for this; building it lazily keeps imports free of side effects.
    if name == "server":
        value = create_app()
        globals()["server"] = value
        return value
    raise AttributeError(name)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = create_app()
    prepare_demo(server)
    start_background_jobs(server)
    host, port = server.config["EQIAN_HOST"], server.config["EQIAN_PORT"]  # load_config checked them
    log.warning("serving on http://%s:%d", host, port)
    server.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)


if __name__ == "__main__":
    main()
