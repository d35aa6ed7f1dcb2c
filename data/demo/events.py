"""Turn a day's planned counts into rows: times, places, enterprises, callers, outcomes.

Rows of one (cell, day) come from a generator seeded by (seed, cell, day), so the seeder and the live
simulator produce the same rows for the same day, whenever and in whatever chunks they run.
Times are numpy ``datetime64[us]`` in UTC; Shanghai is UTC+8 all year (no DST since 1991).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from data.access.masking import mask_address
from data.core import vocab
from data.demo import geo
from data.demo.plan import CELLS, KIND_OF_CELL
from data.demo.world import World, choice_cdf, random_addresses, random_names, random_phones

SHANGHAI_OFFSET = np.timedelta64(8, "h")
MINUTE = np.timedelta64(60_000_000, "us")
NAT = np.datetime64("NaT", "us")

HOURLY = {
    "incident": (35, 25, 18, 14, 12, 14, 22, 35, 48, 55, 56, 52, 47, 48, 52, 54, 55, 54, 52, 56, 60, 58, 52, 45),
    "dispute": (3, 2, 1, 1, 1, 2, 5, 20, 55, 75, 80, 70, 40, 55, 75, 80, 75, 60, 40, 30, 22, 15, 8, 5),
    "hazard": (0, 0, 0, 0, 0, 0, 0, 2, 40, 80, 90, 60, 15, 50, 90, 85, 60, 20, 2, 0, 0, 0, 0, 0),
}
CATEGORY_MIX = {  # category shares within the incident cells that are not pinned to one category
    "inc_ent_other": {"纠纷": 0.42, "治安": 0.20, "群众求助": 0.20, "火灾": 0.04, "电信网络诈骗": 0.04, "其他": 0.10},
    "inc_other": {"刑事": 0.045, "治安": 0.14, "纠纷": 0.20, "群众求助": 0.42, "火灾": 0.012,
                  "电信网络诈骗": 0.045, "其他": 0.138},
}
PRIORITY_MIX = {  # P(priority 1, 2, 3) by category
    "刑事": (0.55, 0.35, 0.10), "火灾": (0.85, 0.15, 0.0), "交通事故": (0.35, 0.45, 0.20),
    "治安": (0.20, 0.50, 0.30), "纠纷": (0.08, 0.42, 0.50), "电信网络诈骗": (0.25, 0.50, 0.25),
    "群众求助": (0.10, 0.30, 0.60), "其他": (0.02, 0.18, 0.80),
}
SUMMARY_DETAIL = {
    "刑事": "报警人称财物被盗或被骗，请求处理", "治安": "现场有人员冲突，请求民警到场",
    "交通事故": "发生交通事故，请求处理",
    "纠纷": "双方发生纠纷，请求调解", "群众求助": "群众求助，请求帮助", "火灾": "发现火情，请求处置",
    "电信网络诈骗": "报警人称被电信网络诈骗", "其他": "其他警情",
}
LEVEL_MIX = {  # settled level shares before and after the programme start
    "before": (0.15, 0.12, 0.38, 0.25, 0.10),
    "after": (0.46, 0.22, 0.16, 0.11, 0.05),
}
LEVEL_DAYS = (1.5, 4.0, 6.0, 20.0, 90.0)  # median days to settle at each level
LEVEL_MEDIATORS = (("企业调解员", "矛盾调处队"), ("平安大姐工作室", "老兵驿站"), ("社区民警",), ("人民调解员", "律师"),
                   ("法院",))
OTHER_DISPUTE_MIX = {"经济": 0.30, "邻里": 0.25, "婚恋家庭": 0.18, "交通": 0.15, "其他": 0.12}
HAZARD_TYPE_MIX = {"消防": 0.35, "用电": 0.25, "三合一住人": 0.12, "生产安全": 0.15, "危化品": 0.05,
                   "特种设备": 0.05, "其他": 0.03}
SEVERITY_MIX = {"一般": 0.80, "较大": 0.17, "重大": 0.03}
SEVERITY_DEADLINE_DAYS = {"一般": 15, "较大": 30, "重大": 60}
SEVERITY_MEDIAN_LAG = {"一般": 6.0, "较大": 14.0, "重大": 28.0}
HAZARD_DETAIL = {
    "消防": "消防通道堵塞或灭火器失效", "用电": "私拉乱接电线", "三合一住人": "生产经营储存住人混合",
    "生产安全": "设备防护缺失", "危化品": "危化品存放不规范", "特种设备": "特种设备未年检", "其他": "其他隐患",
}


# --- fast draws ------------------------------------------------------------------------------------------
# ``Generator.choice(k, n, p=p)`` spends most of its time checking ``p`` (tens of microseconds a call, and
# the seeder makes tens of thousands of calls). The helpers below draw exactly what it draws: choice builds
# cdf = p.cumsum(); cdf /= cdf[-1] and returns cdf.searchsorted(rng.random(n), side="right"); a uniform
# choice from a sequence is rng.integers(0, len(seq)), and integers with an array of bounds draws each
# element as a scalar call would. Same generator state in, same values and same state out.

def _draw(rng, cdf: np.ndarray, n: int) -> np.ndarray:
    """The same indices as ``rng.choice(len(cdf), n, p=p)`` for the ``p`` whose ``choice_cdf`` this is."""
    return cdf.searchsorted(rng.random(n), side="right")


def _draw_each(rng, options: tuple[tuple, ...], which) -> list:
    """``[rng.choice(options[w]) for w in which]`` in one call (the same draws, in the same order)."""
    lengths = np.array([len(options[w]) for w in which], dtype=np.int64)
    picks = rng.integers(0, lengths)
    return [options[w][k] for w, k in zip(which, picks, strict=True)]


@lru_cache(maxsize=64)
def _mix_table(items: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Keys (as an object array) and the choice cdf of a {key: share} mix given as its items."""
    p = np.array([v for _k, v in items], dtype=float)
    return np.array([k for k, _v in items], dtype=object), choice_cdf(p / p.sum())


