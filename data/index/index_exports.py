"""The numbers behind the safety-index downloads of the review page that the views do not hold as such.

``data.index.index_views`` draws the funnel's control limits as lines over a grid of head counts; a download gives
each enterprise its own limits, at its own exposure, so that a reader can check every flag in a spreadsheet:
a count lies above a level's upper limit exactly when the funnel flags it above that level. Pure functions of
``data.index.index_views.IndexViews`` (no database, no Dash).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.index.index_views import LIMIT_NAMES, funnel_limits


def point_limits(funnel) -> pd.DataFrame:
    """The control limits at each point of the funnel plot, as rates (incidents per 100 workers a year) and as
    counts (incidents over the window), in the order of ``funnel.points``.

    Columns: ``lower_998``, ``lower_95``, ``upper_95``, ``upper_998`` (rates) and the same names with a
    ``_count`` suffix (the rate times the exposure, i.e. the limit on the count itself).
    """
    points = funnel.points
    exposure = points["exposure"].to_numpy(dtype=float) if len(points) else np.zeros(0)
    rates = funnel_limits(funnel.p0, exposure)
    out = pd.DataFrame(index=points.index)
    for name in LIMIT_NAMES:
        rate = np.asarray(rates[name], dtype=float)
        out[name] = np.where(np.isfinite(rate), rate, np.nan)
        out[f"{name}_count"] = out[name].to_numpy() * exposure
    return out
