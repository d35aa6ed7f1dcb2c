"""Large read-only tables as one component of escaped HTML instead of hundreds of Dash components.

Dash's renderer re-examines every component of the page on each store update, so a table drawn as
html.Tr/html.Td costs time on every later callback of the page (a 700-component period book made each
filter change about half a second slower). A table here is a string of HTML, every text escaped, drawn
by one ``dcc.Markdown`` (raw HTML allowed, no Markdown inside a block without blank lines). Links in
it carry the ``nav`` class: ``assets/nav.js`` turns a click on one into a history push that the page's
``dcc.Location`` sees, like a ``dcc.Link``; they still work as plain links without JavaScript.
"""

from __future__ import annotations

import re
from html import escape

from dash import dcc

Cell = "str | Node"


class Node(str):
    """Markup that is already safe (built by ``el``); plain ``str`` is text and gets escaped."""


def _attr_name(key: str) -> str:
    key = key.rstrip("_")
    return "class" if key in ("cls", "className") else key.replace("_", "-")


# Line breaks of any kind: a blank line would end the raw HTML block, and Markdown would then render what
# follows (links, images, headings) from text that came from the database.
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x85\u2028\u2029]")


def text(value, quote: bool = False) -> str:
    """Text as HTML that cannot leave its element: escaped, every line break a character reference."""
    return _LINE_BREAKS.sub("&#10;", escape(str(value), quote=quote))


def el(tag: str, *children, **attrs) -> Node:
    """``<tag attrs>children</tag>``; text children and attribute values are escaped, None is left out."""
    parts = [f" {_attr_name(k)}=\"{text(v, quote=True)}\"" for k, v in attrs.items()
             if v is not None and v is not False]
    inner = "".join(c if isinstance(c, Node) else text(c) for c in _flatten(children) if c is not None)
    return Node(f"<{tag}{''.join(parts)}>{inner}</{tag}>")


def _flatten(children):
    for c in children:
        if isinstance(c, (list, tuple)):
            yield from _flatten(c)
        else:
            yield c


def link(text, href: str, **attrs) -> Node:
    """A link that the page follows without reloading (``assets/nav.js``)."""
    cls = " ".join(x for x in ("nav", attrs.pop("cls", None)) if x)
    return el("a", text, href=href, cls=cls, **attrs)


def block(component_id: str | dict | None, markup: str, class_name: str | None = None) -> dcc.Markdown:
    """One component drawing ``markup`` (which must come from ``el``: everything in it escaped)."""
    if not isinstance(markup, Node):
        raise TypeError("block() takes markup built by el(), never a plain string")
    if _LINE_BREAKS.search(markup):  # el() never makes one: a break here would let Markdown in
        raise ValueError("block() markup holds a line break")
    kwargs = {"id": component_id} if component_id is not None else {}
    return dcc.Markdown(str(markup), dangerously_allow_html=True, className=class_name, **kwargs)
