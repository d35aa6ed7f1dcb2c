"""What a callback may receive, checked once at its top.

Every value in a callback request comes from the browser, so it may be anything JSON can carry. These helpers
turn a value into what the callback works with, or raise ``BadInput`` when its type is wrong; the app then
answers 400 with the message (web/errors.py). A value of the right type whose content is unusable (an
unknown page, a malformed filter in the URL, a click on nothing) is the callback's business: it draws a page
with the error, or leaves the page as it is.
"""

from __future__ import annotations

import re
from datetime import date

MAX_ID = 2**31 - 1  # database ids fit a 32-bit INTEGER column on both backends
MAX_URL = 8192  # a pathname or a query string longer than this did not come from a browser's address bar
MAX_TEXT = 2000  # any other text a control or store holds
_ID = re.compile(r"[0-9]{1,9}")


class BadInput(ValueError):
    """A callback input of the wrong type (or far too long); the message names the input and what it should be."""

    def __init__(self, name: str, expected: str, value=None):
        super().__init__(f"{name}: expected {expected}, got {describe(value)}")


def parse_id(raw_id) -> int | None:
    """An id in a path segment or query parameter, or None when it is not a plain positive number."""
    if not isinstance(raw_id, str) or not _ID.fullmatch(raw_id):
        return None
    value = int(raw_id)
    return value if value > 0 else None


def describe(value) -> str:
    """A short description of a value for an error message (never the value itself, which may be huge)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return f"text of {len(value)} characters"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def text(value, name: str, default: str | None = None, max_len: int = MAX_TEXT) -> str | None:
    """A string of at most ``max_len`` characters; None gives ``default``."""
    if value is None:
        return default
    if not isinstance(value, str):
        raise BadInput(name, "text", value)
    if len(value) > max_len:
        raise BadInput(name, f"text of at most {max_len} characters", value)
    return value


def url_part(value, name: str) -> str:
    """A pathname or a query string (dcc.Location's), '' when absent."""
    return text(value, name, default="", max_len=MAX_URL)


def lang(value) -> str:
    """'en' or 'zh' (the default): the language is cosmetic, so anything else means Chinese."""
    return "en" if value == "en" else "zh"


def mapping(value, name: str) -> dict:
    """A JSON object (a store's data), {} when absent."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput(name, "an object", value)
    return value


def integer(value, name: str, low: int = 0, high: int = MAX_ID) -> int | None:
    """A whole number from ``low`` to ``high``, or None (12.0 is 12; booleans and digit strings are refused)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadInput(name, f"a whole number from {low} to {high}", value)
    return value


def unit_id(value, name: str) -> int | None:
    """A database id (1 to MAX_ID), or None."""
    return integer(value, name, low=1)


def day(value, name: str) -> date | None:
    """A date as a date picker sends it ('YYYY-MM-DD', perhaps with a time after it), or None."""
    raw = text(value, name, max_len=40)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise BadInput(name, "a date YYYY-MM-DD", value) from None


def choice(value, name: str, allowed) -> str | None:
    """One of ``allowed`` (strings), or None."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise BadInput(name, "one of " + ", ".join(allowed), value)
    return value


def strings(value, name: str) -> list[str]:
    """A list of short strings (a checklist's value), [] when absent."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= MAX_TEXT for v in value):
        raise BadInput(name, "a list of texts", value)
    return value


def clicked(value, name: str) -> list | None:
    """The customdata of the first point of a Plotly clickData, or None when the click carries none."""
    click = mapping(value, name)
    points = click.get("points")
    if points is None:
        return None
    if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
        raise BadInput(f"{name}.points", "a list of objects", points)
    custom = points[0].get("customdata") if points else None
    if custom is None:
        return None
    if not isinstance(custom, list):
        raise BadInput(f"{name}.points[0].customdata", "a list", custom)
    return custom
