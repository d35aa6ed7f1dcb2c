"""The enterprise profile page (企业档案), light theme shared with the review page.

Pure functions: ``page`` draws one ``data.screens.enterprise.EnterpriseProfile``; ``not_found`` and ``unavailable``
draw the page for an unknown id and for a database that cannot be read. Personal data arrives masked.
"""

from __future__ import annotations

from dash import dcc, html

from data.core.organisation import DEFAULT as DEFAULT_ORGANISATION
from data.core.organisation import Organisation
from data.counts.metrics import Change, format_pct
from data.index import safety_index
from data.screens import enterprise as ent
from figures.enterprise import (
    fmt_amount,
    fmt_day,
    fmt_indicator,
    fmt_month,
    fmt_number,
    fmt_score,
    fmt_signed,
    fmt_time,
    index_figure,
    point_month,
)
from figures.strings import bureau_label, t, tv
from figures.theme import BAND_COLOURS, GRAPH_CONFIG
from layouts import ids
from layouts.components import TABLE_AND_CHART, download_links

# Component ids of this page (tests and CSS use them).

ENTERPRISE_GRAPH_CONFIG = {**GRAPH_CONFIG, "displayModeBar": "hover",
                           "modeBarButtonsToRemove": ["sendDataToCloud", "lasso2d", "select2d"]}

TEAM_KEYS = {"安全巡防队": "ent_team_patrol", "宣传引导队": "ent_team_outreach", "矛盾调处队": "ent_team_mediation"}
STATUS_KEYS = {ent.INCIDENT_OPEN: "ent_status_incident_open", ent.INCIDENT_CLOSED: "ent_status_incident_closed",
               ent.HAZARD_OVERDUE: "ent_status_hazard_overdue"}
STATUS_TONES = {ent.INCIDENT_OPEN: "open", ent.INCIDENT_CLOSED: "done", "调解中": "open", "已化解": "done",
                "未化解": "bad", ent.HAZARD_OPEN: "open", ent.HAZARD_OVERDUE: "bad", ent.HAZARD_RECTIFIED: "done"}
BAND_TEXT_COLOURS = {"黄": "#3d3000"}


# --- statuses and bands (the formatters of numbers are figures/enterprise.py's) ------------------------

def status_text(status: str, lang: str) -> str:
    key = STATUS_KEYS.get(status)
    return t(key, lang) if key else tv(status, lang)


def status_pill(status: str, lang: str) -> html.Span:
    return html.Span(status_text(status, lang), className=f"ent-status ent-status-{STATUS_TONES.get(status, 'open')}")


def band_badge(score: float | None, band: str | None, lang: str, badge_id: str | None = None,
               band_only: bool = False) -> html.Span:
    kwargs = {"id": badge_id} if badge_id else {}
    if band is not None and band_only:
        style = {"background": BAND_COLOURS.get(band, "#9aa7b4"), "color": BAND_TEXT_COLOURS.get(band, "#ffffff")}
        return html.Span(t("ent_band", lang, band=tv(band, lang)), className="ent-band ent-band-small", style=style,
                         **kwargs)
    if score is None or band is None:
        return html.Span("—", className="ent-band ent-band-none", **kwargs)
    style = {"background": BAND_COLOURS.get(band, "#9aa7b4"), "color": BAND_TEXT_COLOURS.get(band, "#ffffff")}
    return html.Span([html.Span(f"{score:.1f}", className="ent-band-score"),
                      html.Span(t("ent_band", lang, band=tv(band, lang)), className="ent-band-name")],
                     className="ent-band", style=style, **kwargs)


def _lang_query(lang: str, query: str = "") -> str:
    if lang == "en":
        query = (query + "&" if query else "") + "lang=en"
    return f"?{query}" if query else ""


# --- header and breadcrumbs ----------------------------------------------------------------------------

def breadcrumbs(identity: ent.Identity | None, lang: str, org: Organisation = DEFAULT_ORGANISATION) -> list:
    """The whole jurisdiction › station › park › enterprise; each unit links to its view of the review page."""
    crumbs = [dcc.Link(org.whole_word(lang), href="/review" + _lang_query(lang), className="crumb")]
    if identity is not None:
        station_q = f"station={identity.station_id}"
        crumbs += [html.Span(" › ", className="crumb-sep"),
                   dcc.Link(tv(identity.station_name, lang), href="/review" + _lang_query(lang, station_q),
                            className="crumb")]
        if identity.park_id is not None:
            crumbs += [html.Span(" › ", className="crumb-sep"),
                       dcc.Link(identity.park_name or str(identity.park_id),
                                href="/review" + _lang_query(lang, f"{station_q}&park={identity.park_id}"),
                                className="crumb")]
        crumbs += [html.Span(" › ", className="crumb-sep"), html.Span(identity.name, className="crumb-current")]
    return crumbs


