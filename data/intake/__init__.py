"""Data intake: importing incident, dispute and hazard exports (CSV/XLSX) through a mapping file.

The public API, for the CLI (``flask --app app import``) and the admin upload page:

- ``import_file(engine_or_conn, kind, path_or_bytes, mapping, ...) -> ImportReport``: one file, all or
  nothing; rejected rows go to the quarantine, rows already stored are skipped (see ``importer``).
- ``load_mapping(path_or_dict, kind)`` checks a mapping and raises ``MappingError`` (see ``mapping``).
- the quarantine: ``list_quarantine``, ``count_quarantine``, ``get_quarantine_row``,
  ``update_quarantine_row``, ``resubmit``, ``discard_quarantine_row`` (see ``quarantine``).
- ``gcj02_to_wgs84`` / ``wgs84_to_gcj02`` (see ``coords``).

A mapping's regular expressions run on RE2, in linear time (``patterns``); the upload page imports in a child
process of its own, never in a web worker (``runner``: ``python -m data.intake.runner``).

Formats, encodings, validation rules and the mapping format: docs/import.md.
"""

from data.intake.coords import gcj02_to_wgs84, wgs84_to_gcj02
from data.intake.importer import ImportRefused, ImportReport, Rejection, import_file
from data.intake.mapping import KINDS, TARGETS, Mapping, MappingError, load_mapping
from data.intake.quarantine import QuarantineError, QuarantineItem, ResubmitResult, resubmit
from data.intake.quarantine import count_rows as count_quarantine
from data.intake.quarantine import discard as discard_quarantine_row
from data.intake.quarantine import get_row as get_quarantine_row
from data.intake.quarantine import list_rows as list_quarantine
from data.intake.quarantine import update_row as update_quarantine_row
from data.intake.reader import FileError

__all__ = [
    "KINDS", "TARGETS", "FileError", "ImportRefused", "ImportReport", "Mapping", "MappingError", "QuarantineError",
    "QuarantineItem", "Rejection", "ResubmitResult", "count_quarantine", "discard_quarantine_row",
    "gcj02_to_wgs84", "get_quarantine_row", "import_file", "list_quarantine", "load_mapping", "resubmit",
    "update_quarantine_row", "wgs84_to_gcj02",
]
