"""The static demo world: stations, parks, enterprises, network units and self-governance teams.

Everything is drawn from one seeded generator, so the same seed gives the same town.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from stdnum.cn import uscc

from data.demo import geo

# The demo town's organisation, stored through data/core/organisation.py as a bureau's admin would.
ORGANISATION = {
    "name": "湖州市公安局织里分局", "short_name": "织里公安", "name_en": "Zhili Branch, Huzhou Public Security Bureau",
    "short_name_en": "Zhili Police", "place": "织里", "network": "平安织里自家人", "network_en": "Safe Zhili network",
    "name_prefixes": "湖州织里,湖州",
}

PARKS = (  # name, station index (see geo.STATIONS)
    ("香圩墩园区", 3), ("大港路童装产业园", 0), ("织里童装城园区", 0), ("利济路电商园", 1),
    ("晓河工业园", 1), ("栋梁路工业园", 2), ("中华路物流园", 3), ("太湖路园区", 1),
    ("吴兴大道产业园", 2), ("轧村工业园", 2), ("漾西工业园", 3), ("秦家港童装园", 0),
)

# The demo bureau's sector table, imported through data/intake/registry.py as a bureau's would be: name, English
# name, the GB/T 4754 codes each covers.
SECTORS = (
    ("童装生产", "Children's garments", "C1811,C1819"), ("面辅料", "Fabrics and trimmings", "C17"),
    ("电商直播", "Live-stream e-commerce", "F5292"), ("物流仓储", "Logistics and storage", "G"),
    ("印花绣花", "Printing and embroidery", "C1713,C1723"), ("缝纫加工", "Sewing workshops", "C1830"),
    ("商贸服务", "Trade and services", "F"), ("物业服务", "Property services", "K7020"),
)
SECTOR_NAMES = tuple(name for name, _en, _codes in SECTORS)
SECTOR_WEIGHTS = {
    "童装生产": 0.46, "面辅料": 0.12, "电商直播": 0.12, "物流仓储": 0.06,
    "印花绣花": 0.10, "缝纫加工": 0.08, "商贸服务": 0.04, "物业服务": 0.02,
}
SECTOR_WORDS = {
    "童装生产": ("童装", "服饰", "制衣"), "面辅料": ("面料", "辅料", "纺织"), "电商直播": ("电子商务", "网络科技"),
    "物流仓储": ("物流", "供应链"), "印花绣花": ("印花", "绣花", "数码印花"), "缝纫加工": ("服装加工", "缝纫"),
    "商贸服务": ("商贸", "贸易"), "物业服务": ("物业管理", "物业服务"),
}
# Incident risk of a sector relative to garment production (logistics and e-commerce see more traffic and fraud).
SECTOR_RISK = {
    "童装生产": 1.0, "面辅料": 0.8, "电商直播": 1.1, "物流仓储": 1.4,
    "印花绣花": 1.1, "缝纫加工": 0.9, "商贸服务": 1.2, "物业服务": 1.3,
}
# The demo bureau's network classes (平安织里自家人's eleven), imported through data/intake/registry.py.
NETWORK_CLASSES = (
    ("小区物业", "Residential property"), ("商场市场", "Malls and markets"), ("危化单位", "Hazardous-chemical sites"),
    ("宾馆旅馆", "Hotels"), ("金融网点", "Bank branches"), ("加油站", "Filling stations"), ("快递物流", "Couriers"),
    ("娱乐场所", "Entertainment venues"), ("医疗机构", "Medical facilities"),
    ("学校幼儿园", "Schools and kindergartens"), ("出租房中介", "Rental agencies"),
)
NETWORK_UNIT_TOTAL = 179
NETWORK_UNIT_COUNTS = {
    "小区物业": 32, "商场市场": 18, "危化单位": 9, "宾馆旅馆": 21, "金融网点": 14, "加油站": 7,
    "快递物流": 24, "娱乐场所": 12, "医疗机构": 13, "学校幼儿园": 15, "出租房中介": 14,
}
NETWORK_CLASS_SECTOR = {"小区物业": "物业服务", "快递物流": "物流仓储"}  # others are 商贸服务
BRAND_SYLLABLES = (
    "乐", "贝", "童", "星", "宝", "悦", "欣", "瑞", "佳", "美", "华", "盛", "源", "锦", "丰", "泰", "嘉", "恒",
    "鑫", "诚", "安", "康", "优", "飞", "彩", "虹", "天", "亿", "金", "洋", "米", "果", "朵", "萌", "熊", "兔",
    "禾", "织", "绣", "麦", "橙", "蓝", "云", "小", "巧", "可", "爱", "甜",
)
SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高",
    "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁",
    "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "沈", "钮", "施", "姚",
)
GIVEN_CHARS = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀",
    "霞", "平", "刚", "桂", "英", "华", "建", "国", "红", "玉", "兰", "峰", "辉", "鹏", "亮", "婷", "雪", "琴",
)
# The name tables as the arrays ``Generator.choice`` would build from them on every call.
SURNAME_ARRAY = np.array(SURNAMES)
GIVEN_ARRAY = np.array(GIVEN_CHARS)
PHONE_PREFIXES = np.array(("138", "139", "135", "137", "150", "151", "152", "157", "158", "159",
                           "177", "180", "181", "187", "188", "189", "199"))
STREET_ARRAY = np.array(geo.STREETS)
N_ENTERPRISES = 14_000
N_WORKERS = 300_000
SIZE_BANDS = ((0, 10, "微型"), (10, 50, "小型"), (50, 300, "中型"), (300, 10**9, "大型"))


@dataclass
class World:
    """Column arrays of the static tables plus the per-enterprise weights the event generator needs."""

    stations: list[dict]
    parks: list[dict]
    enterprises: dict[str, np.ndarray]
    teams: dict[str, np.ndarray]
    incident_weight: np.ndarray  # relative incident risk per enterprise
    hazard_weight: np.ndarray
    governed_from: np.ndarray  # ordinal of the first team's date, or a large number
    _derived: dict = field(default_factory=dict, repr=False, compare=False)  # derived arrays, built on first use

    @property
    def n_enterprises(self) -> int:
        return len(self.enterprises["id"])

    @property
    def park_columns(self) -> dict[str, np.ndarray]:
        """lon, lat and station_id of the parks as arrays (row i: park id i + 1)."""
        if "parks" not in self._derived:
            self._derived["parks"] = {k: np.array([p[k] for p in self.parks]) for k in ("lon", "lat", "station_id")}
        return self._derived["parks"]

    def enterprise_cdf(self, weight: str, ordinal: int) -> np.ndarray:
        """The choice cdf of enterprises by ``<weight>_weight`` ("incident" or "hazard") on a day (governed ones
        weigh 0.6), kept while the set of governed enterprises stays the same (it only grows, so its size
        identifies it)."""
        governed = self.governed_from <= ordinal
        count = int(governed.sum())
        cached = self._derived.get(weight)
        if cached is None or cached[0] != count:
            w = getattr(self, f"{weight}_weight") * np.where(governed, 0.6, 1.0)
            cached = self._derived[weight] = (count, choice_cdf(w / w.sum()))
        return cached[1]


def choice_cdf(p) -> np.ndarray:
    """The cumulative distribution ``Generator.choice`` builds from probabilities ``p`` (cdf = p.cumsum(), then
    cdf /= cdf[-1]): ``cdf.searchsorted(rng.random(n), side="right")`` then gives choice's own draws."""
    cdf = np.asarray(p, dtype=float).cumsum()
    cdf /= cdf[-1]
    return cdf


