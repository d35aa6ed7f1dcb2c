"""The UI's words in Chinese and English: ``t(key, lang)``; stored values translate through ``tv``."""

from __future__ import annotations

STRINGS = {
    "app_title": ("织里公安 e企安365 数字驾驶舱", "Zhili Police e-Qi'an 365 Cockpit"),
    "demo_mark": ("演示数据", "DEMO DATA"),
    "demo_note": ("本页数据为合成演示数据，不代表真实警情", "Synthetic demo data, not real incidents"),
    "today_incidents": ("今日警情", "Incidents today"),
    "unit_cases": ("起", ""),
    "rolling_note": ("近365天（截至昨日）同比前365天", "Last 365 days (to yesterday) vs the 365 before"),
    "fig_incidents": ("警情总量", "All incidents"),
    "fig_enterprise_incidents": ("涉企警情", "Enterprise-related incidents"),
    "fig_enterprise_economic_disputes": ("涉企经济纠纷", "Enterprise economic disputes"),
    "fig_traffic_accidents": ("交通事故", "Traffic accidents"),
    "fig_labour_disputes": ("劳资纠纷", "Labour disputes"),
    "now_vs_before": ("本期 {now} · 上期 {before}", "now {now} · before {before}"),
    "sig_significant": ("显著", "significant"),
    "sig_notable": ("值得关注", "notable"),
    "sig_noise": ("波动", "within noise"),
    "since_start": ("{date} 以来", "since {date}"),
    "total_hazards_rectified": ("隐患整改", "Hazards rectified"),
    "total_enterprise_criminal_cases": ("涉企刑事案件", "Enterprise criminal cases"),
    "total_recovered": ("挽回损失", "Losses recovered"),
    "latest_calls": ("最新警情", "Latest calls"),
    "col_time": ("时间", "Time"),
    "col_category": ("类别", "Category"),
    "col_station": ("派出所", "Station"),
    "col_place": ("地点", "Place"),
    "col_caller": ("报警人", "Caller"),
    "col_phone": ("电话", "Phone"),
    "col_disposition": ("处置", "Disposition"),
    "status_ok": ("数据更新 {time}", "Updated {time}"),
    "status_stale": ("连接中断 · 最后更新 {time}", "Connection lost · last update {time}"),
    "status_waiting": ("正在连接…", "Connecting…"),
    "pct_new": ("新增", "new"),
    # map (wall)
    "map_station_index": ("派出所平安指数", "Station safety index"),
    "map_incidents_today": ("今日警情", "Today's incidents"),
    "map_heat_7d": ("近7天警情热力", "Incidents, last 7 days"),
    "map_parks": ("园区", "Parks"),
    "map_risky_enterprises": ("橙/红色企业", "Orange/red enterprises"),
    "map_minutes_ago": ("{n}分钟前", "{n} min ago"),
    "map_priority": ("优先级", "Priority"),
}

VALUES_EN = {
    "刑事": "Criminal", "治安": "Public order", "交通事故": "Traffic accident", "纠纷": "Dispute",
    "群众求助": "Assistance", "火灾": "Fire", "电信网络诈骗": "Telecom fraud", "其他": "Other",
    "出警": "Dispatched", "线上处置": "Handled online", "企业自治化解": "Settled by enterprise", "转办": "Referred",
    "织东派出所": "Zhidong Station", "织北派出所": "Zhibei Station", "织西派出所": "Zhixi Station",
    "织南派出所": "Zhinan Station",
}


def t(key: str, lang: str = "zh", **values) -> str:
    """The UI text for ``key`` in ``lang`` ('zh' or 'en'), formatted with ``values``."""
    zh, en = STRINGS[key]
    text = en if lang == "en" else zh
    return text.format(**values) if values else text


def tv(value: str | None, lang: str = "zh") -> str:
    """A stored (Chinese) value as the UI shows it in ``lang``."""
    if value is None:
        return "—"
    return VALUES_EN.get(value, value) if lang == "en" else value


def lang_from_search(search: str | None) -> str:
    """'en' when the URL asks for it (?lang=en), else 'zh'."""
    return "en" if search and "lang=en" in search else "zh"
