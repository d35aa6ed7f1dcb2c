"""Shared by the download tests (tests/test_exports.py, tests/test_exports_pages.py): the one place a test
client is made and logged in, and the checks every download answer gets."""

from __future__ import annotations

import re

from auth_support import ensure_accounts, login_client


def client(server, role: str = "leader"):
    """A Flask test client of ``server``, logged in (downloads need the ``export`` permission)."""
    http = server.test_client()
    ensure_accounts(server)
    login_client(http, role)
    return http


def disposition_name(response) -> str:
    """The percent-encoded UTF-8 file name of an attachment (``filename*=UTF-8''…``); the ASCII fallback
    ``filename="eqian_…"`` must be there too."""
    header = response.headers["Content-Disposition"]
    assert header.startswith("attachment;") and 'filename="eqian_' in header
    return re.search(r"filename\*=UTF-8''([^;]+)", header).group(1)


def svg_texts(body: bytes) -> list[str]:
    """The text of every <text> element of an SVG (Chinese kept as text, not outlines)."""
    return re.findall(r"<text[^>]*>([^<]*)</text>", body.decode("utf-8"))
