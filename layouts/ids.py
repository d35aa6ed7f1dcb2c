"""Component ids, in one place: layouts, callbacks and tests import these names."""

# Page router
ROUTER_LOCATION = "page-location"
ROUTER_PAGE = "page-content"
ROUTER_RENDERED = "page-rendered"  # the path (and language) the page was drawn for

# Wall cockpit
WALL_ROOT = "wall-root"
WALL_CANVAS = "wall-canvas"
WALL_TITLE = "wall-title"
WALL_VIEW_NAME = "wall-view-name"
WALL_CLOCK = "wall-clock"
WALL_STATUS = "wall-status"
WALL_FRESHNESS = "wall-freshness"
WALL_DATA_AGE = "wall-data-age"  # the newest incident's age, shown when a gap that long is unusual
WALL_DEMO_MARK = "wall-demo-mark"
WALL_KPIS = "wall-kpis"
WALL_MAP = "wall-map"
WALL_FEED = "wall-feed"
WALL_CONTROLS = "wall-controls"
WALL_TICK = "wall-tick"  # 1 s clientside heartbeat: clock, freshness, watchdog, rotation
WALL_POLL = "wall-poll"  # bumped by the client when the next frame is due
WALL_FRAME = "wall-frame"  # {ok, at, version, view, alerts}: written by each frame
WALL_FEED_POLL = "wall-feed-poll"
WALL_FEED_STATE = "wall-feed-state"  # {last_id, at}
WALL_VIEW = "wall-view"  # {kind, id}: what the wall shows now
WALL_PLAYLIST = "wall-playlist"  # [{kind, id, seconds}]
WALL_SETTINGS = "wall-settings"  # {lang, kiosk, poll_ms, feed_ms; canvas: written by assets/wall.js}


def wall_panel(name: str) -> str:
    """Id of a wall chart panel's graph."""
    return f"wall-{name}"


def wall_kpi(name: str) -> str:
    """Id of a wall KPI tile."""
    return f"wall-kpi-{name.replace('_', '-')}"

# Leadership review
REVIEW_LOCATION = "review-location"
REVIEW_LANG = "review-lang"
REVIEW_LANG_LINK = "review-lang-link"
REVIEW_BREADCRUMBS = "review-breadcrumbs"
REVIEW_CONTENT = "review-content"
REVIEW_PERIOD = "review-period"
REVIEW_RANGE = "review-range"
REVIEW_STATION = "review-station"
REVIEW_PARK = "review-park"
REVIEW_SECTOR = "review-sector"
REVIEW_CATEGORY = "review-category"
REVIEW_ENTERPRISE_ONLY = "review-enterprise-only"
REVIEW_BOOK = "review-book"
REVIEW_MESSAGE = "review-message"
REVIEW_BOOK_HOLDER = "review-book-holder"
REVIEW_TREND_TITLE = "review-trend-title"
REVIEW_DRILL_TITLE = "review-drill-title"
REVIEW_DRILL_HOLDER = "review-drill-holder"
REVIEW_MEASURES_HOLDER = "review-measures-holder"  # the operational measures' table
REVIEW_MEASURES = "review-measures"
REVIEW_DRILL_SECTION = "review-drill-section"
REVIEW_INDEX_HOLDER = "review-index-holder"  # the index views' title, summary and distribution heading
REVIEW_DRAWN = "review-drawn"  # the query the main content was last drawn for (starts the index views)
REVIEW_INDEX_SCOPE = "review-index-scope"  # the scope the index views were drawn for
REVIEW_PART_DIGESTS = "review-part-digests"  # a digest of each drawn part: unchanged parts are not resent
REVIEW_TREND = "review-trend"
REVIEW_FESTIVAL = "review-festival"
REVIEW_DRILL = "review-drill"
REVIEW_MAP = "review-map"  # station areas and parks; a click drills down
REVIEW_DRILL_TABLE = "review-drill-table"

# The safety-index views of the review page (layouts/index_views.py)
REVIEW_INDEX = "review-index"  # wrapper of the three sections (in the page skeleton)
REVIEW_INDEX_DISTRIBUTION_SECTION = "review-index-distribution-section"
REVIEW_INDEX_FUNNEL_SECTION = "review-index-funnel-section"
REVIEW_INDEX_FUNNEL_HEAD = "review-index-funnel-head"  # the funnel's title, note, counts and downloads
REVIEW_INDEX_FUNNEL_TAIL = "review-index-funnel-tail"  # the flagged enterprises' table
REVIEW_INDEX_RANKINGS = "review-index-rankings"  # the rankings section, or the sentence when no index is stored
REVIEW_INDEX_EMPTY = "review-index-empty"  # the sentence shown when no index is stored
REVIEW_INDEX_SUMMARY = "review-index-summary"
REVIEW_INDEX_BANDS = "review-index-bands"
REVIEW_INDEX_DISTRIBUTION = "review-index-distribution"  # dcc.Graph
REVIEW_INDEX_FUNNEL = "review-index-funnel"  # dcc.Graph; customdata[0] of a point is the enterprise id
REVIEW_INDEX_FUNNEL_NOTE = "review-index-funnel-note"
REVIEW_INDEX_FLAG_COUNTS = "review-index-flag-counts"
REVIEW_INDEX_FLAGGED = "review-index-flagged"  # table of the enterprises above the 99.8% limit
REVIEW_INDEX_STATIONS = "review-index-stations"  # station ranking table
REVIEW_INDEX_PARKS = "review-index-parks"  # park ranking table


def rank_row_id(kind: str, unit_id: int) -> str:
    """Id of a ranking row: review-index-station-2, review-index-park-7."""
    return f"review-index-{kind}-{unit_id}"


def download_bar(name: str) -> str:
    """Id of the download links of a table or chart (layouts/components.py::download_links): review-download-book,
    review-download-index-funnel, review-download-enterprise-index, ..."""
    return f"review-download-{name}"

# The enterprise profile (layouts/enterprise.py)
ENT_ROOT = "ent-page"
ENT_NAME = "ent-name"
ENT_CREDIT_CODE = "ent-credit-code"
ENT_BREADCRUMBS = "ent-breadcrumbs"
ENT_LANG_LINK = "ent-lang-link"
ENT_KPIS = "ent-kpis"
ENT_IDENTITY = "ent-identity"
ENT_TEAMS = "ent-teams"
ENT_INDEX_CHART = "ent-index-chart"
ENT_INDEX_SECTION = "ent-index"
ENT_RECEIPT = "ent-receipt"
ENT_RECEIPT_SCORE = "ent-receipt-score"
ENT_PILLARS = "ent-pillars"
ENT_INDICATORS = "ent-indicators"
ENT_INPUTS = "ent-inputs"
ENT_INCIDENTS = "ent-incidents"
ENT_DISPUTES = "ent-disputes"
ENT_HAZARDS = "ent-hazards"
ENT_NOT_FOUND = "ent-not-found"
ENT_UNAVAILABLE = "ent-unavailable"
USER_BAR = "user-bar"  # who is logged in, admin and logout links (hidden on the wall)
