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