def header(identity: ent.Identity | None, lang: str, demo: bool, lang_href: str,
           org: Organisation = DEFAULT_ORGANISATION) -> html.Header:
    other = "en" if lang == "zh" else "zh"
    return html.Header([
        html.Span(t("ent_page_title", lang), className="ent-page-title"),
        html.Span(t("demo_mark", lang), className="demo-mark ent-demo-mark") if demo else None,
        html.Nav(breadcrumbs(identity, lang, org), id=ids.ENT_BREADCRUMBS, className="review-breadcrumbs"),
        html.Div([html.A(t("switch_language", lang), href=lang_href + ("?lang=en" if other == "en" else ""),
                         id=ids.ENT_LANG_LINK),
                  html.A(t("ent_to_review", lang), href="/review" + _lang_query(lang)),
                  html.A(t("to_wall", lang), href="/")], className="review-links"),
    ], className="review-header ent-header")


# --- the page ------------------------------------------------------------------------------------------

def page(profile: ent.EnterpriseProfile, lang: str, demo: bool = False,
         org: Organisation = DEFAULT_ORGANISATION) -> html.Div:
    """The whole profile of one enterprise (its bands and labels: the profile's index configuration)."""
    config = profile.config
    ident = profile.identity
    latest = profile.latest
    title = html.Div([
        html.H1(ident.name, id=ids.ENT_NAME, className="review-title ent-name"),
        band_badge(latest.score if latest else None, latest.band if latest else None, lang, "ent-band"),
        html.Div([html.Span(t("ent_credit_code", lang) + ("：" if lang == "zh" else ": "), className="ent-muted"),
                  html.Span(ident.credit_code or "—", id=ids.ENT_CREDIT_CODE, className="ent-code"),
                  html.Span(" · " + bureau_label(ident.sector, ident.sector_en, lang), className="ent-muted")],
                 className="ent-subtitle"),
    ], className="ent-title")
    return html.Div([
        header(ident, lang, demo, f"/enterprise/{ident.id}", org),
        title,
        kpi_strip(profile, lang),
        html.Div([identity_card(ident, lang, org), index_section(profile, lang, config)], className="ent-grid"),
        receipt_section(profile.receipt, lang, config, org),
        incidents_section(profile.incidents, lang, ident.id),
        disputes_section(profile.disputes, lang, ident.id),
        hazards_section(profile.hazards, lang, ident.id),
        html.P(t("ent_masked_note", lang), className="ent-footnote"),
    ], id=ids.ENT_ROOT, className="review-root ent-root")


def _kpi(kpi_id: str, label: str, value, detail, tone: str = "tone-flat") -> html.Div:
    return html.Div([html.Div(label, className="ent-kpi-label"),
                     html.Div(value, className=f"ent-kpi-value {tone}"),
                     html.Div(detail, className="ent-kpi-detail")], id=kpi_id, className="ent-kpi")


def _change_detail(change: Change, lang: str) -> str:
    return t("ent_kpi_year_earlier", lang, before=f"{change.before:,}",
             pct=format_pct(change.pct, change.now) if lang == "zh" or change.pct is not None
             else ("new" if change.now else "—"))


def _tone(change: Change) -> str:
    return "tone-up" if change.diff > 0 else ("tone-down" if change.diff < 0 else "tone-flat")


