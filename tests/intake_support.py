"""Shared test data for the importer tests: a small town (the demo's four stations, a park, three
enterprises), a county-style mapping in Chinese column names, and CSV writers."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select
from stdnum.cn import uscc

from data.core import rollups
from data.core.schema import Dispute, Enterprise, Hazard, ImportRun, Incident, Park, QuarantineRow, Station
from data.demo import geo


def _shared_datasets() -> Path:
    """../shared/datasets beside the clone, or where EQIAN_SHARED_DIR (or the workplace's /work/shared) says."""
    candidates = [Path(__file__).resolve().parents[2] / "shared"]
    if os.environ.get("EQIAN_SHARED_DIR"):
        candidates.insert(0, Path(os.environ["EQIAN_SHARED_DIR"]))
    candidates.append(Path("/work/shared"))
    for candidate in candidates:
        if (candidate / "datasets").is_dir():
            return candidate / "datasets"
    return candidates[0] / "datasets"


SHARED = _shared_datasets()
MAPPINGS = Path(__file__).resolve().parent / "mappings"
UTC = UTC


def credit_code(body: str) -> str:
    """A valid unified social credit code from its first 17 characters."""
    return body + uscc.calc_check_digit(body)


CODES = [credit_code("91330502MA2B3C4D5"), credit_code("91330502MA2B3C4D6"), credit_code("92330502MA2B3C4D7")]
UNKNOWN_CODE = credit_code("91330502MA2B3C4D9")  # valid, but no enterprise of ours has it
BAD_CODE = CODES[0][:-1] + ("0" if CODES[0][-1] != "0" else "1")
INSIDE = (30.848, 120.285)  # lat, lon inside 织东 (the east wedge)
INSIDE_NORTH = (30.87, 120.262)  # inside 织北
OUTSIDE = (30.5, 121.5)  # Shanghai-ish: outside the town


def make_town(engine) -> None:
    """Stations, one park and three enterprises (the first in the park)."""
    with engine.begin() as conn:
        conn.execute(insert(Station.__table__), geo.station_rows())
        conn.execute(insert(Park.__table__).values(id=1, name="香圩墩园区", station_id=1, lat=30.85, lon=120.28))
        for i, code in enumerate(CODES, start=1):
            conn.execute(insert(Enterprise.__table__).values(
                id=i, name=f"企业{i}", credit_code=code, sector="童装生产", workers=10, park_id=1 if i == 1 else None,
                station_id=1 if i == 1 else 4, lat=30.85, lon=120.27, address="织里镇", network_unit_class=None))


HEADER = ["编号", "接警时间", "类别", "等级", "方式", "派出所", "纬度", "经度", "地址", "摘要", "信用代码"]
MAPPING = {
    "kind": "incidents",
    "source": "county-110",
    "fields": {
        "source_id": "编号",
        "received_at": {"column": "接警时间", "format": "%Y-%m-%d %H:%M:%S"},
        "category": {"column": "类别", "map": {"盗窃": "刑事", "斗殴": "治安", "车祸": "交通事故", "求助": "群众求助"}},
        "priority": {"column": "等级", "default": 3},
        "channel": {"column": "方式", "map": {"电话": "110", "对讲": "民芯对讲"}, "default": "110"},
        "station": "派出所",
        "lat": "纬度",
        "lon": "经度",
        "address": "地址",
        "summary": "摘要",
        "enterprise": "信用代码",
    },
}


def row(id_, when="2025-03-01 10:00:00", category="盗窃", priority="2", channel="电话", station="织东派出所",
        lat=INSIDE[0], lon=INSIDE[1], address="织里镇大港路1号", summary="电动车被盗", code="") -> list:
    return [id_, when, category, priority, channel, station, "" if lat is None else str(lat),
            "" if lon is None else str(lon), address, summary, code]


def csv_bytes(rows, header=HEADER, encoding="utf-8", newline_at_end=True) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    for r in rows:
        writer.writerow(r)
    text = buf.getvalue()
    if not newline_at_end:
        text = text.rstrip("\n")
    return text.encode(encoding)


def snapshot(engine) -> dict:
    """Everything an import can change: row counts and contents digest, quarantine, imports, rollups."""
    with engine.connect() as conn:
        out = {}
        for model in (Incident, Dispute, Hazard, QuarantineRow, ImportRun):
            out[model.__tablename__] = conn.execute(select(func.count()).select_from(model)).scalar_one()
        out["incident_ids"] = sorted(conn.execute(select(Incident.source, Incident.source_id)).all())
        out["quarantine"] = sorted(conn.execute(select(QuarantineRow.id, QuarantineRow.status,
                                                       QuarantineRow.raw_json)).all())
        out["data_version"] = rollups.current_version(conn)
        out["rollup_total"] = sum(
            conn.execute(select(func.coalesce(func.sum(r.table.c.n), 0))).scalar_one() for r in rollups.ROLLUPS)
        out["triggers"] = _trigger_count(conn)
    return out


def _trigger_count(conn) -> int:
    if conn.dialect.name == "sqlite":
        return conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").scalar_one()
    return conn.exec_driver_sql("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal").scalar_one()


def recent(days: int = 30, hour: int = 10) -> str:
    """A Shanghai wall-clock time ``days`` ago, in the mapping's format."""
    moment = (datetime.now(UTC) - timedelta(days=days)).astimezone(geo_zone())
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0).strftime("%Y-%m-%d %H:%M:%S")


def geo_zone():
    from data.core.timeutil import LOCAL_TZ

    return LOCAL_TZ
