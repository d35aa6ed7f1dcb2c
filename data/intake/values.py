"""Parsing one raw cell into one of our values: times in a declared format and zone, numbers, yes/no,
text made safe for spreadsheets. Every failure is a ``FieldError`` with a message fit for the report.

Times use a small compiled subset of strptime (``%Y %y %m %d %H %I %M %S %f %p %z %b %%``) rather than
``datetime.strptime``: it is several times faster, accepts the ``+00`` offsets real exports write, and
tells a local time that does not exist (the hour skipped when clocks go forward) from a valid one.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

UTC = UTC
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Numbers and phone numbers are inert: only these characters, and a digit among them. Two checks, not one
# pattern: "[...]*\d[...]*" backtracks quadratically on a long cell ("-111…1x": 25 s for 32,000 characters).
_NUMBER_CHARS = re.compile(r"[+-]?[\d\s().,/-]*")
_DIGIT = re.compile(r"\d")
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), start=1)}
MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2)


class FieldError(ValueError):
    """A value that cannot be taken; the message names the value and why."""


def clip(value, limit: int = 60) -> str:
    """A value quoted for a message, shortened."""
    text = repr(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "…'"


def is_formula(text: str) -> bool:
    """Whether a spreadsheet would evaluate this text as a formula (OWASP CSV injection)."""
    if not text.startswith(FORMULA_PREFIXES):
        return False
    return not (_NUMBER_CHARS.fullmatch(text) and _DIGIT.search(text))


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(text: str) -> str:
    """Text the database and a later COPY can hold: no NUL, no lone surrogate."""
    if "\x00" in text:
        raise FieldError("contains a NUL character")
    if not text.isascii() and _SURROGATE.search(text):
        raise FieldError("is not valid Unicode text")
    return text


_DIRECTIVES = {
    "Y": r"(?P<Y>\d{4})", "y": r"(?P<y>\d{2})", "m": r"(?P<m>\d{1,2})", "d": r"(?P<d>\d{1,2})",
    "H": r"(?P<H>\d{1,2})", "I": r"(?P<I>\d{1,2})", "M": r"(?P<M>\d{1,2})", "S": r"(?P<S>\d{1,2})",
    "f": r"(?P<f>\d{1,6})", "p": r"(?P<p>[AaPp]\.?[Mm]\.?|上午|下午)", "z": r"(?P<z>Z|[+-]\d{2}(?::?\d{2})?)",
    "b": r"(?P<b>[A-Za-z]{3})[A-Za-z]*\.?",
}


@lru_cache(maxsize=256)
def compile_time_format(fmt: str):
    """A parser for a strptime-like format: text -> (naive datetime, offset or None); 'iso' and 'epoch' too."""
    if fmt == "iso":
        return _parse_iso
    if fmt in ("epoch", "epoch_ms"):
        scale = 1000.0 if fmt == "epoch_ms" else 1.0

        def epoch(text: str):
            try:
                seconds = float(text) / scale
                return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None), timedelta(0)
            except (ValueError, OverflowError, OSError):
                raise FieldError(f"{clip(text)} is not a Unix time ({fmt})") from None

        return epoch
    parts, i, seen = [], 0, set()
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%":
            if i + 1 >= len(fmt):
                raise ValueError(f"time format {fmt!r} ends with a lone %")
            d = fmt[i + 1]
            if d == "%":
                parts.append("%")
            elif d in _DIRECTIVES:
                if d in seen:
                    raise ValueError(f"time format {fmt!r} uses %{d} twice")
                seen.add(d)
                parts.append(_DIRECTIVES[d])
            else:
                raise ValueError(f"time format {fmt!r}: %{d} is not supported "
                                 "(use %Y %y %m %d %H %I %M %S %f %p %z %b)")
            i += 2
        elif ch.isspace():
            parts.append(r"\s+")
            while i < len(fmt) and fmt[i].isspace():
                i += 1
        else:
            parts.append(re.escape(ch))
            i += 1
    if not ({"Y", "y"} & seen) or not ({"m", "b"} & seen) or "d" not in seen:
        raise ValueError(f"time format {fmt!r} needs a year (%Y or %y), a month (%m or %b) and a day (%d)")
    if "I" in seen and "p" not in seen:
        raise ValueError(f"time format {fmt!r}: %I (12-hour clock) needs %p (AM/PM)")
    regex = re.compile("".join(parts))

    def parse(text: str):
        m = regex.fullmatch(text)
        if m is None:
            raise FieldError(f"{clip(text)} does not match the format {fmt}")
        g = m.groupdict()
        year = int(g["Y"]) if g.get("Y") else 2000 + int(g["y"])
        month = int(g["m"]) if g.get("m") else _MONTHS.get(g["b"].lower(), 0)
        hour = int(g.get("H") or 0)
        if g.get("I"):
            hour = int(g["I"])
            if not 1 <= hour <= 12:
                raise FieldError(f"{clip(text)}: hour {hour} on a 12-hour clock")
            pm = g["p"].lower().startswith("p") or g["p"] == "下午"
            hour = hour % 12 + (12 if pm else 0)
        micro = int((g.get("f") or "0").ljust(6, "0"))
        try:
            value = datetime(year, month, int(g["d"]), hour, int(g.get("M") or 0), int(g.get("S") or 0), micro)
        except ValueError as exc:
            raise FieldError(f"{clip(text)} is not a real date and time ({exc})") from None
        offset = None
        if g.get("z"):
            offset = _offset(g["z"])
        return value, offset

    return parse


def _offset(text: str) -> timedelta:
    if text == "Z":
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        raise FieldError(f"UTC offset {text} is out of range")
    return sign * timedelta(hours=hours, minutes=minutes)


def _parse_iso(text: str):
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(f"{clip(text)} is not an ISO date/time") from None
    return value.replace(tzinfo=None), value.utcoffset()


def localise(naive: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in a zone as an aware UTC instant; a time the zone skipped is refused."""
    local = naive.replace(tzinfo=zone)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != naive:
        raise FieldError(f"{naive:%Y-%m-%d %H:%M} does not exist in {zone.key} (the clocks went forward)")
    return utc