def kpi_strip(profile: ent.EnterpriseProfile, lang: str) -> html.Div:
    """The latest index and its change, incidents and disputes this year, open hazards."""
    s = profile.summary
    latest = profile.latest
    receipt = profile.receipt
    if latest is not None:
        change = receipt.change if receipt is not None and receipt.month == latest.month else None
        month = point_month(latest, lang)
        index_detail = (t("ent_kpi_index_detail", lang, month=month, change=fmt_signed(change))
                        if change is not None else month)
        index_tile = _kpi("ent-kpi-index", t("ent_kpi_index", lang),
                          [f"{latest.score:.1f}", band_badge(None, latest.band, lang, band_only=True)],
                          html.Span(index_detail, className=_delta_tone(change)), "ent-index-value")
    else:
        index_tile = _kpi("ent-kpi-index", t("ent_kpi_index", lang), "—", t("ent_no_index_short", lang))
    return html.Div([
        index_tile,
        _kpi("ent-kpi-incidents", t("ent_kpi_incidents", lang, year=s.ytd.last.year), f"{s.incidents_ytd.now:,}",
             _change_detail(s.incidents_ytd, lang), _tone(s.incidents_ytd)),
        _kpi("ent-kpi-disputes", t("ent_kpi_disputes", lang, year=s.ytd.last.year), f"{s.disputes_ytd.now:,}",
             _change_detail(s.disputes_ytd, lang), _tone(s.disputes_ytd)),
        _kpi("ent-kpi-hazards", t("ent_kpi_hazards", lang), f"{s.open_hazards:,}",
             t("ent_kpi_overdue", lang, n=s.overdue_hazards), "ent-bad" if s.overdue_hazards else "tone-flat"),
    ], id=ids.ENT_KPIS, className="ent-kpis")


def identity_card(ident: ent.Identity, lang: str, org: Organisation = DEFAULT_ORGANISATION) -> html.Section:
    """Who the enterprise is, where it is, and the self-governance teams it has set up; its network class is
    labelled with the organisation's name for its network."""
    workers = (t("ent_workers_value", lang, n=f"{ident.workers:,}") if ident.workers is not None
               else t("ent_workers_unknown", lang))
    facts = [
        ("ent_credit_code", ident.credit_code),
        ("ent_sector", bureau_label(ident.sector, ident.sector_en, lang)),
        ("ent_workers", workers),
        ("ent_station", tv(ident.station_name, lang)),
        ("ent_park", ident.park_name or t("ent_no_park", lang)),
        ("ent_address", ident.address or "—"),
        ("ent_network_class", bureau_label(ident.network_unit_class, ident.network_class_en, lang)
         if ident.network_unit_class
         else t("ent_not_network", lang)),
        ("ent_registered", fmt_day(ident.registered_on)),
    ]
    items = []
    for key, value in facts:
        label = org.network_word(lang) if key == "ent_network_class" else t(key, lang)
        items += [html.Dt(label), html.Dd(value, **{"data-field": key})]
    if ident.teams:
        teams = html.Table([
            html.Thead(_head_row([t("ent_team_type", lang), t("ent_team_since", lang), t("ent_team_members", lang)],
                                 {2})),
            html.Tbody([html.Tr([html.Td(t(TEAM_KEYS[tm.team_type], lang) if tm.team_type in TEAM_KEYS
                                         else tm.team_type),
                                 html.Td(fmt_day(tm.established_on)), html.Td(f"{tm.members:,}", className="num")])
                        for tm in ident.teams]),
        ], id=ids.ENT_TEAMS, className="book-table ent-table ent-teams")
    else:
        teams = html.P(t("ent_no_teams", lang), id=ids.ENT_TEAMS, className="ent-empty")
    return html.Section([html.H2(t("ent_identity", lang)), html.Dl(items, className="ent-facts"),
                         html.H3(t("ent_teams", lang, n=len(ident.teams))), teams],
                        id=ids.ENT_IDENTITY, className="review-section ent-identity")


# --- the index over time -------------------------------------------------------------------------------

def downloads(name: str, formats: tuple[str, ...], enterprise_id: int, lang: str) -> html.Div:
    """Download links of one of the profile's charts or tables (the registry's ``enterprise-…`` entries)."""
    return download_links(f"enterprise-{name}", formats, lang, query=f"enterprise={enterprise_id}")


def index_section(profile: ent.EnterpriseProfile, lang: str, config: safety_index.IndexConfig) -> html.Section:
    if not profile.history:
        body = [html.P(t("ent_no_index", lang), className="ent-empty")]
    else:
        body = [downloads("index", TABLE_AND_CHART, profile.identity.id, lang),
                dcc.Graph(id=ids.ENT_INDEX_CHART, figure=index_figure(profile.history, lang, config),
                          config=ENTERPRISE_GRAPH_CONFIG, className="ent-chart")]
    return html.Section([html.H2(t("ent_index_title", lang)), html.P(t("ent_index_note", lang), className="note"),
                         *body], id=ids.ENT_INDEX_SECTION, className="review-section ent-index")


# --- the receipt ---------------------------------------------------------------------------------------