@lru_cache(maxsize=8)
def _hour_cdf(kind: str) -> np.ndarray:
    profile = np.array(HOURLY[kind], dtype=float)
    return choice_cdf(profile / profile.sum())


STATION_CDF = choice_cdf([s[4] for s in geo.STATIONS])
PRIORITY_CUM = {c: np.cumsum(mix) for c, mix in PRIORITY_MIX.items()}
MEDIATOR_OPTIONS = tuple(tuple(np.array(m)) for m in LEVEL_MEDIATORS)  # as rng.choice returns them (np.str_)
SUBCATEGORY_OPTIONS = {c: tuple(np.array(subs)) for c, subs in vocab.INCIDENT_SUBCATEGORIES.items()}


def _among(values: np.ndarray, *options: str) -> np.ndarray:
    """``np.isin(values, options)`` for a small object array, without isin's set-up cost."""
    hit = values == options[0]
    for option in options[1:]:
        hit |= values == option
    return hit


def _pick(rng, mix: dict, n: int) -> np.ndarray:
    keys, cdf = _mix_table(tuple(mix.items()))
    return keys[_draw(rng, cdf, n)]


def _times(rng, kind: str, day: date, n: int) -> np.ndarray:
    """Sorted UTC instants within a Shanghai day, following the hour-of-day profile."""
    hours = _draw(rng, _hour_cdf(kind), n)
    micros = (hours * 3600 + rng.uniform(0, 3600, n)) * 1_000_000
    local_midnight = np.datetime64(day.isoformat(), "us")
    return np.sort(local_midnight + micros.astype("timedelta64[us]") - SHANGHAI_OFFSET)


def _enterprises(rng, world: World, weight: str, ordinal: int, n: int) -> np.ndarray:
    """0-based enterprise rows, weighted by ``world.<weight>_weight``; those with self-governance teams are
    picked less often."""
    return _draw(rng, world.enterprise_cdf(weight, ordinal), n)


