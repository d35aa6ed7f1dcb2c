"""The site's pages in one table: where each one is and the permission it needs.

The gate (web/gate.py) guards every request with it. The Dash router (callbacks/router.py) gives each Dash page,
by its name, the function that draws it, its part of the validation layout and its callbacks (which need the
page's permission); ``app.create_app`` refuses to start when the two tables disagree. No dash here: the gate
sits below the callbacks.

A page is drawn at its ``paths``. Its ``prefix`` is what the gate guards: every address that starts with it, and
the prefix without its final slash. A prefix that ends in a slash is a folder of pages: the router draws the page
at every address in it (the enterprise profile takes the last segment, /enterprise/<id>).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """One page (or folder of pages) of the site; ``dash`` False: Flask views, not drawn by the router."""

    name: str
    permission: str | None  # None: any logged-in user
    paths: tuple[str, ...] = ()
    prefix: str | None = None
    dash: bool = True

    def guards(self, path: str) -> bool:
        """Whether a request for ``path`` needs this page's permission."""
        if path in self.paths:
            return True
        return self.prefix is not None and (path == self.prefix.rstrip("/") or path.startswith(self.prefix))

    def drawn_at(self, path: str) -> bool:
        """Whether the router draws this page for ``path``."""
        if not self.dash:
            return False
        folder = self.prefix is not None and self.prefix.endswith("/") and path.startswith(self.prefix)
        return path in self.paths or folder


PAGES: tuple[Page, ...] = (  # the first page that guards a path gives its permission
    Page("wall", "wall", paths=("/", "/wall"), prefix="/wall"),
    Page("review", "review", paths=("/review",), prefix="/review"),
    Page("enterprise", "review", prefix="/enterprise/"),
    Page("admin", "admin", prefix="/admin", dash=False),  # web/admin.py, web/admin_intake.py
    Page("export", "export", prefix="/export/", dash=False),  # web/downloads.py
)


def guarding(path: str) -> Page | None:
    """The page whose permission a request for ``path`` needs (None: an unknown page, open to any login)."""
    return next((page for page in PAGES if page.guards(path)), None)


def drawn_at(path: str) -> Page | None:
    """The Dash page the router draws for ``path`` (None: not found)."""
    return next((page for page in PAGES if page.drawn_at(path)), None)


def dash_pages() -> tuple[Page, ...]:
    return tuple(page for page in PAGES if page.dash)