INPUT_ROWS = (
    ("workers_used", "ent_in_workers_used"), ("peer_group", "ent_in_peer_group"), ("window_days", "ent_in_window"),
    ("incidents", "ent_in_incidents"), ("harm_events", "ent_in_harm"), ("disputes", "ent_in_disputes"),
    ("unsettled", "ent_in_unsettled"), ("closed", "ent_in_closed"), ("settled", "ent_in_settled"),
    ("in_house", "ent_in_in_house"), ("severe_hazards", "ent_in_severe"), ("open_hazards", "ent_in_open"),
    ("overdue_hazards", "ent_in_overdue"), ("teams", "ent_in_teams"),
)


def _input_value(key: str, inputs: dict, lang: str, org: Organisation = DEFAULT_ORGANISATION) -> str:
    value = inputs.get(key)
    if key == "workers_used":
        text = fmt_number(value)
        return text + (" " + t("ent_in_imputed", lang) if inputs.get("workers_imputed") else "")
    if key == "peer_group":
        return org.whole_word(lang) if value == safety_index.TOWN_PEER_GROUP else str(value or "—")
    return fmt_number(value)


def receipt_section(receipt: safety_index.Receipt | None, lang: str,
                    config: safety_index.IndexConfig, org: Organisation = DEFAULT_ORGANISATION) -> html.Section:
    """Why the score is what it is: pillars and their contributions, each indicator, the inputs."""
    title = html.H2(t("ent_receipt_title", lang))
    if receipt is None:
        return html.Section([title, html.P(t("ent_no_receipt", lang), className="ent-empty")], id=ids.ENT_RECEIPT,
                            className="review-section ent-receipt")
    by_pillar = {p["name"]: p for p in receipt.pillars}
    sum_line = " + ".join(fmt_score(p["contribution"]) for p in receipt.pillars)
    score_line = html.Div([
        html.Span(t("ent_receipt_month", lang, month=fmt_month(receipt.month, lang)), className="ent-muted"),
        html.Span(fmt_score(receipt.score), id=ids.ENT_RECEIPT_SCORE, className="ent-receipt-score"),
        band_badge(receipt.score, receipt.band, lang),
        html.Span(f"= {sum_line}", className="ent-receipt-sum"),
        html.Span(t("ent_receipt_change", lang, before=fmt_score(receipt.previous_score),
                    change=fmt_signed(receipt.change)) if receipt.previous_score is not None
                  else t("ent_receipt_no_previous", lang), id="ent-receipt-change",
                  className="ent-receipt-change " + _delta_tone(receipt.change)),
    ], className="ent-receipt-line")

    # Pillars: weight, score, contribution, last month's contribution and the change.
    head = _head_row([t(k, lang) for k in ("ent_col_pillar", "ent_col_pillar_weight", "ent_col_pillar_score",
                                           "ent_col_contribution", "ent_col_prev_contribution", "ent_col_change")])
    rows = []
    for p in receipt.pillars:
        prev = p.get("previous_contribution")
        delta = None if prev is None else p["contribution"] - prev
        rows.append(html.Tr([
            html.Td(t(f"ent_pillar_{p['name']}", lang), className="label"),
            html.Td(f"{p['weight']:.2f}", className="num"),
            html.Td(fmt_score(p["score"]), className="num", **{"data-pillar-score": p["name"]}),
            html.Td(fmt_score(p["contribution"]), className="num", **{"data-contribution": p["name"]}),
            html.Td(fmt_score(prev), className="num"),
            html.Td(fmt_signed(delta), className="num " + _delta_tone(delta)),
        ], id=f"ent-pillar-{p['name']}"))
    rows.append(html.Tr([
        html.Td(t("ent_receipt_total", lang), className="label"), html.Td("1.00", className="num"),
        html.Td("", className="num"), html.Td(fmt_score(receipt.score), className="num"),
        html.Td(fmt_score(receipt.previous_score), className="num"),
        html.Td(fmt_signed(receipt.change), className="num " + _delta_tone(receipt.change)),
    ], className="total", id="ent-pillar-total"))
    pillar_table = html.Table([html.Thead(head), html.Tbody(rows)], id=ids.ENT_PILLARS,
                              className="book-table ent-table")

    # Indicators, grouped by pillar.
    head = _head_row([t(k, lang) for k in ("ent_col_indicator", "ent_col_value", "ent_col_peer", "ent_col_own_weight",
                                           "ent_col_bounds", "ent_col_weight_in_pillar", "ent_col_score",
                                           "ent_col_previous_value")])
    body = []
    for pillar in safety_index.PILLARS:
        p = by_pillar.get(pillar)
        body.append(html.Tr(html.Th(t("ent_pillar_head", lang, pillar=t(f"ent_pillar_{pillar}", lang),
                                      score=fmt_score(p["score"]) if p else "—"), colSpan=8),
                            className="book-section"))
        for ind in (i for i in receipt.indicators if i["pillar"] == pillar):
            lower, upper = ind["bounds"]
            arrow = t("ent_lower_better", lang) if ind["direction"] == "lower" else t("ent_higher_better", lang)
            body.append(html.Tr([
                html.Td(t(f"ent_ind_{ind['name']}", lang), className="label"),
                html.Td(fmt_indicator(ind["name"], ind["value"]), className="num"),
                html.Td(fmt_indicator(ind["name"], ind.get("peer")), className="num"),
                html.Td(f"{ind['own_weight']:.3f}" if "own_weight" in ind else "—", className="num"),
                html.Td(f"{fmt_indicator(ind['name'], lower)} – {fmt_indicator(ind['name'], upper)} · {arrow}",
                        className="num ent-bounds"),
                html.Td(f"{ind['weight_in_pillar']:.2f}", className="num"),
                html.Td(fmt_score(ind["score"]), className="num ent-ind-score", **{"data-indicator": ind["name"]}),
                html.Td(fmt_indicator(ind["name"], ind.get("previous_value")), className="num"),
            ], id=f"ent-ind-{ind['name']}"))
    indicator_table = html.Table([html.Thead(head), html.Tbody(body)], id=ids.ENT_INDICATORS,
                                 className="book-table ent-table")

    inputs = []
    for key, label in INPUT_ROWS:
        value = _input_value(key, receipt.inputs, lang, org)
        inputs += [html.Dt(t(label, lang)), html.Dd(value, **{"data-input": key})]
    return html.Section([
        title, html.P(t("ent_receipt_note", lang), className="note"), score_line,
        html.H3(t("ent_receipt_pillars", lang)), pillar_table,
        html.H3(t("ent_receipt_indicators", lang)), indicator_table,
        html.H3(t("ent_receipt_inputs", lang, days=receipt.inputs.get("window_days", "—"))),
        html.Dl(inputs, id=ids.ENT_INPUTS, className="ent-facts ent-inputs"),
    ], id=ids.ENT_RECEIPT, className="review-section ent-receipt")


