"""Component ids, in one place: layouts, callbacks and tests import these names."""

# First screen (the wall cockpit replaces it)
FS_LOCATION = "fs-location"
FS_INTERVAL = "fs-interval"
FS_STATUS = "fs-status"
FS_LAST_OK = "fs-last-ok"
FS_BODY = "fs-body"
FS_TODAY = "fs-today-count"
FS_CALLS = "fs-calls"
FS_DEMO_MARK = "fs-demo-mark"


def figure_tile(figure: str) -> str:
    """Id of the tile showing one programme figure."""
    return f"fs-figure-{figure.replace('_', '-')}"


def total_tile(name: str) -> str:
    """Id of the tile showing one programme total."""
    return f"fs-total-{name.replace('_', '-')}"

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
WALL_SETTINGS = "wall-settings"  # {lang, kiosk, poll_ms, feed_ms}


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
REVIEW_DRILL_SECTION = "review-drill-section"
REVIEW_INDEX_HOLDER = "review-index-holder"
REVIEW_TREND = "review-trend"
REVIEW_FESTIVAL = "review-festival"
REVIEW_DRILL = "review-drill"
REVIEW_DRILL_TABLE = "review-drill-table"
REVIEW_ROW_TYPE = "review-book-row"  # pattern id type: {"type": REVIEW_ROW_TYPE, "row": "incidents:刑事"}
REVIEW_DRILL_TYPE = "review-drill-item"  # pattern id type: {"type": ..., "kind": "station", "id": 2}
