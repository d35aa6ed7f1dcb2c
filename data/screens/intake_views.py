"""How the admin intake pages show an import run and a quarantined row to a role that may not see personal data.

A quarantined row keeps the file's cells as they came. Shown masked (the admin role has no ``unmasked``
permission): the cells that feed personal fields (caller name and phone, address, dispute parties) go through
their masks, every other cell, every reason, the file name and the source id through the free-text scrubber
(``data.access.masking.scrub_text``); a personal field's quoted value in a reason is starred. Columns the
mapping does not read are named but not shown. A run's state and report lose the same things
(``masked_run``). The pages themselves are web/admin_intake.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from data.access.masking import mask_address, mask_name, mask_parties, mask_phone, scrub_text
from data.core.timeutil import to_local
from data.screens import import_runs

# Every free-text field of the three kinds (data/core/schema.py): the fields that name people through their masks,
# the rest through the scrubber. The masked cells of a row are also the ones whose reasons lose their quoted value.
PERSONAL: dict[str, Callable[[str | None], str | None]] = {
    "caller_name": mask_name, "caller_phone": mask_phone, "address": mask_address, "parties": mask_parties,
    "summary": scrub_text, "description": scrub_text,
}
NAME_FIELDS = ("caller_name",)  # whose values are masked wherever they appear in the row's other text


def scrubbed(row: dict, *fields: str) -> dict:
    """``row`` with these free-text fields through the scrubber (a file name, an error, a summary)."""
    return dict(row, **{name: scrub_text(row.get(name)) for name in fields})


def masked_run(state: dict) -> tuple[dict, dict]:
    """A run's state and report as a masked role sees them: reasons, errors, summaries and file names scrubbed."""
    state = scrubbed(state, "summary", "filename")
    report = dict(state.get("report") or {})
    if report:
        report["error"] = scrub_text(report.get("error"))
        report["rejections"] = [dict(item, reasons=[mask_reason(r) for r in item["reasons"]],
                                     source_id=scrub_text(item.get("source_id")))
                                for item in report.get("rejections", [])]
    return state, report


@dataclass
class RowView:
    """A quarantined row as the pages show it: the cells the mapping reads (personal ones masked)."""

    item: object
    cells: list[tuple[int, str, str, bool]] = field(default_factory=list)  # (index, column, shown text, masked)
    unused: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    filename: str = ""  # the upload's file name and the row's source id: people name files after people
    source_id: str = ""


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):  # as a person reads it: local time (a stored row is UTC)
        return to_local(value).strftime("%Y-%m-%d %H:%M:%S") if value.tzinfo else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _quoted_end(text: str, start: int) -> int:
    """Where the Python literal opening at ``start`` ends (``values.clip`` writes them), never too early.

    The literal ends at its first unescaped closing quote; a literal ``clip`` cut short ends with "…'" instead,
    so when no closing quote follows, the last "…'" ends it, else the end of the text (starring too much is safe).
    """
    quote = text[start]
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    cut = text.rfind("…'", start + 1)
    return cut + 2 if cut >= 0 else len(text)


def _star_quoted(text: str) -> str:
    """``text`` with every quoted value in it (either quote) replaced by '***'."""
    out, i = [], 0
    while i < len(text):
        if text[i] in "'\"":
            end = _quoted_end(text, i)
            out.append("'***'")
            i = end
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def mask_reason(reason: str, names: Iterable[str | None] = ()) -> str:
    """A rejection reason fit for a masked role: a personal field's quoted value starred, whatever its quotes
    (O'Brien's value is quoted with "), and personal numbers and ``names`` scrubbed from the whole reason."""
    field_name, sep, rest = str(reason).partition(":")
    if sep and field_name in PERSONAL:
        rest = _star_quoted(rest)
    return scrub_text(field_name + sep + rest, names) or ""


@dataclass(frozen=True)
class Reader:
    """What the pages show of an import's rows: the columns its mapping reads (None: the mapping cannot be
    read, show nothing), the masks of the personal ones, and the columns holding the names of its people."""

    used: set[str] | None
    masks: dict[str, Callable[[str | None], str | None]] = field(default_factory=dict)
    names: tuple[str, ...] = ()


def readers(conn, items) -> dict[int, Reader]:
    """Per import of ``items``: its ``Reader``."""
    # the importer loads on first use (150-250 ms and 12 MB at start-up otherwise: web/admin_intake._intake)
    from data.intake.mapping import TARGETS, MappingError, load_mapping  # noqa: PLC0415

    found = import_runs.mappings_of(conn, (i.import_id for i in items))
    out: dict[int, Reader] = {}
    for r in found:
        try:
            mapping = load_mapping(json.loads(r["mapping_json"]), r["kind"])
        except (MappingError, ValueError):
            out[r["id"]] = Reader(None)
            continue
        if mapping.identity:
            targets = TARGETS[r["kind"]]
            out[r["id"]] = Reader(set(targets), {n: m for n, m in PERSONAL.items() if n in targets},
                                  tuple(n for n in NAME_FIELDS if n in targets))
            continue
        columns = {name: spec.columns for name, spec in mapping.fields.items()}
        masks = {c: mask for name, mask in PERSONAL.items() for c in columns.get(name, ())}
        names = tuple(c for name in NAME_FIELDS for c in columns.get(name, ()))
        out[r["id"]] = Reader(mapping.referenced_columns(), masks, names)
    return out


def row_view(item, readers: dict[int, Reader], plain: bool = False) -> RowView:
    """The row as the page shows it: masked and scrubbed unless ``plain`` (a role that may see it unmasked)."""
    reader = readers.get(item.import_id, Reader(None))
    names = [cell_text(item.raw.get(c)) for c in reader.names]
    shown_text = (lambda value: value or "") if plain else (lambda value: scrub_text(value or "", names) or "")
    view = RowView(item, reasons=list(item.reasons) if plain else [mask_reason(r, names) for r in item.reasons],
                   filename=shown_text(item.filename), source_id=shown_text(item.source_id))
    for index, (column, value) in enumerate(item.raw.items()):
        if reader.used is None or (column not in reader.used and column not in reader.masks):
            view.unused.append(column)  # a column the mapping does not read is named, never shown
            continue
        text = cell_text(value)
        shown = text if plain else masked_cell(text, reader.masks.get(column), names)
        view.cells.append((index, column, shown, shown != text))
    return view


def masked_cell(text: str, mask: Callable[[str | None], str | None] | None, names: list[str]) -> str:
    """A cell as a masked role sees it: through its field's mask, then the free-text scrubber."""
    shown = mask(text) if mask is not None else text
    return scrub_text(shown or "", names) or ""