def size_band(workers: int | None) -> str:
    """The size band name of a worker count (None is its own band)."""
    if workers is None:
        return "未登记"
    for low, high, name in SIZE_BANDS:
        if low <= workers < high:
            return name
    return SIZE_BANDS[-1][2]


def _uniform_choice(rng: np.random.Generator, options: np.ndarray, n: int) -> np.ndarray:
    """What ``rng.choice(options, n)`` returns (it draws ``rng.integers(0, len(options), n)``), minus its checks."""
    return options[rng.integers(0, len(options), n)]


def random_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Chinese personal names of one or two given characters."""
    surname = _uniform_choice(rng, SURNAME_ARRAY, n)
    first = _uniform_choice(rng, GIVEN_ARRAY, n)
    second = np.where(rng.random(n) < 0.6, _uniform_choice(rng, GIVEN_ARRAY, n), "")
    return np.char.add(np.char.add(surname, first), second)


def random_phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """Eleven-digit mainland mobile numbers."""
    prefixes = _uniform_choice(rng, PHONE_PREFIXES, n)
    tails = rng.integers(0, 10**8, n)
    return np.array([p + f"{t:08d}" for p, t in zip(prefixes, tails, strict=True)])


def random_addresses(rng: np.random.Generator, n: int, detail: bool) -> np.ndarray:
    """Street addresses in Zhili; ``detail`` adds building and room, the part masking removes."""
    streets = _uniform_choice(rng, STREET_ARRAY, n)
    numbers = rng.integers(1, 900, n)
    base = [f"织里镇{s}{k}号" for s, k in zip(streets, numbers, strict=True)]
    if not detail:
        return np.array(base)
    blocks = rng.integers(1, 30, n)
    rooms = rng.integers(101, 1208, n)
    return np.array([f"{b}{k}幢{r}室" for b, k, r in zip(base, blocks, rooms, strict=True)])


def credit_codes(rng: np.random.Generator, n: int, individual: np.ndarray) -> np.ndarray:
    """Unique, check-digit-valid unified social credit codes registered in Wuxing district (330502)."""
    alphabet = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
    seen: set[str] = set()
    codes = []
    for is_individual in individual:
        while True:
            body = ("92" if is_individual else "91") + "330502" + "".join(rng.choice(alphabet, 9))
            code = body + uscc.calc_check_digit(body)
            if code not in seen:
                seen.add(code)
                codes.append(code)
                break
    return np.array(codes)


def _enterprise_names(rng: np.random.Generator, sectors: np.ndarray) -> np.ndarray:
    """Unique company names; when the brand space runs out (large scales) a branch number is added."""
    seen: set[str] = set()
    names = []
    for sector in sectors:
        name = ""
        for attempt in range(4):
            brand = "".join(rng.choice(BRAND_SYLLABLES, 2))
            word = rng.choice(SECTOR_WORDS[sector])
            name = f"湖州{'织里' if attempt % 2 else ''}{brand}{word}有限公司"
            if name not in seen:
                break
        branch = 2
        base = name
        while name in seen:
            name = f"{base}第{branch}分公司"
            branch += 1
        seen.add(name)
        names.append(name)
    return np.array(names)


def _worker_counts(rng: np.random.Generator, n: int, total: int) -> np.ndarray:
    raw = rng.lognormal(mean=0.0, sigma=1.25, size=n)
    workers = np.maximum(1, np.round(raw * total / raw.sum())).astype(np.int64)
    return workers


def build_world(seed: int, scale: float, today: date, programme_start: date) -> World:
    """Generate the static tables for a town of ``scale`` times Zhili's size."""
    rng = np.random.default_rng([seed, 1])
    stations = geo.station_rows()
    parks = []
    for index, (name, station_index) in enumerate(PARKS, start=1):
        lon, lat = geo.sample_in_wedges(rng, np.array([station_index]), inner=0.3, outer=0.6)
        parks.append({"id": index, "name": name, "station_id": station_index + 1,
                      "lat": round(float(lat[0]), 6), "lon": round(float(lon[0]), 6)})

    n = max(50, int(round(N_ENTERPRISES * scale)))
    ids = np.arange(1, n + 1)
    sectors = rng.choice(list(SECTOR_WEIGHTS), n, p=np.array(list(SECTOR_WEIGHTS.values())))
    network = np.full(n, None, dtype=object)
    n_units = min(NETWORK_UNIT_TOTAL, n // 3)
    unit_classes = np.repeat(list(NETWORK_UNIT_COUNTS), list(NETWORK_UNIT_COUNTS.values()))
    unit_classes = unit_classes[np.linspace(0, len(unit_classes) - 1, n_units).round().astype(int)]
    unit_rows = rng.choice(n, n_units, replace=False)
    network[unit_rows] = unit_classes
    for row, cls in zip(unit_rows, unit_classes, strict=True):
        sectors[row] = NETWORK_CLASS_SECTOR.get(cls, "商贸服务")

    workers = _worker_counts(rng, n, int(round(N_WORKERS * scale))).astype(object)
    workers[rng.random(n) < 0.01] = None  # some enterprises never reported a head count
    in_park = rng.random(n) < 0.62
    park_of = np.where(in_park, rng.integers(0, len(parks), n), -1)
    park_lon = np.array([p["lon"] for p in parks])
    park_lat = np.array([p["lat"] for p in parks])
    lon = np.empty(n)
    lat = np.empty(n)
    station_index = rng.choice(len(geo.STATIONS), n, p=[s[4] for s in geo.STATIONS])
    free_lon, free_lat = geo.sample_in_wedges(rng, station_index, inner=0.1, outer=0.92)
    near_lon, near_lat = geo.jitter(rng, park_lon[park_of.clip(0)], park_lat[park_of.clip(0)], 0.35)
    lon[:] = np.where(in_park, near_lon, free_lon)
    lat[:] = np.where(in_park, near_lat, free_lat)
    station_index = np.where(in_park, np.array([p["station_id"] - 1 for p in parks])[park_of.clip(0)], station_index)

    individual = rng.random(n) < 0.15
    enterprises = {
        "id": ids,
        "name": _enterprise_names(rng, sectors),
        "credit_code": credit_codes(rng, n, individual),
        "sector": sectors,
        "workers": workers,
        "park_id": np.where(in_park, park_of + 1, None).astype(object),
        "station_id": station_index + 1,
        "lat": lat.round(6),
        "lon": lon.round(6),
        "address": random_addresses(rng, n, detail=False),
        "network_unit_class": network,
        "registered_on": np.array([date(2000, 1, 1) + timedelta(days=int(d))
                                   for d in rng.integers(0, 365 * 24, n)]),
    }

    head = np.array([w if w is not None else 5 for w in workers], dtype=float)
    latent = rng.lognormal(0.0, 0.6, n)
    sector_risk = np.array([SECTOR_RISK[s] for s in sectors])
    incident_weight = head**0.8 * sector_risk * latent
    hazard_weight = head**0.6 * rng.lognormal(0.0, 0.5, n) * np.where(network != None, 2.0, 1.0)  # noqa: E711

    teams, governed_from = _teams(rng, head, today, programme_start)
    return World(stations, parks, enterprises, teams, incident_weight, hazard_weight, governed_from)


def _teams(rng: np.random.Generator, head: np.ndarray, today: date, programme_start: date):
    """Self-governance teams: a few before the programme, most larger enterprises after it began."""
    n = len(head)
    big = head >= 30
    share_after = {"矛盾调处队": (0.85, 0.25), "安全巡防队": (0.70, 0.15), "宣传引导队": (0.60, 0.10)}
    rollout_days = max(1, min(300, (today - programme_start).days))
    columns = {"enterprise_id": [], "team_type": [], "established_on": [], "members": []}
    first = np.full(n, 10**7, dtype=np.int64)
    for team_type, (p_big, p_small) in share_after.items():
        before = rng.random(n) < 0.03
        after = ~before & (rng.random(n) < np.where(big, p_big, p_small)) & (today >= programme_start)
        has = before | after
        days_before = rng.integers(30, 3 * 365, n)
        days_after = rng.integers(0, rollout_days, n)
        for row in np.flatnonzero(has):
            when = (programme_start - timedelta(days=int(days_before[row])) if before[row]
                    else programme_start + timedelta(days=int(days_after[row])))
            when = min(when, today)
            columns["enterprise_id"].append(row + 1)
            columns["team_type"].append(team_type)
            columns["established_on"].append(when)
            columns["members"].append(int(max(2, min(30, head[row] // 10 + rng.integers(2, 6)))))
            first[row] = min(first[row], when.toordinal())
    return {k: np.array(v, dtype=object) for k, v in columns.items()}, first
