"""Rollups by the sector of the enterprise concerned equal a pandas join of the raw rows."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import text

from data.core import rollups
from data.core.periods import Window
from data.demo.generator import DemoSettings

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("family,table,time_col", [("incidents", "incidents", "received_at"),
                                                   ("disputes", "disputes", "reported_at"),
                                                   ("hazards", "hazards", "found_at")])
def test_sec001_counts_by_sector_equal_a_join(demo_engine, family, table, time_col):
    today = DemoSettings.load(demo_engine).seed_day
    window = Window(date(today.year, 1, 1), today)
    with demo_engine.connect() as conn:
        counted = rollups.counts(conn, family, window, group_by=("sector",))
        raw = pd.read_sql(text(f"SELECT {time_col} AS t, enterprise_id FROM {table}"), conn)
        sectors = pd.read_sql(text("SELECT id AS enterprise_id, sector FROM enterprises"), conn)
    raw["t"] = pd.to_datetime(raw["t"], utc=True, format="mixed").dt.tz_convert("Asia/Shanghai").dt.date
    raw = raw[(raw["t"] >= window.first) & (raw["t"] <= window.last)].merge(sectors, on="enterprise_id", how="left")
    expected = raw["sector"].fillna("").value_counts().to_dict()
    assert {k[0]: v for k, v in counted.items()} == expected
    assert len(expected) > 3


def test_sec002_sector_filter_and_raw_agree(demo_engine):
    today = DemoSettings.load(demo_engine).seed_day
    window = Window(date(today.year, 1, 1), today)
    with demo_engine.connect() as conn:
        rolled = rollups.counts(conn, "incidents", window, {"sector": "物流仓储"}, ("category",))
        raw = rollups.counts_raw(conn, "incidents", window, {"sector": "物流仓储"}, ("category",))
    assert rolled == raw and sum(rolled.values()) > 0
