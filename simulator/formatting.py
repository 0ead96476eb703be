"""Numbers and units as people read them: one set of rules for plots, tables, reports and the CLI.

- counts of people: ``12.5 M``, ``350 k``, ``2.1 bn`` (``bn``, never ``B``, which is bytes);
  plain digits with thousands separators below 10,000 (``1,234``);
- shares (a unit naming a 0–1 quantity): ``66.2 %``; a change of a share in percentage
  points: ``+3 pp``;
- times in the scenario's unit: ``14.5 h`` (hours abbreviated), ``2 day``;
- sizes in bytes: ``3.5 GB`` (decimal units).

Examples
--------
>>> format_number(12_500_000), format_number(2.1e9), format_number(1234)
('12.5 M', '2.1 bn', '1,234')
>>> format_value(0.662, "share of loads"), format_value(14.5, "hour", time_unit="hour")
('66.2 %', '14.5 h')
>>> format_change(-1.6e8, "people"), format_change(0.031, "share")
('-160 M', '+3.1 pp')
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

#: Large-number suffixes, largest first: ``(threshold, divisor, suffix)``. Thousands
#: start at 10,000 ("12.5 k"); below that the digits are short enough to show in full.
SCALES: Tuple[Tuple[float, float, str], ...] = (
    (1e9, 1e9, " bn"),
    (1e6, 1e6, " M"),
    (1e4, 1e3, " k"),
)
#: Words that make a unit a 0–1 quantity (shown as a percentage).
SHARE_WORDS = ("share", "fraction", "proportion", "probability", "0-1", "0–1")
#: Time units written short after a number.
_TIME_ABBREVIATIONS = {"hour": "h", "hours": "h", "h": "h", "minute": "min", "minutes": "min",
                       "second": "s", "seconds": "s"}
MISSING = "–"


def _finite(x: Optional[float]) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def scale_for(top: float) -> Tuple[float, str]:
    """``(divisor, suffix)`` for numbers up to ``abs(top)``: ``(1e6, " M")`` for millions."""
    a = abs(float(top))
    for threshold, div, suffix in SCALES:
        # 999,950 rounds to "1e+03 k" at 3 digits: switch scale just below the threshold
        if a >= threshold * 0.9995:
            return div, suffix
    return 1.0, ""


def format_number(x: Optional[float], pos: Optional[int] = None) -> str:
    """A short human number for ticks and tables: ``12.5 M``, ``350 k``, ``0.25``.

    ``pos`` is ignored (it lets matplotlib use this as a tick formatter).
    """
    if not _finite(x):
        return MISSING
    x = float(x)
    div, suffix = scale_for(x)
    if suffix:
        return f"{x / div:.3g}{suffix}"
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def is_share_unit(unit: Optional[str]) -> bool:
    """Units that name a 0–1 quantity (shown as a percentage)."""
    return any(w in (unit or "").lower() for w in SHARE_WORDS)


def time_suffix(unit: str) -> str:
    """The unit as written after a time value: ``hour`` -> ``h``, others unchanged."""
    return _TIME_ABBREVIATIONS.get(unit.lower(), unit)


def format_value(x: Optional[float], unit: Optional[str], *, time_unit: Optional[str] = None) -> str:
    """A value with its unit: people as ``12.5 M``, shares as ``66.2 %``, times as ``14.5 h``.

    Parameters
    ----------
    x : the value (None or NaN gives ``–``).
    unit : its unit (``people``, a share such as ``share of loads``, a time unit, ...).
    time_unit : the scenario's time unit; a value in it is written with the unit.
    """
    if not _finite(x):
        return MISSING
    x = float(x)
    unit = unit or ""
    if is_share_unit(unit) and -1.0 <= x <= 1.0:
        return f"{100 * x:.3g} %"
    if time_unit is not None and unit == time_unit:
        return f"{x:.3g} {time_suffix(unit)}"
    return format_number(x)


def format_change(d: Optional[float], unit: Optional[str], *, time_unit: Optional[str] = None) -> str:
    """A signed difference: ``+2.2 M``, ``-0.5 h``, ``+3.1 pp`` (percentage points for
    shares); ``0`` when it rounds to zero."""
    if not _finite(d):
        return MISSING
    d = float(d)
    if is_share_unit(unit):
        text = f"{100 * abs(d):.3g} pp"
    else:
        text = format_value(abs(d), unit, time_unit=time_unit)
    if text.split(" ")[0].replace(",", "").strip("0.") == "":
        return "0"
    return ("+" if d > 0 else "-") + text


def format_bytes(n: float) -> str:
    """Human-readable size in decimal units: ``format_bytes(3.5e9) == '3.5 GB'``."""
    n = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000:
            return f"{int(n)} B" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1000.0
    return f"{n:.3g} PB"
