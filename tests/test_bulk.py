"""data.core.bulk: column arrays in (COPY on PostgreSQL, executemany on SQLite), the same values out through
SQLAlchemy."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data.core import bulk
from data.core.schema import DemoPending, Enterprise, Hazard, Incident, Park, Station

UTC = UTC
PLUS8 = timezone(timedelta(hours=8))
TRICKY = "a\tb\nc\\d"  # tab, newline and backslash: all special in COPY text format


def _world(conn) -> None:
    """Two stations, one park and two enterprises, inserted through insert_columns too."""
    bulk.insert_columns(conn, Station.__table__, {
        "id": [1, 2], "code": ["ZD", "ZB"], "name": ["织东派出所", "织北派出所"],
        "polygon_geojson": ['{"type": "Polygon"}', "{}"], "centre_lat": [30.84, 30.86], "centre_lon": [120.27, 120.26],
    })
    bulk.insert_columns(conn, Park.__table__, {
        "id": [1], "name": ["大港路童装产业园"], "station_id": [1], "lat": [30.845], "lon": [120.271],
    })
    bulk.insert_columns(conn, Enterprise.__table__, {
        "id": np.array([1, 2]),
        "name": np.array(["湖州乐贝童装有限公司", "湖州星宝物流有限公司"], dtype=object),
        "credit_code": np.array(["91330502MA2B3C4D58", "92330502MA2B3C4D68"], dtype=object),
        "sector": np.array(["童装生产", "物流仓储"], dtype=object),
        "workers": np.array([np.int64(35), None], dtype=object),
        "park_id": np.array([np.int64(1), None], dtype=object),
        "station_id": np.array([1, 2]),
        "lat": np.array([30.845123, 30.861]),
        "lon": np.array([120.271456, 120.262]),
        "address": np.array(["织里镇大港路12号", "织里镇中华路8号"], dtype=object),
        "network_unit_class": np.array([None, "快递物流"], dtype=object),
        "registered_on": np.array([date(2010, 3, 4), None], dtype=object),
    })


def _t64(*texts) -> np.ndarray:
    return np.array(texts, dtype="datetime64[us]")


INCIDENT_COLUMNS = {
    "id": np.array([1, 2, 3, 4]),
    "received_at": _t64("2026-01-01T17:30:00.123456", "2026-01-02T00:00:00", "2025-12-31T23:59:59.999999",
                        "2024-02-29T08:00:00.000001"),
    "created_at": _t64("2026-01-01T17:30:30.123456", "2026-01-02T00:00:30", "2026-01-01T00:00:29.999999",
                       "2024-02-29T08:00:30.000001"),
    "category": np.array(["治安", "刑事", "交通事故", "其他"], dtype=object),
    "subcategory": np.array(["打架斗殴", None, "货车事故", None], dtype=object),
    "priority": np.array([np.int64(2), np.int64(1), np.int64(3), np.int32(2)], dtype=object),
    "enterprise_related": np.array([False, True, True, False]),
    "enterprise_id": np.array([None, np.int64(1), np.int64(2), None], dtype=object),
    "station_id": np.array([1, 1, 2, 2], dtype=np.int64),
    "park_id": np.array([None, np.int64(1), None, None], dtype=object),
    "lat": np.array([30.845678, 30.9, None, 30.0], dtype=object),
    "lon": np.array([120.1, 120.262001, None, 121.5], dtype=object),
    "address": np.array(["织里镇大港路12号3幢501室", "x'y\"z", "", None], dtype=object),
    "caller_name": np.array(["王建国", None, "李娜", "O'Brien"], dtype=object),
    "caller_phone": np.array(["13812345678", "+86 139-8765-4321", None, "0572-3012345"], dtype=object),
    "summary": np.array([TRICKY, "\\N", "carriage\r\nreturn", "纯中文：报警人称财物被盗"], dtype=object),
    "channel": np.array(["110", "民芯对讲", "钉钉群", "来所"], dtype=object),
    "disposition": np.array([None, "出警", "企业自治化解", "转办"], dtype=object),
    "dispatched_at": _t64("2026-01-01T17:32:00", "NaT", "2026-01-01T00:01:00.5", "NaT"),
    "arrived_at": np.array([datetime(2026, 1, 2, 1, 40, tzinfo=PLUS8), None,
                            datetime(2026, 1, 1, 0, 10, tzinfo=UTC), None], dtype=object),
    "closed_at": _t64("NaT", "NaT", "NaT", "NaT"),
    "loss_amount": np.array([Decimal("1234.56"), 99.5, None, Decimal("99999999.99")], dtype=object),
    "recovered_amount": np.array([Decimal("0"), None, 12.3, Decimal("0.01")], dtype=object),
    "source": np.array(["demo"] * 4, dtype=object),
    "source_id": np.array(["a-1", "a-2", "a-3", "a-4"], dtype=object),
}

EXPECTED_INCIDENTS = [
    {"id": 1, "received_at": datetime(2026, 1, 1, 17, 30, 0, 123456, tzinfo=UTC),
     "created_at": datetime(2026, 1, 1, 17, 30, 30, 123456, tzinfo=UTC), "category": "治安",
     "subcategory": "打架斗殴", "priority": 2, "enterprise_related": False, "enterprise_id": None,
     "station_id": 1, "park_id": None, "lat": 30.845678, "lon": 120.1, "address": "织里镇大港路12号3幢501室",
     "caller_name": "王建国", "caller_phone": "13812345678", "summary": TRICKY, "channel": "110",
     "disposition": None, "dispatched_at": datetime(2026, 1, 1, 17, 32, tzinfo=UTC),
     "arrived_at": datetime(2026, 1, 1, 17, 40, tzinfo=UTC), "closed_at": None,
     "loss_amount": Decimal("1234.56"), "recovered_amount": Decimal("0.00"), "source": "demo", "source_id": "a-1"},
    {"id": 2, "received_at": datetime(2026, 1, 2, 0, 0, tzinfo=UTC),
     "created_at": datetime(2026, 1, 2, 0, 0, 30, tzinfo=UTC), "category": "刑事", "subcategory": None,
     "priority": 1, "enterprise_related": True, "enterprise_id": 1, "station_id": 1, "park_id": 1,
     "lat": 30.9, "lon": 120.262001, "address": "x'y\"z", "caller_name": None,
     "caller_phone": "+86 139-8765-4321", "summary": "\\N", "channel": "民芯对讲", "disposition": "出警",
     "dispatched_at": None, "arrived_at": None, "closed_at": None, "loss_amount": Decimal("99.50"),
     "recovered_amount": None, "source": "demo", "source_id": "a-2"},
    {"id": 3, "received_at": datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
     "created_at": datetime(2026, 1, 1, 0, 0, 29, 999999, tzinfo=UTC), "category": "交通事故",
     "subcategory": "货车事故", "priority": 3, "enterprise_related": True, "enterprise_id": 2, "station_id": 2,
     "park_id": None, "lat": None, "lon": None, "address": "", "caller_name": "李娜", "caller_phone": None,
     "summary": "carriage\r\nreturn", "channel": "钉钉群", "disposition": "企业自治化解",
     "dispatched_at": datetime(2026, 1, 1, 0, 1, 0, 500000, tzinfo=UTC),
     "arrived_at": datetime(2026, 1, 1, 0, 10, tzinfo=UTC), "closed_at": None, "loss_amount": None,
     "recovered_amount": Decimal("12.30"), "source": "demo", "source_id": "a-3"},
    {"id": 4, "received_at": datetime(2024, 2, 29, 8, 0, 0, 1, tzinfo=UTC),
     "created_at": datetime(2024, 2, 29, 8, 0, 30, 1, tzinfo=UTC), "category": "其他", "subcategory": None,
     "priority": 2, "enterprise_related": False, "enterprise_id": None, "station_id": 2, "park_id": None,
     "lat": 30.0, "lon": 121.5, "address": None, "caller_name": "O'Brien", "caller_phone": "0572-3012345",
     "summary": "纯中文：报警人称财物被盗", "channel": "来所", "disposition": "转办", "dispatched_at": None,
     "arrived_at": None, "closed_at": None, "loss_amount": Decimal("99999999.99"),
     "recovered_amount": Decimal("0.01"), "source": "demo", "source_id": "a-4"},
]


def _insert_incidents(engine) -> int:
    with engine.begin() as conn:
        _world(conn)
        return bulk.insert_columns(conn, Incident.__table__, INCIDENT_COLUMNS)


class TestInsertColumns:
    def test_blk001_incidents_read_back_equal(self, engine):
        assert _insert_incidents(engine) == 4
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(Incident.__table__).order_by(Incident.id))]
        assert len(rows) == len(EXPECTED_INCIDENTS)
        for got, want in zip(rows, EXPECTED_INCIDENTS, strict=True):
            for column, value in want.items():
                assert got[column] == value, (want["id"], column, got[column])
                if isinstance(value, datetime):
                    assert got[column].tzinfo == UTC, column
                if isinstance(value, bool):
                    assert got[column] is value, column
        assert set(rows[0]) == set(EXPECTED_INCIDENTS[0]) | {"import_id", "import_flags"}  # every column compared
        assert all(r["import_id"] is None and r["import_flags"] is None for r in rows)  # not written by an import

    def test_blk002_orm_objects_see_the_same_values(self, engine):
        _insert_incidents(engine)
        with Session(engine) as session:
            first = session.get(Incident, 1)
            assert first.summary == TRICKY
            assert first.arrived_at == datetime(2026, 1, 2, 1, 40, tzinfo=PLUS8)
            assert first.loss_amount == Decimal("1234.56")
            second = session.get(Incident, 2)
            assert second.summary == "\\N" and second.dispatched_at is None
            assert second.enterprise_related is True

    def test_blk003_time_filters_see_bulk_rows_like_orm_rows(self, engine):
        _insert_incidents(engine)
        with engine.begin() as conn:
            bulk.sync_id_sequence(conn, Incident.__table__)
        cut = datetime(2026, 1, 2, 1, 30, tzinfo=PLUS8)  # 2026-01-01 17:30 UTC
        with Session(engine) as session:
            session.add(Incident(received_at=datetime(2026, 1, 1, 17, 30, 0, 123456, tzinfo=UTC), category="其他",
                                 priority=3, enterprise_related=False, station_id=1, channel="110",
                                 created_at=datetime(2026, 1, 1, 18, 0, tzinfo=UTC), source_id="orm-1"))
            session.commit()
        with engine.connect() as conn:
            later = conn.execute(
                select(Incident.source_id).where(Incident.received_at > cut).order_by(Incident.source_id)
            ).scalars().all()
            distinct = conn.execute(
                select(func.count(func.distinct(Incident.received_at)))
                .where(Incident.source_id.in_(["a-1", "orm-1"]))
            ).scalar_one()
        assert later == ["a-1", "a-2", "orm-1"]
        assert distinct == 1  # the bulk text and the ORM's own value are the same stored value

    def test_blk004_world_tables_read_back_equal(self, engine):
        with engine.begin() as conn:
            _world(conn)
        with engine.connect() as conn:
            ents = [dict(r._mapping) for r in conn.execute(select(Enterprise.__table__).order_by(Enterprise.id))]
            park = dict(conn.execute(select(Park.__table__)).one()._mapping)
        assert ents[0]["workers"] == 35 and ents[1]["workers"] is None
        assert ents[0]["park_id"] == 1 and ents[1]["park_id"] is None
        assert ents[0]["registered_on"] == date(2010, 3, 4) and ents[1]["registered_on"] is None
        assert ents[0]["network_unit_class"] is None and ents[1]["network_unit_class"] == "快递物流"
        assert ents[1]["credit_code"] == "92330502MA2B3C4D68"
        assert (ents[0]["lat"], ents[0]["lon"]) == (30.845123, 120.271456)
        assert park == {"id": 1, "name": "大港路童装产业园", "station_id": 1, "lat": 30.845, "lon": 120.271,
                        "code": None, "polygon_geojson": None}  # not given: NULL

    def test_blk005_dates_json_and_due_times(self, engine):
        values = json.dumps({"status": "已整改", "note": 'quote " and back\\slash\ttab'}, ensure_ascii=False)
        with engine.begin() as conn:
            _world(conn)
            bulk.insert_columns(conn, Hazard.__table__, {
                "found_at": _t64("2026-01-05T01:00:00"), "hazard_type": ["消防"], "severity": ["一般"],
                "enterprise_id": [1], "station_id": [1], "park_id": [None], "description": [None],
                "deadline": np.array([date(2026, 1, 20)], dtype=object), "rectified_at": _t64("NaT"),
                "status": ["待整改"], "source": ["demo"], "source_id": ["h-1"],
                "created_at": _t64("2026-01-05T01:00:30"),
            })
            bulk.insert_columns(conn, DemoPending.__table__, {
                "table_name": ["hazards"], "source_id": ["h-1"], "due_at": _t64("2026-01-09T03:04:05.000006"),
                "values_json": [values],
            })
        with engine.connect() as conn:
            hazard = conn.execute(select(Hazard.deadline, Hazard.rectified_at, Hazard.status)).one()
            pending = conn.execute(select(DemoPending.due_at, DemoPending.values_json)).one()
        assert tuple(hazard) == (date(2026, 1, 20), None, "待整改")
        assert pending.due_at == datetime(2026, 1, 9, 3, 4, 5, 6, tzinfo=UTC)
        assert pending.values_json == values
        assert json.loads(pending.values_json)["note"] == 'quote " and back\\slash\ttab'


class TestInsertColumnsArguments:
    def test_blk010_unequal_lengths_refused(self, engine):
        with engine.begin() as conn:
            with pytest.raises(ValueError, match=r"columns of unequal length for stations: \[1, 2\]"):
                bulk.insert_columns(conn, Station.__table__, {
                    "id": [1, 2], "code": ["ZD"], "name": ["a", "b"], "polygon_geojson": ["{}", "{}"],
                    "centre_lat": [1.0, 2.0], "centre_lon": [1.0, 2.0],
                })
            assert conn.execute(select(func.count()).select_from(Station)).scalar_one() == 0

    def test_blk011_empty_columns_insert_nothing(self, engine):
        with engine.begin() as conn:
            assert bulk.insert_columns(conn, Station.__table__, {}) == 0
            assert bulk.insert_columns(conn, Station.__table__, {"id": [], "code": []}) == 0
            assert conn.execute(select(func.count()).select_from(Station)).scalar_one() == 0

    def test_blk012_underscore_keys_are_ignored(self, engine):
        with engine.begin() as conn:
            n = bulk.insert_columns(conn, Station.__table__, {
                "_table": "stations", "id": [7], "code": ["ZX"], "name": ["织西派出所"], "polygon_geojson": ["{}"],
                "centre_lat": [30.8], "centre_lon": [120.2],
            })
        assert n == 1
        with engine.connect() as conn:
            assert conn.execute(select(Station.id, Station.code)).one() == (7, "ZX")

    def test_blk013_naive_python_datetime_refused(self, engine):
        with engine.begin() as conn:
            _world(conn)
            columns = {k: v[:1] for k, v in INCIDENT_COLUMNS.items()}
            columns["arrived_at"] = np.array([datetime(2026, 1, 1, 17, 40)], dtype=object)
            with pytest.raises(ValueError, match="naive datetime"):
                bulk.insert_columns(conn, Incident.__table__, columns)


class TestSyncIdSequence:
    def test_blk020_orm_insert_after_explicit_ids(self, engine):
        _insert_incidents(engine)
        with engine.begin() as conn:
            bulk.sync_id_sequence(conn, Incident.__table__)
            bulk.sync_id_sequence(conn, Station.__table__)
        with Session(engine) as session:
            incident = Incident(received_at=datetime(2026, 2, 1, tzinfo=UTC), category="其他", priority=3,
                                enterprise_related=False, station_id=1, channel="110",
                                created_at=datetime(2026, 2, 1, tzinfo=UTC), source_id="orm-1")
            station = Station(code="ZN", name="织南派出所", polygon_geojson="{}", centre_lat=30.8, centre_lon=120.2)
            session.add_all([incident, station])
            session.commit()
            assert incident.id == 5
            assert station.id == 3

    def test_blk021_sync_is_idempotent(self, engine):
        _insert_incidents(engine)
        with engine.begin() as conn:
            bulk.sync_id_sequence(conn, Incident.__table__)
            bulk.sync_id_sequence(conn, Incident.__table__)
        with Session(engine) as session:
            incident = Incident(received_at=datetime(2026, 2, 1, tzinfo=UTC), category="其他", priority=3,
                                enterprise_related=False, station_id=1, channel="110",
                                created_at=datetime(2026, 2, 1, tzinfo=UTC))
            session.add(incident)
            session.commit()
            assert incident.id == 5

    def test_blk022_without_sync_postgresql_collides(self, engine):
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite picks max(id) + 1 by itself")
        with engine.begin() as conn:
            _world(conn)
        with Session(engine) as session:
            session.add(Station(code="ZN", name="织南派出所", polygon_geojson="{}", centre_lat=30.8, centre_lon=120.2))
            with pytest.raises(IntegrityError, match="stations_pkey"):
                session.commit()
