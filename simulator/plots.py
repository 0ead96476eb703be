"""Figures: pure functions from results to matplotlib Figures.

Every function takes data and returns a :class:`matplotlib.figure.Figure`; nothing is
shown, nothing global is touched. Figures are built with the object-oriented API on
an Agg canvas (no pyplot, so no figure manager to leak and no interactive backend);
in a notebook a returned Figure displays itself. The CLI, the run directory writer and
the HTML report all call these same functions.

Conventions, so a figure can go on a slide as is:

- title = scenario name; a footnote says what the lines and bands are and how many
  real people an agent stands for;
- y in real people when the agents represent a larger population (``"people (scaled
  from 10,000 agents)"``), with readable ticks (``12 M``, ``350 k``);
- x in clock time when the scenario has ``time.start`` (local clock of that start);
- lines are the median over replicates, bands the 5–95 % range of replicates;
- interventions are dashed vertical lines on every panel, labelled once along the top
  of the top panels in rows that never overlap each other; head room is added above
  the data so labels never cover a curve;
- legends sit in their own column beside each panel, never on the data;
- one colour per state name, the same in every figure.
"""

from __future__ import annotations

import functools
import math
import os
import textwrap
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import (TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Mapping, Optional,
                    Sequence, Tuple, Union)

import matplotlib
import matplotlib.legend
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, PercentFormatter
from matplotlib.transforms import blended_transform_factory, offset_copy

from .errors import OutputError, ScenarioError
from .formatting import format_number, format_value, is_share_unit, scale_for
from .outputs import replacing
from .results import ensemble_band
from .scenario import Scenario, SeriesSpec

if TYPE_CHECKING:  # only for annotations
    from .modelinfo import InterventionMarker, ModelInfo
    from .results import Results

#: Largest graph :func:`plot_network_snapshot` and :func:`animate_network` will draw.
MAX_SNAPSHOT_AGENTS = 2000

# ----------------------------------------------------------------------- style

# CJK fallbacks, only those installed (matplotlib warns about every missing family).
_CJK = ["Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
        "Microsoft YaHei", "SimHei", "PingFang SC"]
_HAVE = {f.name for f in font_manager.fontManager.ttflist}
_RC = {
    "font.size": 9,
    "font.family": ["sans-serif"],
    "font.sans-serif": ["DejaVu Sans"] + [f for f in _CJK if f in _HAVE],
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "figure.dpi": 100,
}

#: Colours for common state names, so "believer" is red and "skeptic" green everywhere.
STATE_COLORS: Dict[str, str] = {}
for _names, _c in [
    (("S", "susceptible", "ignorant", "unaware", "none", "neutral", "inactive", "unknown",
      "idle"), "#8c8c8c"),
    (("bound", "normal", "calm", "positive_neutral"), "#1f77b4"),
    (("E", "exposed", "heard", "aware", "seen"), "#ff7f0e"),
    (("I", "infected", "infectious", "spreader", "believer", "negative", "angry",
      "unbound"), "#d62728"),
    (("R", "recovered", "removed", "stifler", "skeptic", "debunked", "positive",
      "rebound"), "#2ca02c"),
    (("visited", "clicked", "adopted", "active"), "#9467bd"),
    (("shared", "posted", "reposted"), "#e377c2"),
    (("failed", "withdrawn"), "#8c564b"),
]:
    for _n in _names:
        STATE_COLORS[_n.lower()] = _c
# Strong colours only (tab10 without its grey, then the dark tab20b/c shades): a hashed
# colour must stay readable as a thin line on white.
_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
            "#3182bd", "#e6550d", "#31a354", "#756bb1"]