def _minutes(rng, median: float, sigma: float, n: int) -> np.ndarray:
    return (rng.lognormal(np.log(median), sigma, n) * MINUTE).astype("timedelta64[us]")


def _source_ids(cell: str, day: date, n: int) -> list[str]:
    prefix = f"{day:%Y%m%d}-{cell}-"
    return [f"{prefix}{k:05d}" for k in range(n)]


def generate(cell: str, day: date, count: int, world: World, seed: int, programme_start: date,
             extra: bool = False) -> dict | None:
    """All rows of one cell on one day as column arrays (table name under '_table'); None for no rows.

    ``extra`` draws the simulator's additional stream (``--rate`` above 1) with its own ids.
    """
    if count <= 0:
        return None
    key = [seed, 100 + CELLS.index(cell), day.toordinal()] + ([1] if extra else [])
    rng = np.random.default_rng(key)
    kind = KIND_OF_CELL[cell]
    after = day >= programme_start
    times = _times(rng, kind, day, count)
    if kind == "incident":
        rows = _incidents(rng, cell, day, times, world, after)
    elif kind == "dispute":
        rows = _disputes(rng, cell, day, times, world, after)
    else:
        rows = _hazards(rng, day, times, world, after)
    rows["source"] = np.full(count, "demo", dtype=object)
    rows["source_id"] = np.array(_source_ids(cell + ("x" if extra else ""), day, count), dtype=object)
    return rows


def _place(rng, world: World, ent_rows: np.ndarray | None, n: int, spread_km: float):
    """Station, park and coordinates: at the enterprise when there is one, else anywhere in town."""
    ent = world.enterprises
    station_idx = _draw(rng, STATION_CDF, n)
    lon, lat = geo.sample_in_wedges(rng, station_idx)
    station = station_idx + 1
    park = np.full(n, None, dtype=object)
    if ent_rows is not None:
        has = ent_rows >= 0
        rows = ent_rows.clip(0)
        elon, elat = geo.jitter(rng, ent["lon"][rows], ent["lat"][rows], spread_km)
        lon = np.where(has, elon, lon)
        lat = np.where(has, elat, lat)
        station = np.where(has, ent["station_id"][rows], station)
        park = np.where(has, ent["park_id"][rows], park)
    return station, park, lon.round(6), lat.round(6)


