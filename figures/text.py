"""Numbers in words, as every screen and file writes them: counts, significance marks, the tone of a change."""

from __future__ import annotations

from data.core.organisation import Organisation
from figures.strings import t

SIGNIFICANCE_MARKS = {"significant": "▲▲", "notable": "▲", "noise": "≈", "none": ""}  # none: a side has no data


def change_tone(pct: float | None, now: int | None) -> str:
    """Colour of a change: down is good (green), up is bad (red) for incident counts; no data is neutral."""
    if pct is None:
        return "up" if now is not None and now > 0 else "neutral"
    if pct < 0:
        return "down"
    if pct > 0:
        return "up"
    return "neutral"


def count_text(n: int | None, lang: str = "zh") -> str:
    """A count as the screen writes it: 1,234; 无数据 when the data do not cover its window (never 0)."""
    return t("no_data", lang) if n is None else f"{n:,}"


def org_title(key: str, org: Organisation, lang: str = "zh") -> str:
    """A title that names the organisation (``{org}`` in its words): 某某公安 e企安365 数字驾驶舱; without a name
    set, just e企安365 数字驾驶舱."""
    return " ".join(t(key, lang, org=org.short(lang)).split())