def _head_row(labels: list[str], numeric: set[int] | None = None) -> html.Tr:
    """A header row; numeric columns (all but the first by default) are right-aligned like their cells."""
    numeric = set(range(1, len(labels))) if numeric is None else numeric
    return html.Tr([html.Th(label, className="num" if i in numeric else None) for i, label in enumerate(labels)])


def _delta_tone(delta: float | None) -> str:
    if delta is None or abs(delta) < 0.005:
        return "tone-flat"
    return "ent-good" if delta > 0 else "ent-bad"  # a higher index is safer


# --- the event tables ----------------------------------------------------------------------------------

def _status_counts(events: ent.EventList, lang: str) -> html.P:
    parts = [t("ent_total", lang, n=f"{events.total:,}")]
    parts += [f"{status_text(s, lang)} {n:,}" for s, n in events.by_status.items()]
    if events.total > len(events.items):
        parts.append(t("ent_showing_newest", lang, n=len(events.items)))
    return html.P(" · ".join(parts), className="note ent-counts")


def _events_section(section_id: str, title_key: str, empty_key: str, events: ent.EventList, columns: list[str],
                    rows: list[list], lang: str, numeric: frozenset = frozenset(),
                    download: tuple[str, int] | None = None) -> html.Section:
    """An event table; ``download`` (name, enterprise id) adds CSV/XLSX links to the whole list."""
    heading = html.H2(t(title_key, lang))
    if not events.items:
        return html.Section([heading, html.P(t(empty_key, lang), className="ent-empty")], id=section_id,
                            className="review-section ent-events")
    table = html.Table([html.Thead(_head_row(columns, set(numeric))),
                        html.Tbody([html.Tr(r) for r in rows])], className="book-table ent-table ent-event-table")
    links = [downloads(download[0], ("csv", "xlsx"), download[1], lang)] if download else []
    return html.Section([heading, _status_counts(events, lang), *links, html.Div(table, className="ent-scroll")],
                        id=section_id, className="review-section ent-events")