def _incidents(rng, cell, day, times, world: World, after: bool) -> dict:
    n = len(times)
    ent = world.enterprises
    if cell == "inc_ent_crim":
        category = np.full(n, "刑事", dtype=object)
    elif cell in ("inc_ent_traffic", "inc_traffic"):
        category = np.full(n, "交通事故", dtype=object)
    else:
        category = _pick(rng, CATEGORY_MIX[cell], n)
    related = cell.startswith("inc_ent")
    ent_rows = _enterprises(rng, world, "incident", day.toordinal(), n) if related else None
    station, park, lon, lat = _place(rng, world, ent_rows, n, 0.05)
    if not related:  # calls from inside a park but not about an enterprise still belong to the park
        near = rng.random(n) < 0.15
        park_idx = rng.integers(0, len(world.parks), n)
        parks = world.park_columns
        park_lon, park_lat = geo.jitter(rng, parks["lon"][park_idx], parks["lat"][park_idx], 0.4)
        park = np.where(near, park_idx + 1, None).astype(object)
        station = np.where(near, parks["station_id"][park_idx], station)
        lon, lat = np.where(near, park_lon.round(6), lon), np.where(near, park_lat.round(6), lat)
    sub = np.array(_draw_each(rng, SUBCATEGORY_OPTIONS, category), dtype=object)
    if cell == "inc_ent_crim":
        sub = _pick(rng, {"职务侵占": 0.35, "合同诈骗": 0.35, "盗窃": 0.2, "诈骗": 0.1}, n)
    u = rng.random(n)
    cum = np.array([PRIORITY_CUM[c] for c in category]).reshape(n, 3)
    priority = 1 + (u[:, None] > cum).sum(axis=1).clip(0, 2)

    channel_mix = ({"110": 0.68, "民芯对讲": 0.14, "钉钉群": 0.10, "来所": 0.08} if after
                   else {"110": 0.86, "民芯对讲": 0.02, "钉钉群": 0.02, "来所": 0.10})
    if related and after:
        disposition_mix = {"出警": 0.50, "线上处置": 0.12, "企业自治化解": 0.30, "转办": 0.08}
    elif related:
        disposition_mix = {"出警": 0.75, "线上处置": 0.12, "企业自治化解": 0.03, "转办": 0.10}
    else:
        disposition_mix = {"出警": 0.70, "线上处置": 0.20, "转办": 0.10}
    disposition = _pick(rng, disposition_mix, n)
    disposition[_among(category, "刑事", "火灾")] = "出警"
    dispatched = np.where(disposition == "出警", times + _minutes(rng, 2.0, 0.5, n), NAT)
    urgency = np.where(priority == 1, 7.0, np.where(priority == 2, 11.0, 16.0))
    arrived = np.where(disposition == "出警", dispatched + (rng.lognormal(np.log(urgency), 0.45) * MINUTE).astype(
        "timedelta64[us]"), NAT)
    closed = np.where(disposition == "出警", arrived + _minutes(rng, 45.0, 0.8, n),
                      times + _minutes(rng, np.where(disposition == "转办", 1440.0, 40.0), 0.7, n))

    criminal = _among(category, "刑事", "电信网络诈骗")
    loss = np.where(criminal, np.round(rng.lognormal(np.log(np.where(related, 150_000, 8_000)), 1.3, n), -1), None)
    recovered_share = rng.beta(1.2, 2.5, n) * (category == "刑事")
    recovered = np.where(criminal, np.round(np.where(criminal, loss, 0).astype(float) * recovered_share, -1), None)

    address = ent["address"][ent_rows] if related else random_addresses(rng, n, detail=True)
    summary = np.array([f"{mask_address(a)}附近{s}：{SUMMARY_DETAIL[c]}"
                        for a, s, c in zip(address, sub, category, strict=True)], dtype=object)
    return {
        "_table": "incidents",
        "received_at": times,
        "category": category,
        "subcategory": sub,
        "priority": priority.astype(int),
        "enterprise_related": np.full(n, related),
        "enterprise_id": (ent_rows + 1).astype(object) if related else np.full(n, None, dtype=object),
        "station_id": station.astype(int),
        "park_id": park,
        "lat": lat,
        "lon": lon,
        "address": address.astype(object),
        "caller_name": random_names(rng, n).astype(object),
        "caller_phone": random_phones(rng, n).astype(object),
        "summary": summary,
        "channel": _pick(rng, channel_mix, n),
        "disposition": disposition,
        "dispatched_at": dispatched,
        "arrived_at": arrived,
        "closed_at": closed,
        "loss_amount": loss,
        "recovered_amount": recovered,
    }


