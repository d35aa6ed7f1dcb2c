"""Where to count: a unit of the jurisdiction (the town, a station, a park or an enterprise) and how it scopes a
query. THE place where a unit turns into a filter.

Every read that is limited to a unit asks the unit for its scope here, never writes it by hand:

- ``unit.where(Model)``: the SQLAlchemy conditions that keep a unit's rows of any event table (incidents,
  disputes, hazards), of the enterprises, the parks or the stations; none for the whole town;
- ``unit.sql()``: the same as plain SQL text (the report prints the queries behind its numbers);
- ``unit.filters()``: the filters of the event rollups (data/core/rollups.py); an enterprise is read from
  its own rows instead (``counts_raw(..., enterprise_id=...)``), so it has none here;
- ``unit.column`` and ``unit.mask(frame)``: the id column that places a row in the unit, and the same rule
  over a pandas frame that has those columns;
- ``unit.rollup_key``: the unit's key in the per-unit tables (``safety_index_units``: ``unit_kind``,
  ``unit_id``, the town being ``("town", 0)``);
- ``unit.cache_key``: the repr-stable arguments a cached entry point takes for it (data/service.py).

It fails closed: a table that has no column placing its rows in the unit raises instead of answering for
the whole town. This is where the data scopes of a signed-in user (the units they may see) are to be
enforced as well; tests/test_scope.py fails when a query writes a unit's scope by hand anywhere in data/.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UNIT_KINDS = ("town", "station", "park", "enterprise")
TOWN_KEY = ("town", 0)  # the town's key in the per-unit tables
OWN_TABLES = {"station": "stations", "park": "parks", "enterprise": "enterprises"}  # where a unit is its row


def _table_of(model):
    """The Table of an ORM model, or the table (or subquery) itself."""
    return getattr(model, "__table__", model)


@dataclass(frozen=True)
class Unit:
    """Where to count: the whole town, or one station, park or enterprise; and THE place that turns it into the
    conditions, keys and filters of a query (see the module's docstring; the data scopes of the signed-in
    user are to be enforced here too, failing closed)."""

    kind: str = "town"
    id: int | None = None

    def __post_init__(self):
        if self.kind not in UNIT_KINDS:
            raise ValueError(f"unknown unit kind {self.kind!r}; use one of {', '.join(UNIT_KINDS)}")
        if (self.kind == "town") != (self.id is None):
            raise ValueError(f"unit {self.kind} {'takes no' if self.kind == 'town' else 'needs an'} id")

    @property
    def is_town(self) -> bool:
        return self.kind == "town"

    @property
    def column(self) -> str | None:
        """The column that holds this unit's id in an event table or the enterprises (None: the town)."""
        return None if self.is_town else f"{self.kind}_id"

    def filters(self) -> dict:
        """The event rollups' filters of the unit (an enterprise is read from its rows instead: none)."""
        return {} if self.kind in ("town", "enterprise") else {self.column: self.id}

    def where(self, model) -> list:
        """The conditions that keep the unit's rows of ``model`` (an ORM model or a table); none for the town.

        A station's, park's or enterprise's own table is matched on its id (``Park.id`` for a park). A table
        with no column placing its rows in the unit raises ValueError (fail closed: never the whole town)."""
        if self.is_town:
            return []
        table = _table_of(model)
        if getattr(table, "name", None) == OWN_TABLES[self.kind]:
            return [table.c.id == self.id]
        if self.column not in table.c:
            raise ValueError(f"{getattr(table, 'name', table)} has no {self.column}: it cannot be scoped to a "
                             f"{self.kind}")
        return [table.c[self.column] == self.id]

    def sql(self, prefix: str = "") -> list[str]:
        """``where`` as plain SQL conditions over an event table (``prefix``: a table alias and dot)."""
        return [] if self.is_town else [f"{prefix}{self.column} = {int(self.id)}"]

    def mask(self, frame):
        """A (writable) boolean numpy array: the rows of ``frame`` (a pandas frame with the id columns) in the
        unit."""
        if self.is_town:
            return np.ones(len(frame), dtype=bool)
        return (frame[self.column] == self.id).to_numpy(dtype=bool, copy=True)  # the caller's to narrow further

    @property
    def rollup_key(self) -> tuple[str, int]:
        """The unit's (unit_kind, unit_id) in the per-unit tables; the town is ("town", 0)."""
        return TOWN_KEY if self.is_town else (self.kind, int(self.id))

    @property
    def cache_key(self) -> tuple[str, int | None]:
        """The repr-stable arguments a cached entry point takes for the unit (``Unit(*unit.cache_key)``)."""
        return (self.kind, self.id)


TOWN = Unit()
