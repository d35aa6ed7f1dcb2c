"""The UI's words in Chinese and English: ``t(key, lang)``; stored values translate through ``tv``."""

from __future__ import annotations

STRINGS = {
    "app_title": ("织里公安 e企安365 数字驾驶舱", "Zhili Police e-Qi'an 365 Cockpit"),
    "demo_mark": ("演示数据", "DEMO DATA"),
    "not_found": ("页面不存在", "Page not found"),
    "to_wall": ("返回驾驶舱", "Back to the cockpit"),
    # wall cockpit
    "wall_title": ("织里公安 e企安365 数字驾驶舱", "Zhili Police e-Qi'an 365 Cockpit"),
    "view_town": ("全镇", "Whole town"),
    "switch_language": ("English", "中文"),
    "kiosk_mode": ("大屏模式", "Kiosk mode"),
    "panel_hourly": ("今日分时警情（对比同期均值）", "Calls by hour today vs same weekday"),
    "panel_categories": ("警情类别构成（今日 / 本周）", "Categories today / this week"),
    "panel_last30": ("近30天警情（对比去年同期）", "Last 30 days vs last year"),
    "panel_map": ("辖区态势", "Jurisdiction"),
    "panel_levels": ("矛盾纠纷化解层级（本年）", "Where disputes were settled (YTD)"),
    "panel_hazards": ("未整改隐患账龄", "Open hazards by age"),
    "panel_feed": ("实时警情", "Live calls"),
    "panel_lowest": ("平安指数最低的园区与企业", "Lowest safety index: parks and enterprises"),
    "lowest_parks": ("园区", "Parks"),
    "lowest_enterprises": ("企业", "Enterprises"),
    "kpi_today_total": ("今日警情", "Incidents today"),
    "kpi_today_enterprise": ("今日涉企警情", "Enterprise incidents today"),
    "kpi_ytd_incidents": ("警情同比", "Incidents YoY"),
    "kpi_ytd_enterprise": ("涉企警情同比", "Enterprise incidents YoY"),
    "kpi_ytd_traffic": ("交通事故同比", "Traffic accidents YoY"),
    "kpi_ytd_labour": ("劳资纠纷同比", "Labour disputes YoY"),
    "kpi_ytd_economic": ("涉企经济纠纷同比", "Enterprise economic disputes YoY"),
    "kpi_in_house": ("矛盾就地化解率", "Settled in-house"),
    "kpi_hazards": ("隐患整改率", "Hazards rectified"),
    "kpi_index": ("全镇平安指数", "Town safety index"),
    "kpi_detail_ytd": ("本年 {now} · 去年同期 {before}", "YTD {now} · last year {before}"),
    "kpi_detail_weekday": ("同期均值 {avg} · {pct}", "weekday avg {avg} · {pct}"),
    "kpi_detail_in_house": ("本年 企业内+园区", "YTD, enterprise or park"),
    "kpi_detail_overdue": ("本年 · 逾期 {n} 件", "YTD · {n} overdue"),
    "kpi_detail_index": ("较上月 {delta}", "vs last month {delta}"),
    "freshness_seconds": ("{n}秒前", "{n}s ago"),
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
    # wall charts
    "wch_today": ("今日", "Today"),
    "wch_this_week": ("本周", "This week"),
    "wch_weekday_avg": ("近{n}周同日均值", "Same weekday, {n}-wk avg"),
    "wch_hour_tick": ("{h}时", "{h:02d}:00"),
    "wch_last30": ("近30天", "Last 30 days"),
    "wch_year_earlier": ("去年同期", "Same days last year"),
    "wch_in_house": ("企业/园区内化解", "Settled in enterprise or park"),
    "wch_outside": ("企业/园区外化解", "Settled outside"),
    "wch_level_enterprise": ("企业内", "In enterprise"),
    "wch_level_park": ("园区", "Park"),
    "wch_level_station": ("派出所", "Police station"),
    "wch_level_mediation": ("调解中心", "Mediation centre"),
    "wch_level_court": ("诉讼", "Court"),
    "wch_hazard_open": ("未逾期", "Open, in time"),
    "wch_hazard_overdue": ("已逾期", "Overdue"),
    "wch_age_range": ("{lo}–{hi}天", "{lo}–{hi} days"),
    "wch_age_over": ("超过{n}天", "Over {n} days"),
    "wch_parks": ("园区", "Parks"),
    "wch_enterprises": ("企业", "Enterprises"),
    "wch_index": ("平安指数", "Safety index"),
    "wch_no_data": ("暂无数据", "No data yet"),
}

VALUES_EN = {
    "刑事": "Criminal", "治安": "Public order", "交通事故": "Traffic accident", "纠纷": "Dispute",
    "群众求助": "Assistance", "火灾": "Fire", "电信网络诈骗": "Telecom fraud", "其他": "Other",
    "出警": "Dispatched", "线上处置": "Handled online", "企业自治化解": "Settled by enterprise", "转办": "Referred",
    "织东派出所": "Zhidong Station", "织北派出所": "Zhibei Station", "织西派出所": "Zhixi Station",
    "织南派出所": "Zhinan Station",
    "劳资": "Labour", "经济": "Economic", "邻里": "Neighbours", "婚恋家庭": "Family", "交通": "Traffic",
    "企业内": "In the enterprise", "园区": "In the park", "派出所": "Police station", "调解中心": "Mediation centre",
    "诉讼": "Court", "调解中": "Being mediated", "已化解": "Settled", "未化解": "Not settled",
    "消防": "Fire safety", "用电": "Electrical", "危化品": "Hazardous chemicals", "生产安全": "Production safety",
    "三合一住人": "Living on premises", "特种设备": "Special equipment",
    "一般": "Minor", "较大": "Serious", "重大": "Major", "待整改": "Open", "已整改": "Rectified",
    "蓝": "Blue", "黄": "Yellow", "橙": "Orange", "红": "Red",
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