_VARIANT_COLORS = ["#222222", "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                   "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
_LINESTYLES = ["-", "--", ":", "-."]
_MARKER_COLOR = "0.3"
_ALERT_COLOR = "#d62728"


def _styled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a figure builder inside Rumorsim's rc settings (nothing global changes)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context(_RC):
            return fn(*args, **kwargs)

    return wrapper


def state_color(name: str) -> str:
    """The colour of a state (or any series) name: fixed for common names, else a stable hash.

    Examples
    --------
    >>> state_color("believer")
    '#d62728'
    """
    c = STATE_COLORS.get(str(name).lower())
    if c is not None:
        return c
    return _PALETTE[zlib.crc32(str(name).encode("utf-8")) % len(_PALETTE)]


def _distinct_colors(names: Sequence[str]) -> List[str]:
    """``state_color`` for each name in order, bumping later ones off colours already taken
    (so two series of one panel never share a colour, even under the same name)."""
    out: List[str] = []
    for n in names:
        c = state_color(n)
        if c in out:
            start = _PALETTE.index(c) if c in _PALETTE else zlib.crc32(n.encode()) % len(_PALETTE)
            for k in range(1, len(_PALETTE) + 1):
                c = _PALETTE[(start + k) % len(_PALETTE)]
                if c not in out:
                    break
        out.append(c)
    return out


class HumanFormatter(matplotlib.ticker.Formatter):
    """Tick labels in one scale per axis: ``0, 100 M, 200 M`` or ``0, 250, 500, 1,000``.

    The suffix (k, M, bn: :func:`rumorsim.formatting.scale_for`) is chosen from the largest tick, and the decimals from the tick
    spacing, so the labels of one axis never mix ``800`` with ``1 k``.
    """

    def __init__(self) -> None:
        self._ticks: List[float] = []

    def set_locs(self, locs: Sequence[float]) -> None:
        self._ticks = [float(v) for v in locs if np.isfinite(v)]

    def __call__(self, x: float, pos: Optional[int] = None) -> str:
        locs = self._ticks or [x]
        top = max(abs(v) for v in locs)
        div, suffix = scale_for(top)
        if x == 0:
            return "0"
        scaled = [v / div for v in locs]
        tol = 1e-6 * max(max(abs(v) for v in scaled), 1e-12)
        decimals = next((d for d in range(5)
                         if all(abs(round(v, d) - v) <= tol for v in scaled)), 4)
        return f"{x / div:,.{decimals}f}{suffix}"


def _human() -> HumanFormatter:
    return HumanFormatter()

# ----------------------------------------------------------------------- time axis


@dataclass(frozen=True)
class _TimeAxis:
    """Scenario time -> x coordinate, plus how to label the axis."""

    origin: float  # x of t = 0
    scale: float  # x units per scenario time unit
    label: str
    clock: bool
    tz: Any = None

    def x(self, t: Union[float, np.ndarray]) -> Union[float, np.ndarray]:
        return self.origin + np.asarray(t, dtype=float) * self.scale

    def decorate(self, ax: Axes, *, show_label: bool) -> None:
        if self.clock:
            loc = mdates.AutoDateLocator(tz=self.tz, minticks=4, maxticks=10)
            fmt = mdates.ConciseDateFormatter(loc, tz=self.tz)
            # hour ticks as HH:MM, with the date written where a day starts
            fmt.formats = ["%Y", "%b", "%b %d", "%H:%M", "%H:%M", "%S.%f"]
            fmt.zero_formats = ["", "%Y", "%b", "%b %d", "%H:%M", "%H:%M"]
            fmt.show_offset = False  # the start date is in the axis label instead
            ax.xaxis.set_major_locator(loc)
            ax.xaxis.set_major_formatter(fmt)
        if show_label:
            ax.set_xlabel(self.label)


def _time_axis(scenario: "Scenario") -> _TimeAxis:
    t = scenario.time
    hours = t.hours_per_unit
    if t.start is not None and hours is not None:
        start: datetime = t.start
        off = start.utcoffset()
        if off is None:
            zone = "local"
        else:
            minutes = int(off.total_seconds() // 60)
            zone = f"UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        label = f"clock time ({zone}); t = 0 is {start.strftime('%a %d %b %Y, %H:%M')}"
        return _TimeAxis(origin=float(mdates.date2num(start)), scale=hours / 24.0,
                         label=label, clock=True, tz=start.tzinfo)
    return _TimeAxis(origin=0.0, scale=1.0, label=f"time ({t.unit})", clock=False)


# ----------------------------------------------------------------- figure layout


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # the non-interactive Agg canvas: savefig, measuring text
    return fig


@dataclass
class _Panels:
    """A grid of plot panels sharing x, each with a legend column to its right."""

    fig: Figure
    axes: List[Axes]
    legend_axes: List[Axes]
    ncols: int
    gridspec: Any = None
    panel_w: float = 6.4
    legend_w: float = 2.0
    footer: Optional[Axes] = None
    twins: Dict[int, Axes] = field(default_factory=dict)
    # (axes index, x, x_end or None, label, colour) for marker labels, placed after layout
    marker_labels: List[Tuple[int, float, Optional[float], str, str]] = field(default_factory=list)

    def is_top(self, i: int) -> bool:
        return i < self.ncols

    def is_bottom(self, i: int) -> bool:
        return i + self.ncols >= len(self.axes)

    def twin(self, i: int) -> Axes:
        if i not in self.twins:
            tw = self.axes[i].twinx()
            tw.grid(False)
            tw.spines["right"].set_visible(True)
            self.twins[i] = tw
        return self.twins[i]


def _panels(n: int, *, ncols: Optional[int] = None, panel_w: float = 6.4,
            legend_w: float = 2.0, panel_h: float = 2.7, footer_h: float = 0.0) -> _Panels:
    ncols = ncols or (1 if n <= 3 else 2)
    nrows = math.ceil(n / ncols)
    fig = _new_figure(ncols * (panel_w + legend_w), nrows * panel_h + footer_h + 1.1)
    heights = [panel_h] * nrows + ([footer_h] if footer_h else [])
    gs = fig.add_gridspec(len(heights), 2 * ncols, width_ratios=[panel_w, legend_w] * ncols,
                          height_ratios=heights)
    axes: List[Axes] = []
    legends: List[Axes] = []
    for i in range(n):
        r, c = divmod(i, ncols)
        ax = fig.add_subplot(gs[r, 2 * c], sharex=axes[0] if axes else None)
        lax = fig.add_subplot(gs[r, 2 * c + 1])
        lax.axis("off")
        axes.append(ax)
        legends.append(lax)
    p = _Panels(fig, axes, legends, ncols, gridspec=gs, panel_w=panel_w, legend_w=legend_w)
    if footer_h:
        p.footer = fig.add_subplot(gs[-1, :])
        p.footer.axis("off")
    for i, ax in enumerate(axes):
        if not p.is_bottom(i):
            ax.tick_params(labelbottom=False)
    return p


def _band_line(ax: Axes, x: np.ndarray, values: np.ndarray, color: str, label: str,
               *, ls: str = "-", lw: float = 2.0, band_alpha: float = 0.2) -> Line2D:
    """Median line and 5–95 % band of (R, T) ``values``; returns the line."""
    med, lo, hi = ensemble_band(values)
    if values.shape[0] > 1:
        ax.fill_between(x, lo, hi, color=color, alpha=band_alpha, lw=0)
    (line,) = ax.plot(x, med, color=color, lw=lw, ls=ls, label=label)
    return line


def _alert(ax: Axes, x: np.ndarray, values: np.ndarray, level: float, unit: str = "") -> List[Any]:
    """Dashed alert level and shaded spans where the median is above it; legend handles."""
    if not np.isfinite(level):
        return []
    med = np.median(values, axis=0)
    ax.axhline(level, color=_ALERT_COLOR, lw=0.9, ls=(0, (2, 2)), alpha=0.8)
    above = med > level
    handles: List[Any] = [Line2D([], [], color=_ALERT_COLOR, lw=0.9, ls=(0, (2, 2)),
                                 label=f"alert level ({format_value(level, unit)})")]
    if above.any():
        edges = np.flatnonzero(np.diff(np.r_[0, above.astype(int), 0]))
        for a, b in zip(edges[::2], edges[1::2]):
            lo = x[max(a - 1, 0)] if a > 0 else x[0]
            hi = x[min(b, len(x) - 1)]
            ax.axvspan(lo, hi, color=_ALERT_COLOR, alpha=0.07, lw=0, zorder=0)
        handles.append(Patch(color=_ALERT_COLOR, alpha=0.15, label="above alert (median)"))
    return handles


def _mark_interventions(p: _Panels, markers: Sequence["InterventionMarker"], tax: _TimeAxis,
                        end: float, label_of: Optional[Callable[[Any], Tuple[str, str]]] = None
                        ) -> None:
    """Dashed lines for every marker on every panel; labels queued for the top panels.

    A marker with an end (a rate change from ``at`` until ``until``) gets a bracket
    under its label spanning the interval, rather than a shaded band over the data.
    """
    for m in markers:
        label, color = label_of(m) if label_of else (m.label or m.name, _MARKER_COLOR)
        if m.at > end:
            continue
        x0 = float(tax.x(m.at))
        x1 = (float(tax.x(min(m.until, end)))
              if m.until is not None and m.kind in ("scale", "set") and m.until > m.at else None)
        for ax in p.axes:
            ax.axvline(x0, color=color, lw=1.0, ls=(0, (4, 3)), zorder=1.5)
        for i in range(len(p.axes)):
            if p.is_top(i):
                p.marker_labels.append((i, x0, x1, _short(label, 52), color))


def _short(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _place_marker_labels(p: _Panels) -> None:
    """Put queued marker labels in non-overlapping rows along the top of their panels.

    Needs the final layout, so it draws once (Agg) to measure text; then it raises
    each panel's y limit so the labels sit in empty head room above the data.
    """
    fig = p.fig
    renderer = _layout(p)
    if not p.marker_labels:
        return
    pt = fig.dpi / 72.0
    by_ax: Dict[int, List[Tuple[float, Optional[float], str, str]]] = {}
    for i, x, x1, label, color in p.marker_labels:
        by_ax.setdefault(i, []).append((x, x1, label, color))
    for i, items in by_ax.items():
        ax = p.axes[i]
        box = ax.get_window_extent(renderer)
        base = blended_transform_factory(ax.transData, ax.transAxes)
        rows: List[List[Tuple[float, float]]] = []
        placed = []
        seen = set()
        for x, x1, label, color in sorted(items, key=lambda it: it[0]):
            if (x, label) in seen:  # the same intervention from several variants
                continue
            seen.add((x, label))
            t = ax.text(x, 1.0, label, transform=offset_copy(base, fig=fig, x=3, units="points"),
                        ha="left", va="top", fontsize=7.5, color=color, zorder=5,
                        bbox=dict(boxstyle="square,pad=0.15", fc="white", ec="none", alpha=0.85))
            ext = t.get_window_extent(renderer)
            xpx = ax.transData.transform((x, 0))[0]
            left, right = xpx + 3 * pt, xpx + 3 * pt + ext.width
            if right > box.x1 - 2:  # would run off the right edge: put it left of the line
                t.set_ha("right")
                t.set_transform(offset_copy(base, fig=fig, x=-3, units="points"))
                left, right = xpx - 3 * pt - ext.width, xpx - 3 * pt
            if x1 is not None:  # the bracket under the label occupies the interval too
                right = max(right, ax.transData.transform((x1, 0))[0])
            gap = 4 * pt
            for r, row in enumerate(rows):
                if all(right + gap <= a or left >= b + gap for a, b in row):
                    row.append((left, right))
                    break
            else:
                r = len(rows)
                rows.append([(left, right)])
            placed.append((t, r, ext.height, x, x1, color))
        text_h = max(pl[2] for pl in placed)
        row_h = text_h * 1.45
        pad = 2 * pt
        for t, r, _, x, x1, color in placed:
            top = 1.0 - (pad + r * row_h) / box.height
            t.set_y(top)
            if x1 is not None:
                yb = top - (text_h * 1.2) / box.height
                ax.plot([x, x1], [yb, yb], transform=base, color=color, lw=1.2,
                        marker="|", ms=5, mew=1.2, solid_capstyle="butt", zorder=5, clip_on=False)
        band = min(0.6, (2 * pad + len(rows) * row_h) / box.height)
        for a in [ax] + ([p.twins[i]] if i in p.twins else []):
            y0, y1 = a.get_ylim()
            a.set_ylim(y0, y0 + (y1 - y0) / (1.0 - band))


def _people_label(res: "Results") -> str:
    if res.scaled:
        return f"people (scaled from {res.n_agents:,} agents)"
    return "agents"


def _caption(res: "Results") -> str:
    R = res.n_replicates
    stats = (f"Lines: median of {R:,} replicates; shaded: 5–95 % of replicates."
             if R > 1 else "One replicate.")
    pop = res.scenario.population
    if res.scaled:
        scale = (f" {pop.agents:,} agents represent {format_number(pop.represents)} people "
                 f"(1 agent ≈ {format_number(res.people_per_agent)} people).")
    else:
        scale = f" {pop.agents:,} agents."
    return stats + scale


def _finish(p: _Panels, title: str, caption: str, tax: _TimeAxis) -> Figure:
    for i, ax in enumerate(p.axes):
        tax.decorate(ax, show_label=p.is_bottom(i))
    p.fig.suptitle(title, fontsize=13, fontweight="bold", x=0.01, ha="left")
    p.fig.supxlabel(caption, fontsize=7.5, color="0.35", x=0.01, ha="left")
    _place_marker_labels(p)
    return p.fig


def _layout(p: _Panels) -> Any:
    """Run the layout once (Agg, no pixels) and return the renderer.

    If a legend still runs past its column (the margins taken by tick labels were
    larger than allowed for), widen the figure by the overflow and lay out again.
    """
    fig = p.fig
    for _ in range(3):
        fig.draw_without_rendering()
        renderer = fig.canvas.get_renderer()
        over = [0.0] * p.ncols
        for i, lax in enumerate(p.legend_axes):
            for leg in lax.get_children():
                if isinstance(leg, matplotlib.legend.Legend):
                    c = i % p.ncols
                    over[c] = max(over[c], leg.get_window_extent(renderer).x1 - lax.bbox.x1)
        if max(over) <= 1.0:
            break
        # Ratios share out the inner widths: keep the panels' pixels, give each legend
        # column what it lacks, and widen the figure by exactly that.
        ratios, grow = [], 0.0
        for c in range(p.ncols):
            g = over[c] + 4.0 if over[c] > 1.0 else 0.0
            ratios += [p.axes[c].bbox.width, p.legend_axes[c].bbox.width + g]
            grow += g
        p.gridspec.set_width_ratios(ratios)
        fig.set_figwidth(fig.get_figwidth() + grow / fig.dpi)
    return renderer


def _legend(lax: Axes, handles: Sequence[Any], title: Optional[str] = None, *,
            loc: str = "upper left") -> Any:
    labels = [textwrap.fill(h.get_label(), 26) for h in handles]
    leg = matplotlib.legend.Legend(lax, list(handles), labels, loc=loc, title=title,
                                   alignment="left", borderaxespad=0.0, handlelength=2.2)
    lax.add_artist(leg)  # not lax.legend(): a panel may hold two legends
    return leg


def _counts_axis(ax: Axes, ylabel: str) -> None:
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(_human())
    ax.set_ylabel(ylabel)


# ----------------------------------------------------------------------- figures


@_styled
def plot_traits(results: "Results", meanfield: Optional[pd.DataFrame] = None) -> Figure:
    """One panel per trait, one colour per state: median and 5–95 % band over replicates.

    Parameters
    ----------
    results : a run's :class:`~rumorsim.results.Results`.
    meanfield : optional, ``rumorsim.meanfield.solve_meanfield``'s table (default: the
        run's own ``results.meanfield``, if any): drawn as dashed lines of the same colours.

    Returns
    -------
    Figure titled with the scenario name, interventions marked.
    """
    res = results
    tax = _time_axis(res.scenario)
    x = tax.x(res.times)
    p = _panels(len(res.info.traits), ncols=1)
    scale = res.people_per_agent
    for i, (trait, states) in enumerate(res.info.traits):
        ax = p.axes[i]
        colors = dict(zip(states, _distinct_colors(states)))
        handles = [_band_line(ax, x, res.count_array({trait: s}) * scale, colors[s], s)
                   for s in states]
        mf = meanfield if meanfield is not None else getattr(res, "meanfield", None)
        if mf is not None:
            handles += _meanfield_lines(ax, tax, mf, trait, colors, res.scenario)
        ax.set_title(trait)
        _counts_axis(ax, _people_label(res))
        _legend(p.legend_axes[i], handles, title=trait)
    _mark_interventions(p, res.info.interventions, tax, end=float(res.times[-1]))
    return _finish(p, res.scenario.name, _caption(res), tax)


# ----------------------------------------------------------------- mean field

#: How mean-field curves are drawn over the stochastic bands.
MEANFIELD_STYLE = {"ls": (0, (5, 3)), "lw": 1.6, "alpha": 0.95}


def _meanfield_lines(ax: Axes, tax: _TimeAxis, mf: pd.DataFrame, trait: str,
                     colors: Mapping[str, str], scenario: "Scenario") -> List[Any]:
    """Dashed mean-field lines (in the panel's unit: agents or people); one legend handle."""
    d = mf[mf.trait == trait]
    scaled = scenario.population.represents is not None
    for state, color in colors.items():
        rows = d[d.state == state]
        if len(rows):
            y = rows.people if scaled else rows.fraction * scenario.population.agents
            ax.plot(tax.x(rows.time.to_numpy()), y.to_numpy(), color=color, zorder=3, **MEANFIELD_STYLE)
    method = {"homogeneous": " (homogeneous)", "degree": " (degree-based)"}.get(mf.attrs.get("method"), "")
    return [Line2D([], [], color="0.2", label="mean field" + method, **MEANFIELD_STYLE)]


@_styled
def plot_meanfield(scenario: "Scenario", meanfield: pd.DataFrame, *, method: str = "homogeneous") -> Figure:
    """The mean-field curves alone: one panel per trait, one colour per state.

    Parameters
    ----------
    scenario : the scenario solved.
    meanfield : ``rumorsim.meanfield.solve_meanfield``'s table.
    method : named in the title.
    """
    tax = _time_axis(scenario)
    traits = list(scenario.traits.items())
    p = _panels(len(traits), ncols=1)
    scaled = scenario.population.represents is not None
    for i, (trait, states) in enumerate(traits):
        ax = p.axes[i]
        colors = dict(zip(states, _distinct_colors(states)))
        d = meanfield[meanfield.trait == trait]
        handles = []
        for state in states:
            rows = d[d.state == state]
            y = rows.people if scaled else rows.fraction * scenario.population.agents
            (line,) = ax.plot(tax.x(rows.time.to_numpy()), y.to_numpy(), color=colors[state], lw=2,
                              label=state)
            handles.append(line)
        ax.set_title(trait)
        _counts_axis(ax, "people" if scaled else "agents")
        _legend(p.legend_axes[i], handles, title=trait)
    markers = [m for m in _markers_of(scenario)]
    _mark_interventions(p, markers, tax, end=float(meanfield.time.max()))
    pop = scenario.population
    caption = (f"Mean field ({'degree-based' if method == 'degree' else 'homogeneous mixing'}): "
               f"the deterministic limit of many agents; {pop.agents:,} agents"
               + (f" representing {format_number(pop.represents)} people." if scaled else "."))
    return _finish(p, f"{scenario.name}: mean field", caption, tax)


def _markers_of(scenario: "Scenario") -> List[Any]:
    from .modelinfo import InterventionMarker

    return [InterventionMarker(name, iv.label or name, iv.kind, iv.at, iv.until)
            for name, iv in scenario.interventions.items()]


def _series_data(res: "Results", s: "SeriesSpec") -> Tuple[np.ndarray, str, str, str, float]:
    """(values (R, T), label, unit, colour key, alert level) of one dashboard series."""
    if s.state is not None:
        label = s.label or _condition_label(s.state)
        # one state per trait: colour as that state (the last named); a set of states
        # (e.g. "opened or shared") is its own thing: colour by its label
        vals = [[v] if isinstance(v, str) else list(v) for v in s.state.values()]
        key = vals[-1][0] if all(len(v) == 1 for v in vals) else label
        return (res.count_array(s.state) * res.people_per_agent, label,
                "people" if res.scaled else "agents", key, np.nan)
    if s.fired is not None:
        label = s.label or f"cumulative {' + '.join(s.fired)}"
        return (res.fired_array(s.fired) * res.people_per_agent, label,
                "people" if res.scaled else "agents", "+".join(s.fired), np.nan)
    values = res.signal_array(s.signal)  # raises a clear error for an unknown signal
    k = list(res.info.signal_names).index(s.signal)
    label = s.label or res.info.signal_labels[k] or s.signal
    return (values, label, res.info.signal_units[k] or "", s.signal,
            float(res.info.signal_alert_above[k]))


def _condition_label(cond: Mapping[str, Any]) -> str:
    parts = []
    for trait, v in cond.items():
        parts.append(" or ".join([v] if isinstance(v, str) else list(v)))
    return " & ".join(parts)


def _is_share(unit: str, values: Sequence[np.ndarray]) -> bool:
    if not is_share_unit(unit):
        return False
    return all(np.nanmin(v) >= -1e-9 and np.nanmax(v) <= 1 + 1e-9 for v in values)


def _style_value_axis(ax: Axes, unit: str, values: List[np.ndarray], ylabel: Optional[str],
                      people_label: str, kinds: List[str]) -> None:
    if all(k != "signal" for k in kinds):
        _counts_axis(ax, ylabel or people_label)
        return
    if _is_share(unit, values):
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_locator(FixedLocator([0, 0.25, 0.5, 0.75, 1.0]))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    else:
        ax.set_ylim(bottom=min(0.0, float(min(np.nanmin(v) for v in values))))
        ax.yaxis.set_major_formatter(_human())
    ax.set_ylabel(ylabel or unit or "value")


def _series_kind(s: "SeriesSpec") -> str:
    return "state" if s.state is not None else "fired" if s.fired is not None else "signal"


@_styled
def plot_dashboard(results: "Results") -> Figure:
    """The crisis dashboard defined by ``scenario.dashboard`` (or :func:`plot_traits`).

    Each panel shows its series (state counts, cumulative firings, signals) as median
    lines with 5–95 % bands; series with ``axis: right`` go on a twin axis (a share on
    0–100 %). Signals with an alert level get a dashed line and shaded spans where
    their median is above it.

    Parameters
    ----------
    results : a run's :class:`~rumorsim.results.Results`.
    """
    res = results
    panels = res.scenario.dashboard
    if not panels:
        return plot_traits(res)
    tax = _time_axis(res.scenario)
    x = tax.x(res.times)
    p = _panels(len(panels))
    people = _people_label(res)
    for i, panel in enumerate(panels):
        ax = p.axes[i]
        data = [(s, *_series_data(res, s)) for s in panel.series]
        colors = _distinct_colors([d[4] for d in data])
        color_of = {id(d[0]): c for d, c in zip(data, colors)}
        handles: List[Any] = []
        for side in ("left", "right"):
            on_side = [d for d in data if d[0].axis == side]
            if not on_side:
                continue
            a = ax if side == "left" else p.twin(i)
            for s, values, label, unit, key, alert in on_side:
                suffix = " (right axis)" if side == "right" and any(
                    d[0].axis == "left" for d in data) else ""
                handles.append(_band_line(a, x, values, color_of[id(s)], label + suffix,
                                          ls="-" if side == "left" else "--"))
                handles += _alert(a, x, values, alert, unit)
            _style_value_axis(
                a, on_side[0][3], [d[1] for d in on_side],
                panel.ylabel if side == "left" else panel.right_ylabel, people,
                [_series_kind(d[0]) for d in on_side])
        ax.set_title(panel.title)
        _legend(p.legend_axes[i], handles)
    _mark_interventions(p, res.info.interventions, tax, end=float(res.times[-1]))
    return _finish(p, res.scenario.name, _caption(res), tax)


@_styled
def plot_signals(results: "Results") -> Optional[Figure]:
    """One panel per signal (median and band, alert level shaded); None without signals.

    Parameters
    ----------
    results : a run's :class:`~rumorsim.results.Results`.
    """
    res = results
    names = list(res.info.signal_names)
    if not names:
        return None
    tax = _time_axis(res.scenario)
    x = tax.x(res.times)
    p = _panels(len(names))
    colors = dict(zip(names, _distinct_colors(names)))
    for i, name in enumerate(names):
        ax = p.axes[i]
        values = res.signal_array(name)
        label = res.info.signal_labels[i] or name
        unit = res.info.signal_units[i] or ""
        handles = [_band_line(ax, x, values, colors[name], label)]
        handles += _alert(ax, x, values, float(res.info.signal_alert_above[i]), unit)
        _style_value_axis(ax, unit, [values], None, "", ["signal"])
        ax.set_ylabel(unit or "value")
        ax.set_title(label)
        _legend(p.legend_axes[i], handles)
    _mark_interventions(p, res.info.interventions, tax, end=float(res.times[-1]))
    return _finish(p, f"{res.scenario.name}: signals", _caption(res), tax)


# ----------------------------------------------------------------------- what-if


@_styled
def plot_variants(variant_results: Mapping[str, "Results"],
                  outcome_table: Optional[pd.DataFrame] = None) -> Figure:
    """Overlay what-if variants: one colour per variant (the first is the baseline, in black).

    Panels follow the baseline's dashboard, or one panel per trait showing every
    state but the first (the starting state, which mirrors the others). Within a
    panel, line style tells the series apart. Interventions common to all variants are
    grey; those specific to a variant are drawn in its colour.

    Parameters
    ----------
    variant_results : ``{variant name: Results}``, baseline first.
    outcome_table : optional ``compare_df`` (see :func:`plot_outcome_comparison`);
        when given, a table of medians and 90 % intervals is added below the panels.
    """
    if not variant_results:
        raise ValueError("plot_variants needs at least one variant")
    names = list(variant_results)
    base = variant_results[names[0]]
    vcolor = {n: _VARIANT_COLORS[k % len(_VARIANT_COLORS)] for k, n in enumerate(names)}
    if base.scenario.dashboard:
        panel_specs = [(pl.title, list(pl.series), pl.ylabel, pl.right_ylabel)
                       for pl in base.scenario.dashboard]
    else:
        panel_specs = [(trait, [SeriesSpec(state={trait: s}, label=s) for s in states[1:]
                                or states], None, None)
                       for trait, states in base.info.traits]
    with_table = outcome_table is not None and len(outcome_table) > 0
    p = _panels(len(panel_specs), footer_h=(0.7 + 0.28 * len(names)) if with_table else 0.0)
    tax = _time_axis(base.scenario)
    people = _people_label(base)
    for i, (title, series, ylabel, right_ylabel) in enumerate(panel_specs):
        ax = p.axes[i]
        style_handles = []
        sides: Dict[str, List[Tuple[str, np.ndarray, str]]] = {"left": [], "right": []}
        for j, s in enumerate(series):
            side_ax = ax if s.axis == "left" else p.twin(i)
            ls = _LINESTYLES[j % len(_LINESTYLES)]
            label = None
            for vname, res in variant_results.items():
                try:
                    values, label, unit, _, _ = _series_data(res, s)
                except ScenarioError:  # this variant lacks the series (e.g. a signal)
                    continue
                _band_line(side_ax, tax.x(res.times), values, vcolor[vname], label, ls=ls,
                           lw=1.8, band_alpha=0.10)
                sides[s.axis].append((unit, values, _series_kind(s)))
            if label is not None:
                right = " (right axis)" if s.axis == "right" else ""
                style_handles.append(Line2D([], [], color="0.2", ls=ls, lw=1.8, label=label + right))
        for side, got in sides.items():  # style once all lines are drawn (limits!)
            if got:
                _style_value_axis(ax if side == "left" else p.twin(i), got[0][0],
                                  [g[1] for g in got], ylabel if side == "left" else right_ylabel,
                                  people, [g[2] for g in got])
        one = len(style_handles) == 1
        ax.set_title(f"{title}: {style_handles[0].get_label()}" if one and
                     style_handles[0].get_label() != title else title)
        var_handles = [Line2D([], [], color=vcolor[n], lw=2.5, label=n) for n in names]
        _legend(p.legend_axes[i], var_handles, title="variant")
        if len(style_handles) > 1:
            _legend(p.legend_axes[i], style_handles, title="line style", loc="lower left")
    # interventions: grey if every variant has it; else in the colour of the (first)
    # variant that has it, its label naming the variants
    owners: Dict[Tuple[str, float, Optional[float], str], List[str]] = {}
    first: Dict[Tuple[str, float, Optional[float], str], Any] = {}
    for vname, res in variant_results.items():
        for m in res.info.interventions:
            key = (m.name, m.at, m.until, m.label)
            owners.setdefault(key, []).append(vname)
            first.setdefault(key, m)

    def label_of(m: Any) -> Tuple[str, str]:
        who = owners[(m.name, m.at, m.until, m.label)]
        text = m.label or m.name
        if len(who) == len(names):
            return text, _MARKER_COLOR
        return f"{text} ({', '.join(who)})", vcolor[who[0]]

    _mark_interventions(p, list(first.values()), tax, end=float(base.times[-1]),
                        label_of=label_of)
    if with_table and p.footer is not None:
        _outcome_table(p.footer, outcome_table, names, time_unit=base.scenario.time.unit)
    cap = _caption(base).replace("Lines: median", "Lines: median per variant")
    return _finish(p, f"{base.scenario.name}: what-if comparison", cap, tax)


def _outcome_table(ax: Axes, table: pd.DataFrame, variants: List[str], *,
                   time_unit: Optional[str] = None) -> None:
    """A small table (variants x outcomes, "median (low–high)") in ``ax``; 6 outcomes at most."""
    outcomes = list(dict.fromkeys(table["outcome"]))[:6]
    rows = []
    for v in variants:
        row = []
        for o in outcomes:
            r = table[(table["variant"] == v) & (table["outcome"] == o)]
            if r.empty:
                row.append("")
                continue
            unit = str(r["unit"].iloc[0]) if "unit" in r.columns else ""
            f = functools.partial(format_value, unit=unit, time_unit=time_unit)
            row.append(f"{f(r['median'].iloc[0])}\n({f(r['low'].iloc[0])} – {f(r['high'].iloc[0])})")
        rows.append(row)
    labels = []
    for o in outcomes:
        r = table[table["outcome"] == o]
        labels.append(str(r["label"].iloc[0]) if "label" in table and len(r) else o)
    tab = ax.table(cellText=rows, rowLabels=variants,
                   colLabels=[textwrap.fill(c, 22) for c in labels],
                   bbox=(0.14, 0.0, 0.86, 1.0), cellLoc="center")
    tab.auto_set_font_size(False)
    tab.set_fontsize(7.5)
    for cell in tab.get_celld().values():
        cell.set_edgecolor("0.8")
    ax.set_title("Outcomes: median (90 % interval of replicates)", fontsize=9)


@_styled
def plot_outcome_comparison(compare_df: pd.DataFrame) -> Figure:
    """Dot-and-interval chart of each outcome per variant, and the paired difference.

    Parameters
    ----------
    compare_df : columns ``variant, outcome, median, low, high, diff_median, diff_low,
        diff_high`` (optionally ``label`` and ``unit``); the first variant listed is the
        baseline. ``low``/``high`` are the 5th/95th percentiles over replicates.

    Returns
    -------
    Figure with one row per outcome: values (left) and difference vs baseline (right).
    """
    need = ["variant", "outcome", "median", "low", "high", "diff_median", "diff_low", "diff_high"]
    missing = [c for c in need if c not in compare_df.columns]
    if missing:
        raise ValueError(f"compare_df lacks columns {missing}; it needs {need}")
    variants = list(dict.fromkeys(compare_df["variant"]))
    outcomes = list(dict.fromkeys(compare_df["outcome"]))
    vcolor = {n: _VARIANT_COLORS[k % len(_VARIANT_COLORS)] for k, n in enumerate(variants)}
    row_h = 0.32 * len(variants) + 0.75
    fig = _new_figure(11.0, row_h * len(outcomes) + 1.1)
    axes = fig.subplots(len(outcomes), 2, squeeze=False, gridspec_kw={"width_ratios": [1, 1]})
    y = np.arange(len(variants))[::-1]
    for r, o in enumerate(outcomes):
        d = compare_df[compare_df["outcome"] == o].set_index("variant")
        label = str(d["label"].iloc[0]) if "label" in d.columns else o
        unit = str(d["unit"].iloc[0]) if "unit" in d.columns and pd.notna(d["unit"].iloc[0]) else ""
        ax, dx = axes[r]
        for k, v in enumerate(variants):
            if v not in d.index:
                continue
            row = d.loc[v]
            ax.errorbar(row["median"], y[k], xerr=[[max(row["median"] - row["low"], 0)],
                                                   [max(row["high"] - row["median"], 0)]],
                        fmt="o", color=vcolor[v], capsize=3, ms=6, lw=1.6)
            if k == 0:
                dx.annotate("baseline", (0.5, y[k]), xycoords=("axes fraction", "data"),
                            ha="center", va="center", fontsize=8, color="0.35")
            elif pd.notna(row["diff_median"]):
                dx.errorbar(row["diff_median"], y[k],
                            xerr=[[max(row["diff_median"] - row["diff_low"], 0)],
                                  [max(row["diff_high"] - row["diff_median"], 0)]],
                            fmt="o", color=vcolor[v], capsize=3, ms=6, lw=1.6)
        dx.axvline(0, color="0.4", lw=0.9)
        share = is_share_unit(unit)
        for a in (ax, dx):
            a.set_yticks(y, variants)
            a.set_ylim(-0.6, len(variants) - 0.4)
            a.xaxis.set_major_formatter(PercentFormatter(1.0) if share else _human())
            a.grid(axis="y", visible=False)
        dx.tick_params(labelleft=False)
        ax.set_title(label)
        ax.set_xlabel(unit or "value")
        dx.set_title(f"{_short(label, 40)}: difference vs {variants[0]}")
        dx.set_xlabel("difference (percentage points)" if share
                      else f"difference ({unit})" if unit else "difference")
    fig.suptitle("What-if comparison: outcomes by variant", fontsize=13, fontweight="bold",
                 x=0.01, ha="left")
    fig.supxlabel("Dots: median over replicates; bars: 90 % interval (5th–95th percentile). "
                  f"Differences are paired replicate by replicate against {variants[0]}.",
                  fontsize=7.5, color="0.35", x=0.01, ha="left")
    return fig


# ----------------------------------------------------------------------- sweeps


@_styled
def plot_sweep_heatmap(df: pd.DataFrame, x: str, y: str, value: str, *, title: str,
                       aggregate: str = "median") -> Figure:
    """Heatmap of ``value`` over a two-parameter grid (replicates aggregated per cell).

    Parameters
    ----------
    df : tidy sweep results with columns ``x``, ``y`` and ``value``.
    x, y : the two swept parameters.
    value : the outcome to colour by.
    title : figure title.
    aggregate : how replicates in one cell combine (any pandas aggregation name).
    """
    for c in (x, y, value):
        if c not in df.columns:
            raise ValueError(f"column `{c}` not in the sweep table (columns: {list(df.columns)})")
    grid = df.pivot_table(index=y, columns=x, values=value, aggfunc=aggregate).sort_index()
    grid = grid.reindex(sorted(grid.columns), axis=1)
    ny, nx_ = grid.shape
    fig = _new_figure(min(2.5 + 0.75 * nx_, 14.0), min(2.0 + 0.5 * ny, 11.0))
    ax = fig.add_subplot()
    ax.grid(False)
    mesh = ax.pcolormesh(np.arange(nx_ + 1), np.arange(ny + 1), grid.to_numpy(dtype=float),
                         cmap="viridis", shading="flat")
    ax.set_xticks(np.arange(nx_) + 0.5, [format_number(v) if isinstance(v, (int, float, np.number))
                                          else str(v) for v in grid.columns])
    ax.set_yticks(np.arange(ny) + 0.5, [format_number(v) if isinstance(v, (int, float, np.number))
                                         else str(v) for v in grid.index])
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y.replace("_", " "))
    cb = fig.colorbar(mesh, ax=ax)
    cb.set_label(f"{value.replace('_', ' ')} ({aggregate} over replicates)")
    cb.formatter = _human()
    cb.update_ticks()
    if nx_ * ny <= 225:
        vals = grid.to_numpy(dtype=float)
        finite = vals[np.isfinite(vals)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0
        for r in range(ny):
            for c in range(nx_):
                v = vals[r, c]
                ax.text(c + 0.5, r + 0.5, format_number(v), ha="center", va="center",
                        fontsize=7.5, color="black" if v > mid else "white")
    fig.suptitle(title, fontsize=13, fontweight="bold", x=0.01, ha="left")
    return fig


# ----------------------------------------------------------------------- networks


def _check_small(layer: Any) -> int:
    n = int(layer.n_agents)
    if n > MAX_SNAPSHOT_AGENTS:
        raise OutputError(
            f"network pictures draw at most {MAX_SNAPSHOT_AGENTS:,} agents; this layer has {n:,}",
            suggestion="Plot a smaller scenario (e.g. --set population.agents=500) or use "
            "the time-series figures",
        )
    return n


def _edges(layer: Any) -> np.ndarray:
    """Undirected edge list (E, 2), each pair once, from a CSR out-edge layer.

    A complete layer (stored implicitly) gives every pair when it is small enough to
    draw (60 agents), else no edges: a hairball of every pair shows nothing.
    """
    if getattr(layer, "complete", False):
        n = int(layer.n_agents)
        return np.array(np.triu_indices(n, 1)).T if n <= 60 else np.zeros((0, 2), np.int64)
    indptr = np.asarray(layer.indptr, dtype=np.int64)
    src = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    dst = np.asarray(layer.indices, dtype=np.int64)
    pairs = np.sort(np.stack([src, dst], axis=1), axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.unique(pairs, axis=0) if len(pairs) else pairs.reshape(0, 2)


def network_layout(layer: Any, *, seed: int = 0) -> np.ndarray:
    """Spring layout positions (n_agents, 2) of a small layer, reproducible with ``seed``."""
    import networkx as nx

    n = _check_small(layer)
    if getattr(layer, "complete", False):  # every agent alike: a circle says it best
        a = 2 * np.pi * np.arange(n) / max(n, 1)
        return np.c_[np.cos(a), np.sin(a)]
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(map(tuple, _edges(layer)))
    try:
        pos = nx.spring_layout(g, seed=seed)
    except ImportError:  # the fast method for big graphs needs scipy
        pos = nx.spring_layout(g, seed=seed, method="force")
    return np.array([pos[i] for i in range(n)], dtype=float)


def _trait_index(info: "ModelInfo", trait: Optional[str]) -> int:
    names = [t for t, _ in info.traits]
    if trait is None:
        return 0
    if trait not in names:
        raise ValueError(f"unknown trait `{trait}`; traits are {names}")
    return names.index(trait)


def _draw_network(ax: Axes, layer: Any, pos: np.ndarray) -> Any:
    e = _edges(layer)
    ax.add_collection(LineCollection(pos[e], colors="0.6", linewidths=0.4, alpha=0.35, zorder=1))
    n = len(pos)
    size = float(np.clip(3000.0 / max(n, 1), 4.0, 60.0))
    sc = ax.scatter(pos[:, 0], pos[:, 1], s=size, zorder=2, linewidths=0.3, edgecolors="white")
    ax.set_aspect("equal")
    ax.axis("off")
    return sc


@_styled
def plot_network_snapshot(layer: Any, agent_states: np.ndarray, info: "ModelInfo", *,
                          ax: Optional[Axes] = None, layout_seed: int = 0,
                          trait: Optional[str] = None, positions: Optional[np.ndarray] = None,
                          title: Optional[str] = None) -> Figure:
    """Draw a small network with nodes coloured by one trait's state.

    Parameters
    ----------
    layer : a network layer with CSR ``indptr``, ``indices`` and ``n_agents``.
    agent_states : joint state code of every agent (n_agents,).
    info : the model's :class:`~rumorsim.model.ModelInfo` (to decode joint states).
    ax : draw into this axes (its figure is returned) instead of a new figure.
    layout_seed : seed of the spring layout.
    trait : which trait colours the nodes (default: the first).
    positions : precomputed layout (n_agents, 2), e.g. from :func:`network_layout`.
    title : panel title (default: the trait name).

    Raises
    ------
    OutputError
        The layer has more than ``MAX_SNAPSHOT_AGENTS`` agents.
    """
    n = _check_small(layer)
    k = _trait_index(info, trait)
    tname, states = info.traits[k]
    codes = np.asarray(agent_states, dtype=np.int64)
    if codes.shape != (n,):
        raise ValueError(f"agent_states has shape {codes.shape}, expected ({n},)")
    pos = network_layout(layer, seed=layout_seed) if positions is None else np.asarray(positions)
    if ax is None:
        fig = _new_figure(7.5, 6.5)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    sc = _draw_network(ax, layer, pos)
    colors = dict(zip(states, _distinct_colors(states)))
    idx = np.asarray(info.joint_states)[codes, k]
    sc.set_facecolor([colors[states[j]] for j in idx])
    counts = np.bincount(idx, minlength=len(states))
    handles = [Line2D([], [], marker="o", ls="", color=colors[s], label=f"{s} ({counts[j]:,})")
               for j, s in enumerate(states)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), title=tname)
    ax.set_title(title or f"{tname}: {n:,} agents")
    return fig


@_styled
def animate_network(layer: Any, agent_state_history: np.ndarray, info: "ModelInfo",
                    path: Union[str, os.PathLike], *, trait: Optional[str] = None,
                    times: Optional[Sequence[float]] = None, time_unit: str = "",
                    fps: int = 4, layout_seed: int = 0) -> Path:
    """Write a GIF of a small network's states over time (one frame per row).

    Parameters
    ----------
    layer : a network layer with CSR ``indptr``, ``indices`` and ``n_agents``.
    agent_state_history : joint state codes, shape (n_frames, n_agents).
    info : the model's :class:`~rumorsim.model.ModelInfo`.
    path : the GIF to write (replaced atomically).
    trait : which trait colours the nodes (default: the first).
    times, time_unit : frame times for the frame titles.
    fps : frames per second.
    layout_seed : seed of the spring layout (the same for every frame).

    Raises
    ------
    OutputError
        The layer is too large, or Pillow (needed for GIFs) is not installed.
    """
    from matplotlib.animation import FuncAnimation, PillowWriter

    if not PillowWriter.isAvailable():
        raise OutputError("writing a GIF needs the Pillow package, which is not installed",
                          suggestion="pip install pillow")
    hist = np.asarray(agent_state_history, dtype=np.int64)
    n = _check_small(layer)
    if hist.ndim != 2 or hist.shape[1] != n:
        raise ValueError(f"agent_state_history has shape {hist.shape}, expected (frames, {n})")
    k = _trait_index(info, trait)
    tname, states = info.traits[k]
    colors = dict(zip(states, _distinct_colors(states)))
    rgb = np.array([matplotlib.colors.to_rgba(colors[s]) for s in states])
    decoded = np.asarray(info.joint_states)[hist, k]
    pos = network_layout(layer, seed=layout_seed)
    fig = _new_figure(7.5, 6.5)
    ax = fig.add_subplot()
    sc = _draw_network(ax, layer, pos)
    handles = [Line2D([], [], marker="o", ls="", color=colors[s], label=s) for s in states]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), title=tname)

    def frame(f: int) -> Tuple[Any, ...]:
        sc.set_facecolor(rgb[decoded[f]])
        when = f"t = {times[f]:g} {time_unit}".rstrip() if times is not None else f"frame {f}"
        counts = np.bincount(decoded[f], minlength=len(states))
        ax.set_title(f"{tname} — {when}: " + ", ".join(
            f"{s} {c:,}" for s, c in zip(states, counts)))
        return (sc,)

    frame(0)
    anim = FuncAnimation(fig, frame, frames=len(hist), blit=False)
    path = Path(path)
    with replacing(path, suffix=".gif") as tmp:  # the writer picks the format by extension
        anim.save(tmp, writer=PillowWriter(fps=fps))
    return path


# ----------------------------------------------------------------------- saving


def standard_figures(results: "Results") -> Iterator[Tuple[str, Figure]]:
    """The figures a run directory gets, one at a time: ``(name, Figure)``.

    ``traits`` always; ``dashboard`` when the scenario defines one; ``signals`` when
    it has signals.
    """
    yield "traits", plot_traits(results)
    if results.scenario.dashboard:
        yield "dashboard", plot_dashboard(results)
    if len(results.info.signal_names):
        fig = plot_signals(results)
        if fig is not None:
            yield "signals", fig


def save_figure(fig: Figure, base: Union[str, os.PathLike], *, formats: Sequence[str] = ("png", "svg"),
                dpi: int = 150, atomic: bool = True) -> List[Path]:
    """Save ``fig`` as ``base.png`` and ``base.svg`` (each replaced atomically).

    SVGs carry no date and fixed ids, so the same figure gives the same bytes.
    """
    base = Path(base)
    out = []
    with matplotlib.rc_context({"svg.hashsalt": "rumorsim"}):
        for fmt in formats:
            target = base.with_name(f"{base.name}.{fmt}")
            meta = {"Date": None} if fmt == "svg" else {"Software": "rumorsim"} if fmt == "png" else None
            if atomic:
                with replacing(target, suffix=f".{fmt}") as tmp:
                    fig.savefig(tmp, format=fmt, dpi=dpi, metadata=meta)
            else:
                fig.savefig(target, format=fmt, dpi=dpi, metadata=meta)
            out.append(target)
    return out
