"""The enterprise profile page (/enterprise/<id>): validate the id, read the profile, draw it.

The router calls ``enterprise_page`` with the last path segment; this never raises: a malformed or unknown
id gives the not-found section, a database that cannot be read a friendly message.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy.exc import SQLAlchemyError

from data import service
from data.core import db
from data.core.timeutil import local_today
from data.demo.generator import is_demo
from data.screens import enterprise
from layouts import enterprise as layout
from web import gate as auth
from web.inputs import parse_id

log = logging.getLogger(__name__)

# Plain ASCII digits, at most nine (every such id fits a 32-bit INTEGER column on both backends).
@service.versioned()
def load(conn, enterprise_id: int, today_iso: str):
    """(profile or None, demo flag), cached on the data version."""
    return enterprise.profile(conn, enterprise_id, date.fromisoformat(today_iso)), is_demo(conn)


def enterprise_page(raw_id: str, lang: str):
    """The profile page for a raw path segment, in 'zh' or 'en'."""
    lang = "en" if lang == "en" else "zh"
    enterprise_id = parse_id(raw_id)
    if enterprise_id is None:
        return layout.not_found(raw_id, lang, malformed=True)
    try:
        who = auth.current_principal()
        if who is not None and who.may("unmasked"):  # never cached: each unmasked view is read and audited
            with db.current_engine().connect() as conn:
                profile, demo = enterprise.profile(conn, enterprise_id, local_today(), viewer=who), is_demo(conn)
        else:
            profile, demo = load(enterprise_id, local_today().isoformat())
        if profile is None:
            return layout.not_found(raw_id, lang)
        return layout.page(profile, lang, demo, org=service.organisation())
    except SQLAlchemyError as exc:
        log.warning("enterprise %s unavailable: %s", enterprise_id, exc.__class__.__name__)
        return layout.unavailable(raw_id, lang)
    except Exception:  # noqa: BLE001 - the page must still stand; the log has the trace
        log.exception("enterprise %s profile failed", enterprise_id)
        return layout.unavailable(raw_id, lang, key="ent_error")
