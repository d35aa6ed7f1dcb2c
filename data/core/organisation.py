"""The organisation that runs the cockpit: its name, what its whole jurisdiction is called, its network's name.

THE place these words live. They are settings of the database (the ``meta`` table, keys ``org:<field>``), set on
the admin page ``/admin/organisation`` or by ``flask --app app set-organisation``, never written into the code:
every title, report header and footer, table file's title line and file name reads them from here. A database
nobody has configured yet has the neutral defaults below (titles then read "e企安365 数字驾驶舱"); the demo town
writes its own (data/demo).

Changing them bumps the data version, so cached frames and downloads are drawn again with the new words.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from sqlalchemy import Connection, select

from data.core import db, rollups
from data.core.schema import Meta

PREFIX = "org:"
PRODUCT = "e企安365"
NETWORK = "网格单位"  # the default name of the network of units
WHOLE = "全镇"  # the default word for the whole jurisdiction (a county bureau sets 全县, a district 全区)
VERSION_SOURCE = "settings"  # its row in data_version: a settings change makes every cached answer stale


@dataclass(frozen=True)
class Organisation:
    """The organisation's words, in Chinese and English (an empty English word falls back to the Chinese)."""

    name: str = ""  # the full name, on report headers: 某某市公安局某某分局
    short_name: str = ""  # in titles, footers and table files: 某某公安
    name_en: str = ""
    short_name_en: str = ""
    whole: str = WHOLE  # what the whole jurisdiction is called on every screen, report and file: 全镇, 全区, 全县
    whole_en: str = ""  # empty: "Whole town" for the default word, else the Chinese word
    place: str = ""  # the jurisdiction's short name in file names: 某某 (empty: the whole word)
    network: str = NETWORK  # the name of the bureau's network of units (its classes are vocabulary)
    network_en: str = ""  # empty: "Network unit" for the default name, else the Chinese name
    name_prefixes: str = ""  # the place words enterprise names begin with, cut in tight lists: 某市某镇, 某市

    @property
    def brand(self) -> str:
        """The short name and the product: 某某公安 e企安365 (no name set: e企安365), for authors, footers and the
        title lines of table files."""
        return " ".join(p for p in (self.short_name, PRODUCT) if p)

    @property
    def prefixes(self) -> tuple[str, ...]:
        """``name_prefixes`` as a tuple, longest first (so 某市某镇 is cut before 某市)."""
        words = {w.strip() for w in self.name_prefixes.replace("，", ",").split(",") if w.strip()}
        return tuple(sorted(words, key=lambda w: (-len(w), w)))

    def short(self, lang: str = "zh") -> str:
        """The short name in ``lang`` ('' when not set)."""
        return (self.short_name_en or self.short_name) if lang == "en" else self.short_name

    def whole_word(self, lang: str = "zh") -> str:
        """What the whole jurisdiction is called in ``lang``."""
        if lang != "en":
            return self.whole
        return self.whole_en or ("Whole town" if self.whole == WHOLE else self.whole)

    def network_word(self, lang: str = "zh") -> str:
        if lang != "en":
            return self.network
        return self.network_en or ("Network unit" if self.network == NETWORK else self.network)

    @property
    def file_place(self) -> str:
        """The whole jurisdiction in a file name: its short place name, else its whole word."""
        return self.place or self.whole

    @property
    def whole_names(self) -> tuple[str, ...]:
        """What a user may type to mean the whole jurisdiction (a report's unit)."""
        return tuple(dict.fromkeys(("", "town", self.whole, WHOLE, self.place)))


DEFAULT = Organisation()
FIELDS = tuple(f.name for f in fields(Organisation))
REQUIRED = ("whole", "network")  # never empty: screens label the whole jurisdiction and a profile's row with them
MAX_LENGTH = {"name": 64, "short_name": 32, "name_en": 120, "short_name_en": 60, "whole": 8, "whole_en": 40,
              "place": 16, "network": 32, "network_en": 60, "name_prefixes": 200}
LABELS = {  # the admin page's and the CLI's words for each field
    "name": "机构全称", "short_name": "机构简称", "name_en": "机构全称（英文）", "short_name_en": "机构简称（英文）",
    "whole": "辖区总称（全镇、全区、全县）", "whole_en": "辖区总称（英文）", "place": "辖区简称（文件名）",
    "network": "网格单位名称", "network_en": "网格单位名称（英文）",
    "name_prefixes": "企业简称省略的地名前缀（逗号分隔）",
}


class OrganisationError(ValueError):
    """A setting that cannot be stored, named with the reason."""


def load(conn: Connection) -> Organisation:
    """The organisation as the database holds it (defaults for what is not set)."""
    rows = conn.execute(select(Meta.key, Meta.value).where(Meta.key.like(f"{PREFIX}%"))).all()
    stored = {key.removeprefix(PREFIX): value for key, value in rows if key.removeprefix(PREFIX) in FIELDS}
    return replace(DEFAULT, **stored)


def check(changes: dict[str, str]) -> dict[str, str]:
    """The changes, trimmed; OrganisationError names every field that is unknown, too long or must not be empty."""
    problems, clean = [], {}
    for key, value in changes.items():
        if key not in FIELDS:
            problems.append(f"{key}: no such setting (use {', '.join(FIELDS)})")
            continue
        text = "" if value is None else " ".join(str(value).split())
        if len(text) > MAX_LENGTH[key]:
            problems.append(f"{key} ({LABELS[key]}): {len(text)} characters, at most {MAX_LENGTH[key]}")
        elif not text and key in REQUIRED:
            problems.append(f"{key} ({LABELS[key]}): must not be empty")
        else:
            clean[key] = text
    if problems:
        raise OrganisationError("; ".join(problems))
    return clean


def save(conn: Connection, changes: dict[str, str]) -> tuple[Organisation, dict[str, tuple[str, str]]]:
    """Store ``changes`` (checked first: nothing is written when one is refused) in the caller's transaction;
    answers the organisation now and what changed (field -> (old, new)). The caller audits the change."""
    clean = check(changes)
    before = load(conn)
    changed = {k: (getattr(before, k), v) for k, v in clean.items() if getattr(before, k) != v}
    for key, (_old, new) in changed.items():
        db.set_meta(conn, PREFIX + key, new)
    if changed:
        rollups.bump_version(conn, VERSION_SOURCE)
    return replace(before, **clean), changed