def parse_time(raw, formats, zone: ZoneInfo) -> datetime:
    """An aware UTC datetime from a cell: text in one of ``formats``, or an XLSX date cell."""
    if isinstance(raw, datetime):
        naive, offset = raw.replace(tzinfo=None), raw.utcoffset()
    elif isinstance(raw, date):
        naive, offset = datetime(raw.year, raw.month, raw.day), None
    else:
        text = raw if isinstance(raw, str) else str(raw)
        error = None
        for fmt in formats:
            try:
                naive, offset = compile_time_format(fmt)(text)
                break
            except FieldError as exc:
                error = exc
        else:
            if len(formats) == 1:
                raise error
            raise FieldError(f"{clip(text)} matches none of the formats {', '.join(formats)}")
    if offset is not None:
        try:
            return (naive - offset).replace(tzinfo=UTC)
        except OverflowError:
            raise FieldError(f"{clip(raw)} is out of range") from None
    try:
        return localise(naive, zone)
    except OverflowError:
        raise FieldError(f"{clip(raw)} is out of range") from None


def parse_date(raw, formats, zone: ZoneInfo) -> date:
    """A calendar date from a cell (a date-and-time cell gives its date in ``zone``)."""
    if isinstance(raw, datetime):
        return raw.astimezone(zone).date() if raw.tzinfo else raw.date()
    if isinstance(raw, date):
        return raw
    text = raw if isinstance(raw, str) else str(raw)
    error = None
    for fmt in formats:
        try:
            naive, offset = compile_time_format(fmt)(text)
        except FieldError as exc:
            error = exc
            continue
        if offset is not None:
            return (naive - offset).replace(tzinfo=UTC).astimezone(zone).date()
        return naive.date()
    if len(formats) == 1:
        raise error
    raise FieldError(f"{clip(text)} matches none of the date formats {', '.join(formats)}")


def parse_int(raw) -> int:
    if isinstance(raw, bool):
        raise FieldError(f"{clip(raw)} is not a whole number")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if raw.is_integer():
            return int(raw)
        raise FieldError(f"{clip(raw)} is not a whole number")
    text = str(raw).strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise FieldError(f"{clip(text)} is not a whole number") from None
    if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    raise FieldError(f"{clip(text)} is not a whole number")


def parse_float(raw) -> float:
    if isinstance(raw, bool):
        raise FieldError(f"{clip(raw)} is not a number")
    try:
        value = float(raw) if isinstance(raw, (int, float)) else float(str(raw).strip())
    except (ValueError, OverflowError):
        raise FieldError(f"{clip(raw)} is not a number") from None
    if not math.isfinite(value):
        raise FieldError(f"{clip(raw)} is not a finite number")
    return value


def parse_decimal(raw) -> Decimal:
    if isinstance(raw, bool):
        raise FieldError(f"{clip(raw)} is not an amount")
    text = str(raw).strip()
    for noise in ("¥", "￥", "元", ",", "，", " "):
        text = text.replace(noise, "")
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise FieldError(f"{clip(raw)} is not an amount") from None
    if not value.is_finite():
        raise FieldError(f"{clip(raw)} is not an amount")
    if value < 0:
        raise FieldError(f"{clip(raw)} is negative")
    if value > MAX_AMOUNT:
        raise FieldError(f"{clip(raw)} is too large")
    return value.quantize(Decimal("0.01"))


def parse_bool(raw, true_words, false_words) -> bool:
    if isinstance(raw, bool):
        return raw
    text = (str(int(raw)) if isinstance(raw, float) and raw.is_integer() else str(raw)).strip().casefold()
    if text in true_words:
        return True
    if text in false_words:
        return False
    raise FieldError(f"{clip(raw)} is neither yes nor no")


def cell_text(value) -> str | None:
    """A cell as text the way it reads (None for an empty cell); XLSX numbers lose a spurious '.0'."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)
