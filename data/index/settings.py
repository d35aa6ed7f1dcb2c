"""The programme's dates and the index's bands: settings of the database, not of the code.

THE place they are read and written. ``/admin/organisation`` (its second form) and ``flask set-programme`` both
come here; ``safety_index.config_for`` lays them over data/index/safety_index.toml, so every score, band and
bound follows what the bureau set:

- ``programme_start`` (meta ``programme_start``): the day the programme began; the review marks it, the programme
  totals count from it, and the index's base year defaults to the year before it;
- ``base_year`` (meta ``index:base_year``): the year whose enterprise-months fix the index's percentile bounds
  (empty: the year before the programme start, or the toml's numeric ``base_year``);
- ``bands`` (meta ``index:bands``): the lower score limits of 蓝, 黄 and 橙 (below the last is 红).

What a change does, in the caller's transaction:

- new band limits re-band every stored score at once (one UPDATE per table; the scores themselves stand);
- a new programme start or base year changes what the scores mean: the stored bounds are dropped and the index is
  marked stale (meta ``safety_index_stale``), so the index job recomputes every stored month against the new base
  (``jobs.refresh_current_index``); the admin page shows it as pending until then.

Both bump the data version, so the wall and the review draw the new bands and figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, delete

from data.core import db, rollups
from data.core.schema import Meta
from data.counts.programme import programme_start as stored_programme_start

START_KEY = "programme_start"
BASE_YEAR_KEY = "index:base_year"
BANDS_KEY = "index:bands"
STALE_KEY = "safety_index_stale"  # why every stored month is to be recomputed (absent: nothing pending)
BOUNDS_PREFIX = "safety_index_bounds:"
VERSION_SOURCE = "settings"
EARLIEST_YEAR = 2000
FIELDS = ("programme_start", "base_year", "bands")
LABELS = {"programme_start": "e企安365 启动日期", "base_year": "平安指数基准年（空：启动前一年）",
          "bands": "平安指数分档下限（蓝,黄,橙）"}


class SettingsError(ValueError):
    """A setting that cannot be stored, named with the reason."""


@dataclass(frozen=True)
class IndexSettings:
    programme_start: date | None
    base_year: int | None  # None: the year before the programme start (or the toml's numeric base year)
    bands: tuple[tuple[str, float], ...] | None  # None: the toml's bands

    def as_text(self) -> dict[str, str]:
        """The settings as the admin form and the CLI show them."""
        return {"programme_start": self.programme_start.isoformat() if self.programme_start else "",
                "base_year": str(self.base_year) if self.base_year else "",
                "bands": ",".join(f"{lower:g}" for _name, lower in self.bands) if self.bands else ""}


def load(conn: Connection) -> IndexSettings:
    raw_year, raw_bands = db.get_meta(conn, BASE_YEAR_KEY), db.get_meta(conn, BANDS_KEY)
    return IndexSettings(stored_programme_start(conn), int(raw_year) if raw_year else None,
                         tuple((name, float(lower)) for name, lower in json.loads(raw_bands)) if raw_bands else None)


def parse(changes: dict[str, str], today: date, band_names: tuple[str, ...]) -> dict:
    """The changes as values; SettingsError names every one that cannot be stored and why."""
    problems, clean = [], {}
    for key, value in changes.items():
        text = "" if value is None else str(value).strip()
        try:
            if key == "programme_start":
                clean[key] = _start(text, today)
            elif key == "base_year":
                clean[key] = _year(text, today)
            elif key == "bands":
                clean[key] = _bands(text, band_names)
            else:
                raise SettingsError(f"no such setting (use {', '.join(FIELDS)})")
        except SettingsError as exc:
            problems.append(f"{key} ({LABELS.get(key, key)}): {exc}")
    if problems:
        raise SettingsError("; ".join(problems))
    return clean


def _start(text: str, today: date) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise SettingsError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    if not date(EARLIEST_YEAR, 1, 1) <= day <= today:
        raise SettingsError(f"{day} is not between {EARLIEST_YEAR}-01-01 and today ({today})")
    return day


def _year(text: str, today: date) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or not EARLIEST_YEAR <= int(text) <= today.year:
        raise SettingsError(f"{text!r} is not a year from {EARLIEST_YEAR} to {today.year}")
    return int(text)


def _bands(text: str, names: tuple[str, ...]) -> tuple[tuple[str, float], ...] | None:
    if not text:
        return None
    parts = [p.strip() for p in text.replace("，", ",").split(",")]
    try:
        limits = [float(p) for p in parts]
    except ValueError:
        raise SettingsError(f"{text!r}: give {len(names)} numbers separated by commas") from None
    if len(limits) != len(names):
        raise SettingsError(f"{len(limits)} limits given, {len(names)} wanted ({', '.join(names)})")
    if not all(0 < x < 100 for x in limits) or any(a <= b for a, b in zip(limits, limits[1:], strict=False)):
        raise SettingsError(f"{text!r}: the limits fall strictly from 蓝 to 橙, each between 0 and 100")
    return tuple(zip(names, limits, strict=True))


def save(conn: Connection, changes: dict[str, str], today: date, default_bands: tuple[tuple[str, float], ...],
         reband: Callable[[Connection, tuple[tuple[str, float], ...]], None]) -> dict[str, tuple[str, str]]:
    """Store ``changes`` (all checked first: nothing is written when one is refused) and carry out what they mean
    (module docstring; ``reband`` is the index writer's ``safety_index.reband``); answers what changed as text
    (field -> (old, new)). The caller audits it."""
    names = tuple(name for name, _lower in default_bands)
    clean = parse(changes, today, names)
    before = load(conn)
    after = IndexSettings(**{f: clean.get(f, getattr(before, f)) for f in FIELDS})
    old, new = before.as_text(), after.as_text()
    changed = {k: (old[k], new[k]) for k in FIELDS if old[k] != new[k]}
    if not changed:
        return {}
    if "programme_start" in changed:
        db.set_meta(conn, START_KEY, after.programme_start.isoformat())
    if "base_year" in changed:
        _store_or_drop(conn, BASE_YEAR_KEY, str(after.base_year) if after.base_year else None)
    if "bands" in changed:
        _store_or_drop(conn, BANDS_KEY, json.dumps(after.bands, ensure_ascii=False) if after.bands else None)
        reband(conn, after.bands or default_bands)
    if {"programme_start", "base_year"} & set(changed):
        conn.execute(delete(Meta).where(Meta.key.like(f"{BOUNDS_PREFIX}%")))
        db.set_meta(conn, STALE_KEY, ", ".join(sorted({"programme_start", "base_year"} & set(changed))))
    rollups.bump_version(conn, VERSION_SOURCE)
    return changed


def _store_or_drop(conn: Connection, key: str, value: str | None) -> None:
    if value is None:
        conn.execute(delete(Meta).where(Meta.key == key))
    else:
        db.set_meta(conn, key, value)


def stale(conn: Connection) -> str | None:
    """Why every stored month of the index waits to be recomputed (None: nothing pending)."""
    return db.get_meta(conn, STALE_KEY)


def clear_stale(conn: Connection) -> None:
    conn.execute(delete(Meta).where(Meta.key == STALE_KEY))