def _disputes(rng, cell, day, times, world: World, after: bool) -> dict:
    n = len(times)
    ent = world.enterprises
    if cell == "dsp_labour":
        dtype = np.full(n, "劳资", dtype=object)
        with_ent = rng.random(n) < 0.95
    elif cell == "dsp_econ_ent":
        dtype = np.full(n, "经济", dtype=object)
        with_ent = np.ones(n, dtype=bool)
    else:
        dtype = _pick(rng, OTHER_DISPUTE_MIX, n)
        with_ent = np.zeros(n, dtype=bool)
    ent_rows = np.where(with_ent, _enterprises(rng, world, "incident", day.toordinal(), n), -1)
    station, park, _lon, _lat = _place(rng, world, ent_rows, n, 0.05)
    party_count = np.where(dtype == "劳资", rng.integers(1, 25, n), 2)
    names = random_names(rng, n)
    ent_names = ent["name"][ent_rows.clip(0)]
    parties = np.array([
        (f"{p}等{k}人；{e}" if k > 1 else f"{p}；{e}") if has else f"{p}；{q}"
        for p, k, e, has, q in zip(names, party_count, ent_names, with_ent, random_names(rng, n), strict=True)
    ], dtype=object)
    amount = np.where(dtype == "劳资", party_count * rng.uniform(6_000, 9_000, n) * rng.integers(1, 5, n),
                      rng.lognormal(np.log(60_000), 1.1, n)).round(-1)
    amount = np.where(_among(dtype, "劳资", "经济", "交通"), amount, None)

    mix = np.array(LEVEL_MIX["after" if after else "before"])
    level_idx = _draw(rng, choice_cdf(mix / mix.sum()), n)
    median_days = np.array(LEVEL_DAYS)[level_idx] * (0.7 if after else 1.0)
    settled_at = times + (rng.lognormal(np.log(median_days), 0.7) * 1440 * MINUTE).astype("timedelta64[us]")
    failed = (level_idx == 4) & (rng.random(n) < 0.4)
    level = np.array(vocab.SETTLED_LEVELS, dtype=object)[level_idx]
    mediator = np.array(_draw_each(rng, MEDIATOR_OPTIONS, level_idx), dtype=object)
    return {
        "_table": "disputes",
        "reported_at": times,
        "dispute_type": dtype,
        "enterprise_id": np.where(with_ent, ent_rows + 1, None).astype(object),
        "station_id": station.astype(int),
        "park_id": park,
        "parties": parties,
        "party_count": party_count.astype(int),
        "amount": amount,
        "settled_level": level,
        "mediator": mediator,
        "status": np.where(failed, "未化解", "已化解").astype(object),
        "settled_at": settled_at,
    }


def _hazards(rng, day, times, world: World, after: bool) -> dict:
    n = len(times)
    ent_rows = _enterprises(rng, world, "hazard", day.toordinal(), n)
    station, park, _lon, _lat = _place(rng, world, ent_rows, n, 0.0)
    htype = _pick(rng, HAZARD_TYPE_MIX, n)
    severity = _pick(rng, SEVERITY_MIX, n)
    deadline = np.array([day + timedelta(days=SEVERITY_DEADLINE_DAYS[s]) for s in severity], dtype=object)
    median = np.array([SEVERITY_MEDIAN_LAG[s] for s in severity]) * (0.7 if after else 1.0)
    lag = (rng.lognormal(np.log(median), 0.8) * 1440 * MINUTE).astype("timedelta64[us]")
    never = rng.random(n) < 0.015
    rectified = np.where(never, NAT, times + lag)
    return {
        "_table": "hazards",
        "found_at": times,
        "hazard_type": htype,
        "severity": severity,
        "enterprise_id": (ent_rows + 1).astype(object),
        "station_id": station.astype(int),
        "park_id": park,
        "description": np.array([f"{t}隐患：{HAZARD_DETAIL[t]}" for t in htype], dtype=object),
        "deadline": deadline,
        "rectified_at": rectified,
        "status": np.where(never, "待整改", "已整改").astype(object),
    }


# Columns that only become true later: (table, due column, columns set then, their values until then).
STAGES = {
    "incidents": (
        ("dispatched_at", ("dispatched_at",), {}),
        ("arrived_at", ("arrived_at",), {}),
        ("closed_at", ("closed_at",), {}),
    ),
    "disputes": (
        ("settled_at", ("settled_at", "status", "settled_level", "mediator"), {"status": "调解中"}),
    ),
    "hazards": (("rectified_at", ("rectified_at", "status"), {"status": "待整改"}),),
}
MAIN_TIME = {"incidents": "received_at", "disputes": "reported_at", "hazards": "found_at"}
