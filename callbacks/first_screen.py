"""Refresh of the first screen: keep the last good frame when the database is unreachable."""

from __future__ import annotations

import logging

from dash import Input, Output, State, no_update
from sqlalchemy.exc import SQLAlchemyError

from callbacks import inputs
from data.overview import overview
from data.timeutil import now_utc, to_local
from layouts import first_screen, ids
from layouts.strings import lang_from_search, t

log = logging.getLogger(__name__)


def refresh(_n_intervals, search, last_ok):
    """Redraw the body, or keep it and say how old it is."""
    lang = lang_from_search(inputs.url_part(search, "search"))
    last_ok = inputs.text(last_ok, "last_ok", max_len=32)
    try:
        view = overview()
    except SQLAlchemyError as exc:
        log.warning("first screen refresh failed: %s", exc.__class__.__name__)
        return no_update, t("status_stale", lang, time=last_ok or "--:--:--"), "status-badge status-stale", no_update
    stamp = to_local(now_utc()).strftime("%H:%M:%S")
    return first_screen.body(view, lang), t("status_ok", lang, time=stamp), "status-badge status-ok", stamp


def register_callbacks(app) -> None:
    """Attach the first screen's callbacks to a Dash app."""
    app.callback(
        Output(ids.FS_BODY, "children"),
        Output(ids.FS_STATUS, "children"),
        Output(ids.FS_STATUS, "className"),
        Output(ids.FS_LAST_OK, "data"),
        Input(ids.FS_INTERVAL, "n_intervals"),
        Input(ids.FS_LOCATION, "search"),
        State(ids.FS_LAST_OK, "data"),
    )(refresh)
