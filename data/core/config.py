"""Configuration read from ``EQIAN_*`` environment variables.

One place decides every setting's name, default and type. ``load_config`` returns a plain dict of
Flask config keys, so tests can pass overrides and CLI commands read the same values as the server.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INSTANCE_DIR = PROJECT_ROOT / "instance"
DEFAULT_DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'eqian.db'}"
DEV_SECRET_KEY = "dev-only-not-secret"
ENVIRONMENTS = ("development", "production")  # EQIAN_ENV: exactly one of these, anything else is an error
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def _as_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use 1/0, true/false, on/off)")


def _as_float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None


def _as_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None


# name -> (default, parser); a default of None means "derived below".
_SETTINGS: dict[str, tuple[Any, Any]] = {
    "EQIAN_ENV": ("development", str),
    "EQIAN_DATABASE_URL": (DEFAULT_DATABASE_URL, str),
    "EQIAN_CACHE_URL": ("simple", str),
    "EQIAN_CACHE_TIMEOUT": (300, _as_int),
    "EQIAN_SECRET_KEY": (None, str),
    "EQIAN_DEMO": (None, _as_bool),
    "EQIAN_DEMO_SEED": (20_151_101, _as_int),
    "EQIAN_DEMO_SCALE": (1.0, _as_float),
    "EQIAN_SIMULATE": (None, _as_bool),
    "EQIAN_SIMULATE_RATE": (1.0, _as_float),
    "EQIAN_REFRESH_SECONDS": (2.0, _as_float),
    "EQIAN_INDEX_REFRESH_SECONDS": (600.0, _as_float),
    "EQIAN_FEED_SECONDS": (1.0, _as_float),
    "EQIAN_WALL_TOWN_SECONDS": (60, _as_int),
    "EQIAN_WALL_STATION_SECONDS": (20, _as_int),
    "EQIAN_TILE_URL": ("", str),
    "EQIAN_LANG": ("zh", str),
    "EQIAN_SESSION_IDLE_MINUTES": (120, _as_int),
    "EQIAN_SESSION_HOURS": (12, _as_int),
    "EQIAN_PROXY_HOPS": (0, _as_int),  # reverse proxies in front (1 behind nginx): trust their X-Forwarded-*
    "EQIAN_HOST": ("127.0.0.1", str),  # where ``python app.py`` listens (gunicorn binds by its own settings)
    "EQIAN_PORT": (8050, _as_int),
    "EQIAN_IMPORT_MEMORY_MB": (3072, _as_int),  # the upload import child's address space (RLIMIT_AS); 0: none
}


def load_config(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict:
    """Settings from the environment, then ``overrides``; derived defaults filled in last."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    config: dict[str, Any] = {}
    for name, (default, parse) in _SETTINGS.items():
        if name in overrides:
            config[name] = overrides.pop(name)
        elif name in environ:
            config[name] = parse(name, environ[name]) if parse is not str else environ[name]
        else:
            config[name] = default
    config.update(overrides)  # extra Flask keys such as TESTING pass straight through

    is_default_db = config["EQIAN_DATABASE_URL"] == DEFAULT_DATABASE_URL
    if config["EQIAN_DEMO"] is None:
        config["EQIAN_DEMO"] = is_default_db
    if config["EQIAN_SIMULATE"] is None:
        config["EQIAN_SIMULATE"] = bool(config["EQIAN_DEMO"])
    if config["EQIAN_ENV"] not in ENVIRONMENTS:
        raise ConfigError(f"EQIAN_ENV={config['EQIAN_ENV']!r} is not an environment: use one of "
                          f"{', '.join(ENVIRONMENTS)} (exactly, in lower case)")
    production = config["EQIAN_ENV"] == "production"
    if config["EQIAN_SECRET_KEY"] in (None, ""):
        if production:
            raise ConfigError("EQIAN_SECRET_KEY must be set when EQIAN_ENV=production")
        config["EQIAN_SECRET_KEY"] = DEV_SECRET_KEY
    if config["EQIAN_LANG"] not in ("zh", "en"):
        raise ConfigError(f"EQIAN_LANG={config['EQIAN_LANG']!r} must be zh or en")
    config["SECRET_KEY"] = config["EQIAN_SECRET_KEY"]
    if config["EQIAN_SECRET_KEY"] == DEV_SECRET_KEY:
        _refuse_public_development_key(production, config["EQIAN_HOST"], environ)
    # Signed cookie sessions: the cookie may live a month; data/access idle and absolute limits apply inside it.
    config.setdefault("PERMANENT_SESSION_LIFETIME", 30 * 24 * 3600)
    config.setdefault("SESSION_COOKIE_NAME", "eqian_session")
    config.setdefault("SESSION_COOKIE_SECURE", production)
    config.setdefault("SESSION_REFRESH_EACH_REQUEST", False)  # the cookie is re-sent only when the session changes
    config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a form's token lives as long as its session
    return config


def is_loopback(host: str) -> bool:
    """Whether a listening address is reachable from this machine only."""
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def under_gunicorn(environ: Mapping[str, str]) -> bool:
    """Whether this process is gunicorn's (its master sets SERVER_SOFTWARE before it loads the app)."""
    return environ.get("SERVER_SOFTWARE", "").startswith("gunicorn")


def _refuse_public_development_key(production: bool, host: str, environ: Mapping[str, str]) -> None:
    """The development key is public (it is in this file): sessions signed with it can be forged by anyone, so
    it serves only a development server that no other machine can reach."""
    if production:
        raise ConfigError("EQIAN_SECRET_KEY must not be the development key when EQIAN_ENV=production")
    if under_gunicorn(environ):
        raise ConfigError("EQIAN_SECRET_KEY must be set under gunicorn: the development key is public, so "
                          "anyone could forge a session")
    if not is_loopback(host):
        raise ConfigError(f"EQIAN_SECRET_KEY must be set when EQIAN_HOST={host!r} listens beyond this machine: "
                          f"the development key is public, so anyone could forge a session")
