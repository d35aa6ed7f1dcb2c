"""Data intake: importing incident, dispute and hazard exports (CSV/XLSX) through a mapping file.

The public API, for the CLI (``flask --app app import``) and the admin upload page:

- ``import_file(engine_or_conn, kind, path_or_bytes, mapping, ...) -> ImportReport``: one file, all or
  nothing; rejected rows go to the quarantine, rows already stored are skipped (see ``importer``).
- ``import_registry(...)``: the same for reference data (sectors, parks, enterprises), matched on their key and
  updated in place, with registry snapshots (see ``registry``); ``import_any`` takes either kind (the upload
  page's entry).
- ``load_mapping(path_or_dict, kind)`` checks a mapping and raises ``MappingError`` (see ``mapping``).
- the quarantine: ``list_quarantine``, ``count_quarantine``, ``get_quarantine_row``,
  ``update_quarantine_row``, ``resubmit``, ``discard_quarantine_row`` (see ``quarantine``).
- ``gcj02_to_wgs84`` / ``wgs84_to_gcj02`` (see ``coords``).

A mapping's regular expressions run on RE2, in linear time (``patterns``); the upload page imports in a child
process of its own, never in a web worker (``runner``: ``python -m data.intake.runner``).

Formats, encodings, validation rules and the mapping format: docs/import.md.
"""

from sqlalchemy import Engine

from data.intake import registry
from data.intake.coords import gcj02_to_wgs84, wgs84_to_gcj02
from data.intake.importer import ImportRefused, ImportReport, Rejection, import_file
from data.intake.mapping import KINDS, REFERENCE_KINDS, TARGETS, Mapping, MappingError, load_mapping
from data.intake.quarantine import QuarantineError, QuarantineItem, ResubmitResult, resubmit
from data.intake.quarantine import count_rows as count_quarantine
from data.intake.quarantine import discard as discard_quarantine_row
from data.intake.quarantine import get_row as get_quarantine_row
from data.intake.quarantine import list_rows as list_quarantine
from data.intake.quarantine import update_row as update_quarantine_row
from data.intake.reader import FileError
from data.intake.registry import RegistryReport, import_registry


def import_any(target, kind: str, data, mapping=None, **options) -> ImportReport:
    """``import_file`` for events, ``import_registry`` for reference data; after an enterprise import that changed
    the registry, this month's safety index is recomputed on it (the report's ``follow_up`` says so)."""
    if kind not in REFERENCE_KINDS:
        return import_file(target, kind, data, mapping, **options)
    report = import_registry(target, kind, data, mapping, **options)
    if kind == "enterprises" and report.ok and report.changed and not report.dry_run and isinstance(target, Engine):
        report.follow_up.append(registry.refresh_index_after(target))
    return report

__all__ = [
    "KINDS", "REFERENCE_KINDS", "TARGETS", "RegistryReport", "import_any", "import_registry",
    "FileError", "ImportRefused", "ImportReport", "Mapping", "MappingError", "QuarantineError",
    "QuarantineItem", "Rejection", "ResubmitResult", "count_quarantine", "discard_quarantine_row",
    "gcj02_to_wgs84", "get_quarantine_row", "import_file", "list_quarantine", "load_mapping", "resubmit",
    "update_quarantine_row", "wgs84_to_gcj02",
]