def incidents_section(events: ent.EventList, lang: str, enterprise_id: int | None = None) -> html.Section:
    columns = [t(k, lang) for k in ("col_time", "col_category", "ent_col_subcategory", "ent_col_priority",
                                    "ent_col_channel", "col_place", "col_caller", "col_phone", "col_disposition",
                                    "ent_col_status")]
    rows = [[html.Td(fmt_time(i.received_at), className="ent-time"), html.Td(tv(i.category, lang)),
             html.Td(i.subcategory or "—"),
             html.Td(t(f"ent_priority_{i.priority}", lang), className=f"ent-prio-{i.priority}"),
             html.Td(i.channel), html.Td(i.place or "—"), html.Td(i.caller_name or "—"),
             html.Td(i.caller_phone or "—", className="ent-phone"), html.Td(tv(i.disposition, lang)),
             html.Td(status_pill(i.status, lang))] for i in events.items]
    return _events_section(ids.ENT_INCIDENTS, "ent_incidents_title", "ent_no_incidents", events, columns, rows, lang,
                           download=None if enterprise_id is None else ("incidents", enterprise_id))


def disputes_section(events: ent.EventList, lang: str, enterprise_id: int | None = None) -> html.Section:
    columns = [t(k, lang) for k in ("ent_col_reported", "ent_col_dispute_type", "ent_col_parties",
                                    "ent_col_party_count", "ent_col_amount", "ent_col_level", "ent_col_mediator",
                                    "ent_col_status", "ent_col_settled_at")]
    rows = [[html.Td(fmt_time(d.reported_at), className="ent-time"), html.Td(tv(d.dispute_type, lang)),
             html.Td(d.parties or "—"), html.Td(f"{d.party_count:,}", className="num"),
             html.Td(fmt_amount(d.amount), className="num"), html.Td(tv(d.settled_level, lang)),
             html.Td(d.mediator or "—"), html.Td(status_pill(d.status, lang)),
             html.Td(fmt_time(d.settled_at), className="ent-time")] for d in events.items]
    return _events_section(ids.ENT_DISPUTES, "ent_disputes_title", "ent_no_disputes", events, columns, rows, lang,
                           frozenset({3, 4}), None if enterprise_id is None else ("disputes", enterprise_id))


def hazards_section(events: ent.EventList, lang: str, enterprise_id: int | None = None) -> html.Section:
    columns = [t(k, lang) for k in ("ent_col_found", "ent_col_hazard_type", "ent_col_severity",
                                    "ent_col_description", "ent_col_deadline", "ent_col_rectified",
                                    "ent_col_status")]
    rows = [[html.Td(fmt_time(h.found_at), className="ent-time"), html.Td(tv(h.hazard_type, lang)),
             html.Td(tv(h.severity, lang), className=f"ent-sev-{h.severity}"),
             html.Td(h.description or "—"), html.Td(fmt_day(h.deadline)),
             html.Td(fmt_time(h.rectified_at), className="ent-time"), html.Td(status_pill(h.status, lang))]
            for h in events.items]
    return _events_section(ids.ENT_HAZARDS, "ent_hazards_title", "ent_no_hazards", events, columns, rows, lang,
                           download=None if enterprise_id is None else ("hazards", enterprise_id))


# --- not found and unavailable -------------------------------------------------------------------------

def _shown_id(raw_id) -> str:
    text = "" if raw_id is None else str(raw_id)
    return text if len(text) <= 40 else text[:40] + "…"


def not_found(raw_id, lang: str, malformed: bool = False) -> html.Div:
    """The page for an id that is not a number or names no enterprise."""
    message = t("ent_bad_id" if malformed else "ent_unknown_id", lang, id=_shown_id(raw_id))
    return html.Div([
        header(None, lang, False, f"/enterprise/{_shown_id(raw_id)}"),
        html.Section([html.H2(t("ent_not_found", lang)), html.P(message, className="ent-not-found-detail"),
                      dcc.Link(t("ent_to_review", lang), href="/review" + _lang_query(lang))],
                     id=ids.ENT_NOT_FOUND, className="review-section ent-not-found"),
    ], id=ids.ENT_ROOT, className="review-root ent-root")


def unavailable(raw_id, lang: str, key: str = "ent_db_down") -> html.Div:
    """The page when the profile cannot be read (the database is down)."""
    return html.Div([
        header(None, lang, False, f"/enterprise/{_shown_id(raw_id)}"),
        html.Section([html.H2(t("ent_unavailable_title", lang)), html.P(t(key, lang), className="review-error")],
                     id=ids.ENT_UNAVAILABLE, className="review-section ent-unavailable"),
    ], id=ids.ENT_ROOT, className="review-root ent-root")
