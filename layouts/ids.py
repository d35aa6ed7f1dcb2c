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
