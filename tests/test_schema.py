"""data.core.schema, data.core.db and data.core.timeutil on both backends (the ``engine`` fixture of conftest.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from migration_support import before_the_migrations
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from data.core import db, migrate
from data.core.schema import SCHEMA_VERSION, Base, Hazard, Incident, Meta, Station
from data.core.timeutil import local_date, local_day_range, local_midnight, local_today, to_local

UTC = UTC
PLUS8 = timezone(timedelta(hours=8))
SHANGHAI = ZoneInfo("Asia/Shanghai")
CREATED = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


def _station(session: Session) -> Station:
    station = Station(id=1, code="ZD", name="织东派出所", polygon_geojson="{}", centre_lat=30.8, centre_lon=120.2)
    session.add(station)
    session.flush()
    return station


def _incident(**overrides) -> Incident:
    values = dict(received_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC), category="治安", priority=2,
                  enterprise_related=False, station_id=1, channel="110", created_at=CREATED)
    values.update(overrides)
    return Incident(**values)


def _hazard(**overrides) -> Hazard:
    values = dict(found_at=datetime(2026, 1, 1, 2, 0, tzinfo=UTC), hazard_type="消防", severity="一般",
                  station_id=1, deadline=date(2026, 1, 16), status="待整改", rectified_at=None, created_at=CREATED)
    values.update(overrides)
    return Hazard(**values)


def _store(engine, *objects) -> None:
    with Session(engine) as session:
        _station(session)
        session.add_all(objects)
        session.commit()


def _violation(engine, obj) -> IntegrityError:
    """Store a station (once), then try ``obj`` in its own commit; returns the IntegrityError."""
    with Session(engine) as session:
        if session.get(Station, 1) is None:
            _station(session)
            session.commit()
        session.add(obj)
        with pytest.raises(IntegrityError) as caught:
            session.commit()
        session.rollback()
    return caught.value


class TestUTCDateTime:
    def test_sch001_naive_datetime_refused(self, engine):
        with Session(engine) as session:
            _station(session)
            session.add(_incident(received_at=datetime(2026, 1, 1, 12, 0)))
            with pytest.raises(StatementError, match="naive datetime") as caught:
                session.flush()
            assert isinstance(caught.value.orig, ValueError)
            session.rollback()

    def test_sch002_naive_datetime_refused_in_a_where_clause(self, engine):
        with engine.connect() as conn:
            with pytest.raises(StatementError, match="naive datetime"):
                conn.execute(select(Incident.id).where(Incident.received_at >= datetime(2026, 1, 1)))

    def test_sch003_non_datetime_refused(self, engine):
        with Session(engine) as session:
            _station(session)
            session.add(_incident(received_at="2026-01-01 12:00"))
            with pytest.raises(StatementError, match="expected datetime, got str"):
                session.flush()
            session.rollback()

    def test_sch004_round_trip_is_the_same_instant_in_utc(self, engine):
        given = {
            "a": datetime(2026, 1, 2, 1, 30, 0, 123456, tzinfo=PLUS8),
            "b": datetime(2026, 7, 1, 8, 0, 0, 1, tzinfo=SHANGHAI),
            "c": datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            "d": datetime(2026, 3, 8, 2, 30, tzinfo=ZoneInfo("America/New_York")),
        }
        expected = {
            "a": datetime(2026, 1, 1, 17, 30, 0, 123456, tzinfo=UTC),
            "b": datetime(2026, 7, 1, 0, 0, 0, 1, tzinfo=UTC),
            "c": datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            "d": datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
        }
        _store(engine, *(_incident(source_id=k, received_at=v) for k, v in given.items()))
        with engine.connect() as conn:
            rows = dict(conn.execute(select(Incident.source_id, Incident.received_at)).all())
        assert rows == expected
        for value in rows.values():
            assert value.utcoffset() == timedelta(0)
            assert value.tzinfo == UTC

    def test_sch005_nullable_time_round_trips_none(self, engine):
        _store(engine, _incident(closed_at=None, source_id="x"))
        with engine.connect() as conn:
            assert conn.execute(select(Incident.closed_at)).scalar_one() is None

    def test_sch006_comparisons_convert_the_bound_zone(self, engine):
        _store(engine,
               _incident(source_id="early", received_at=datetime(2026, 1, 1, 17, 30, tzinfo=UTC)),
               _incident(source_id="late",
                         received_at=datetime(2026, 1, 1, 9, 0, tzinfo=timezone(-timedelta(hours=10)))))
        cut = datetime(2026, 1, 2, 2, 0, tzinfo=PLUS8)  # 2026-01-01 18:00 UTC
        with engine.connect() as conn:
            before = conn.execute(select(Incident.source_id).where(Incident.received_at < cut)).scalars().all()
            after = conn.execute(select(Incident.source_id).where(Incident.received_at >= cut)).scalars().all()
        assert before == ["early"]
        assert after == ["late"]

    def test_sch007_postgresql_session_zone_does_not_leak(self, engine):
        if engine.dialect.name != "postgresql":
            pytest.skip("session time zones exist only on PostgreSQL")
        _store(engine, _incident(source_id="x", received_at=datetime(2026, 1, 1, 17, 30, tzinfo=UTC)))
        with engine.connect() as conn:
            conn.execute(text("SET TIME ZONE 'America/New_York'"))
            value = conn.execute(select(Incident.received_at)).scalar_one()
            conn.rollback()
        assert value == datetime(2026, 1, 1, 17, 30, tzinfo=UTC)
        assert value.tzinfo == UTC


class TestCheckConstraints:
    def test_sch010_bad_incident_category(self, engine):
        error = _violation(engine, _incident(category="盗抢"))
        assert "ck_incident_category" in str(error.orig)

    def test_sch011_bad_priority_and_channel(self, engine):
        assert "ck_incident_priority" in str(_violation(engine, _incident(priority=4)).orig)
        assert "ck_incident_channel" in str(_violation(engine, _incident(channel="微信")).orig)

    def test_sch012_bad_hazard_severity(self, engine):
        error = _violation(engine, _hazard(severity="特大"))
        assert "ck_hazard_severity" in str(error.orig)

    def test_sch013_rectified_status_needs_rectified_at(self, engine):
        error = _violation(engine, _hazard(status="已整改", rectified_at=None))
        assert "ck_hazard_status_matches_rectified" in str(error.orig)

    def test_sch014_open_status_must_not_have_rectified_at(self, engine):
        error = _violation(engine, _hazard(status="待整改", rectified_at=datetime(2026, 1, 5, tzinfo=UTC)))
        assert "ck_hazard_status_matches_rectified" in str(error.orig)

    def test_sch015_consistent_hazards_are_accepted(self, engine):
        _store(engine,
               _hazard(source_id="open", status="待整改", rectified_at=None),
               _hazard(source_id="done", status="已整改", rectified_at=datetime(2026, 1, 5, tzinfo=UTC)))
        with engine.connect() as conn:
            rows = conn.execute(select(Hazard.source_id, Hazard.status).order_by(Hazard.source_id)).all()
        assert [tuple(r) for r in rows] == [("done", "已整改"), ("open", "待整改")]


class TestSourceKey:
    def test_sch020_duplicate_source_id_rejected(self, engine):
        _store(engine, _incident(source="demo", source_id="20260101-inc_other-00000"))
        with Session(engine) as session:
            session.add(_incident(source="demo", source_id="20260101-inc_other-00000"))
            with pytest.raises(IntegrityError,
                               match=r"UNIQUE constraint failed: incidents\.source, incidents\.source_id"
                                     r"|uq_incident_source"):
                session.commit()

    def test_sch021_same_source_id_from_another_source_allowed(self, engine):
        _store(engine, _incident(source="demo", source_id="7"), _incident(source="110", source_id="7"))
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Incident)).scalar_one() == 2

    def test_sch022_several_null_source_ids_allowed(self, engine):
        _store(engine, *(_incident(source="local", source_id=None) for _ in range(3)))
        with engine.connect() as conn:
            count = conn.execute(
                select(func.count()).select_from(Incident).where(Incident.source_id.is_(None))
            ).scalar_one()
        assert count == 3

    def test_sch023_source_defaults_to_local(self, engine):
        _store(engine, _incident(source_id="x"))
        with engine.connect() as conn:
            assert conn.execute(select(Incident.source)).scalar_one() == "local"


class TestCreateSchema:
    def test_sch030_records_the_version(self, engine):
        assert db.get_meta(engine, "schema_version") == SCHEMA_VERSION == migrate.HEAD
        assert migrate.current_revision(engine) == SCHEMA_VERSION
        assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {migrate.VERSION_TABLE}

    def test_sch031_idempotent_and_keeps_data(self, engine):
        _store(engine, _incident(source_id="kept"))
        db.set_meta(engine, "demo_settings", "{}")
        db.create_schema(engine)
        db.create_schema(engine)
        with engine.connect() as conn:
            assert conn.execute(select(Incident.source_id)).scalars().all() == ["kept"]
            assert conn.execute(select(func.count()).select_from(Meta)).scalar_one() == 2
        assert db.get_meta(engine, "schema_version") == SCHEMA_VERSION
        assert db.get_meta(engine, "demo_settings") == "{}"

    def test_sch032_other_version_refused(self, engine):
        before_the_migrations(engine, "999")
        with pytest.raises(db.SchemaMismatch, match=rf"database schema version 999 differs from this code's "
                                                    rf"{SCHEMA_VERSION}, which upgrades the versions 6 to 10"):
            db.create_schema(engine)
        assert db.get_meta(engine, "schema_version") == "999"  # left untouched
        assert migrate.current_revision(engine) is None

    def test_sch033_meta_without_version_is_adopted(self, engine):
        before_the_migrations(engine, None)
        db.create_schema(engine)
        assert db.get_meta(engine, "schema_version") == SCHEMA_VERSION
        assert migrate.current_revision(engine) == SCHEMA_VERSION


    def test_sch034_a_version_7_database_gets_the_covering_index_and_keeps_its_data(self, engine):
        """Version 7 had a two-column (enterprise_id, received_at) index; 8 replaces it by a covering one."""
        _store(engine, _incident(source_id="kept"))
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_incident_enterprise_covering"))
            conn.execute(text("CREATE INDEX ix_incident_enterprise_received ON incidents (enterprise_id, received_at)"))
        before_the_migrations(engine, "7")
        db.create_schema(engine)
        indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("incidents")}
        assert indexes["ix_incident_enterprise_covering"] == ["enterprise_id", "received_at", "park_id", "category"]
        assert "ix_incident_enterprise_received" not in indexes
        assert db.get_meta(engine, "schema_version") == SCHEMA_VERSION
        with engine.connect() as conn:
            assert conn.execute(select(Incident.source_id)).scalars().all() == ["kept"]
        db.create_schema(engine)  # and again: nothing left to do
        assert {ix["name"] for ix in inspect(engine).get_indexes("incidents")} == set(indexes)


    def test_sch035_a_version_8_database_gets_the_rectification_rollups_filled(self, engine):
        """Version 9 adds ru_hzd_rect_day/_month; an upgraded database counts its hazards into them at once."""
        from data.core import rollups  # noqa: PLC0415

        found = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
        _store(engine, _hazard(source_id="a", status="已整改", rectified_at=found + timedelta(days=5, hours=3)),
               _hazard(source_id="b", status="已整改", rectified_at=found + timedelta(days=12)),
               _hazard(source_id="c"))
        with engine.begin() as conn:
            rollups.drop_triggers(conn)
            conn.execute(text("DROP TABLE ru_hzd_rect_day"))
            conn.execute(text("DROP TABLE ru_hzd_rect_month"))
        before_the_migrations(engine, "8")
        db.create_schema(engine)
        assert db.get_meta(engine, "schema_version") == SCHEMA_VERSION
        with engine.connect() as conn:
            days = dict(conn.execute(text("SELECT rectify_days, n FROM ru_hzd_rect_day")).all())
            months = dict(conn.execute(text("SELECT rectify_days, n FROM ru_hzd_rect_month")).all())
            assert conn.execute(select(func.count()).select_from(Hazard)).scalar_one() == 3
        assert days == months == {5: 1, 12: 1, -1: 1}
        with Session(engine) as session:  # and the triggers keep it exact afterwards
            session.add(_hazard(source_id="d", status="已整改", rectified_at=found + timedelta(days=5)))
            session.commit()
        with engine.connect() as conn:
            assert dict(conn.execute(text("SELECT rectify_days, n FROM ru_hzd_rect_day")).all())[5] == 2


    def test_sch036_a_version_9_database_gains_ended_sessions_and_keeps_its_data(self, engine):
        """Version 10 adds ended_sessions (logouts every worker sees, issue 17); 9 is upgraded in place."""
        _store(engine, _incident(source_id="kept"))
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE ended_sessions"))
        before_the_migrations(engine, "9")
        db.create_schema(engine)
        assert db.get_meta(engine, "schema_version") == SCHEMA_VERSION == migrate.HEAD
        assert "ended_sessions" in inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert conn.execute(select(Incident.source_id)).scalars().all() == ["kept"]


class TestMeta:
    def test_sch040_missing_key_is_none(self, engine):
        assert db.get_meta(engine, "nothing-here") is None

    def test_sch041_set_inserts_then_replaces(self, engine):
        db.set_meta(engine, "demo_written_until", "2026-11-29T04:00:00+00:00")
        assert db.get_meta(engine, "demo_written_until") == "2026-11-29T04:00:00+00:00"
        db.set_meta(engine, "demo_written_until", "2026-11-29T06:00:00+00:00")
        assert db.get_meta(engine, "demo_written_until") == "2026-11-29T06:00:00+00:00"
        with engine.connect() as conn:
            count = conn.execute(
                select(func.count()).select_from(Meta).where(Meta.key == "demo_written_until")
            ).scalar_one()
        assert count == 1

    def test_sch042_works_on_a_connection_inside_a_transaction(self, engine):
        with engine.begin() as conn:
            db.set_meta(conn, "k", "中文值")
            assert db.get_meta(conn, "k") == "中文值"
        assert db.get_meta(engine, "k") == "中文值"

    def test_sch043_rolled_back_transaction_keeps_nothing(self, engine):
        with pytest.raises(RuntimeError, match="abort"):
            with engine.begin() as conn:
                db.set_meta(conn, "k", "v")
                raise RuntimeError("abort")
        assert db.get_meta(engine, "k") is None


class TestTimeutil:
    def test_sch050_local_midnight_is_16h_utc_the_day_before(self):
        assert local_midnight(date(2026, 1, 2)) == datetime(2026, 1, 1, 16, 0, tzinfo=UTC)
        assert local_midnight(date(2024, 3, 1)) == datetime(2024, 2, 29, 16, 0, tzinfo=UTC)
        assert local_midnight(date(2026, 7, 1)).utcoffset() == timedelta(0)

    def test_sch051_local_day_range_is_half_open(self):
        start, end = local_day_range(date(2026, 1, 1), date(2026, 1, 31))
        assert start == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
        assert end == datetime(2026, 1, 31, 16, 0, tzinfo=UTC)
        one_day = local_day_range(date(2026, 11, 29), date(2026, 11, 29))
        assert one_day == (datetime(2026, 11, 28, 16, 0, tzinfo=UTC), datetime(2026, 11, 29, 16, 0, tzinfo=UTC))

    def test_sch052_empty_range_refused(self):
        with pytest.raises(ValueError, match=r"empty day range 2026-01-02\.\.2026-01-01"):
            local_day_range(date(2026, 1, 2), date(2026, 1, 1))

    def test_sch053_local_today_and_to_local(self):
        assert local_today(datetime(2026, 1, 1, 15, 59, 59, tzinfo=UTC)) == date(2026, 1, 1)
        assert local_today(datetime(2026, 1, 1, 16, 0, tzinfo=UTC)) == date(2026, 1, 2)
        local = to_local(datetime(2026, 1, 1, 17, 30, tzinfo=UTC))
        assert (local.date(), local.hour, local.minute) == (date(2026, 1, 2), 1, 30)
        assert local.utcoffset() == timedelta(hours=8)
        with pytest.raises(ValueError, match="naive datetime"):
            to_local(datetime(2026, 1, 1))


LOCAL_DATE_CASES = {
    "evening-utc": (datetime(2026, 1, 1, 17, 30, tzinfo=UTC), date(2026, 1, 2)),
    "at-midnight": (datetime(2026, 1, 1, 16, 0, tzinfo=UTC), date(2026, 1, 2)),
    "last-second": (datetime(2026, 1, 1, 15, 59, 59, tzinfo=UTC), date(2026, 1, 1)),
    "new-year-eve": (datetime(2025, 12, 31, 23, 0, tzinfo=UTC), date(2026, 1, 1)),
    "morning": (datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC), date(2026, 1, 1)),
    "leap-day": (datetime(2024, 2, 28, 16, 0, tzinfo=UTC), date(2024, 2, 29)),
}


class TestLocalDateSql:
    def test_sch060_shanghai_date_of_utc_times(self, engine):
        _store(engine, *(_incident(source_id=k, received_at=v) for k, (v, _d) in LOCAL_DATE_CASES.items()))
        with engine.connect() as conn:
            rows = dict(conn.execute(select(Incident.source_id, local_date(Incident.received_at))).all())
        assert rows == {k: d for k, (_v, d) in LOCAL_DATE_CASES.items()}
        assert all(type(d) is date for d in rows.values())

    def test_sch061_group_and_filter_by_local_date(self, engine):
        _store(engine, *(_incident(source_id=k, received_at=v) for k, (v, _d) in LOCAL_DATE_CASES.items()))
        day = local_date(Incident.received_at)
        with engine.connect() as conn:
            grouped = dict(conn.execute(select(day, func.count()).group_by(day)).all())
            on_second = conn.execute(
                select(Incident.source_id).where(day == date(2026, 1, 2)).order_by(Incident.source_id)
            ).scalars().all()
        assert grouped == {date(2026, 1, 1): 3, date(2026, 1, 2): 2, date(2024, 2, 29): 1}
        assert on_second == ["at-midnight", "evening-utc"]

    def test_sch062_sub_millisecond_before_midnight_stays_on_the_day(self, engine):
        moment = datetime(2026, 1, 1, 15, 59, 59, 999900, tzinfo=UTC)  # 23:59:59.9999 in Shanghai
        _store(engine, _incident(source_id="x", received_at=moment))
        start, end = local_day_range(date(2026, 1, 1), date(2026, 1, 1))
        assert start <= moment < end  # the range helpers put it on 1 January
        with engine.connect() as conn:
            assert conn.execute(select(local_date(Incident.received_at))).scalar_one() == date(2026, 1, 1)

    def test_sch063_daily_counts_keep_a_late_event_on_its_day(self, engine):
        from data.counts.programme import daily_counts

        _store(engine,
               _incident(source_id="late", received_at=datetime(2026, 1, 1, 15, 59, 59, 999600, tzinfo=UTC)),
               _incident(source_id="early", received_at=datetime(2025, 12, 31, 1, 0, tzinfo=UTC)))
        with engine.connect() as conn:
            counts = daily_counts(conn, "incidents", date(2025, 12, 31), date(2026, 1, 1))
        assert counts.tolist() == [1, 1]
