"""Figures of a sweep: pure functions from its tables to matplotlib Figures.

- :func:`plot_sweep_curves`: a 1-D sweep, each outcome against the parameter, the
  median over replicates with the 5-95 % band of replicates;
- :func:`plot_sweep_heatmap` (in :mod:`rumorsim.plots`) with :func:`add_contour`: a 2-D
  grid, the median in each cell and the line where it crosses a chosen level;
- :func:`plot_sweep_scatter`: sampled designs (lhs, sobol, morris), each point's
  replicate mean against each parameter;
- :func:`plot_sensitivity`: Sobol S1 and ST (or Morris mu* and sigma) with their
  confidence intervals, and the share of each outcome's variance that is replicate noise.

:func:`write_sweep_figures` draws what fits a sweep directory into ``DIR/figures``; the
CLI, ``rumorsim report`` and the notebooks call the same functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .formatting import format_number
from .plots import _human, _new_figure, _styled, plot_sweep_heatmap, save_figure

#: Most outcomes drawn in one figure (the others are in the tables).
MAX_OUTCOMES = 6


def outcome_labels(base_yaml: Dict[str, Any], outcomes: Sequence[str]) -> Dict[str, str]:
    """``{outcome: "label (unit)"}`` from the base scenario's YAML data."""
    specs = base_yaml.get("outcomes") or {}
    unit_time = (base_yaml.get("time") or {}).get("unit", "time unit")
    signals = base_yaml.get("signals") or {}
    out = {}
    for o in outcomes:
        s = specs.get(o) or {}
        label = s.get("label") or o.replace("_", " ")
        if any(k in s for k in ("peak", "final", "ever")) or not s:
            unit = "people"
        elif any(k in s for k in ("time_above", "time_of_peak")):
            unit = unit_time
        else:
            unit = (signals.get(s.get("signal_peak"), {}) or {}).get("unit") or ""
        out[o] = f"{label} ({unit})" if unit else label
    return out


@_styled
def plot_sweep_curves(points: pd.DataFrame, parameter: str, outcomes: Sequence[str], *, title: str,
                      labels: Optional[Dict[str, str]] = None, replicates: Optional[int] = None,
                      log_x: bool = False, x_label: Optional[str] = None) -> Figure:
    """Each outcome against one parameter: median and 5-95 % band of replicates.

    ``points`` is the sweep's points table (columns ``<outcome>_median/_p5/_p95``).
    """
    outcomes = list(outcomes)[:MAX_OUTCOMES]
    labels = labels or {}
    n = len(outcomes)
    ncols = 1 if n == 1 else 2
    nrows = (n + ncols - 1) // ncols
    fig = _new_figure(5.6 * ncols, 3.4 * nrows + 0.9)
    p = points.sort_values(parameter)
    x = p[parameter].to_numpy(float)
    for i, o in enumerate(outcomes):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        ax.fill_between(x, p[f"{o}_p5"], p[f"{o}_p95"], color="#1f77b4", alpha=0.2, lw=0,
                        label="5-95 % of replicates")
        ax.plot(x, p[f"{o}_median"], color="#1f77b4", lw=1.8, marker="o", ms=3.5, label="median")
        ax.set_title(labels.get(o, o))
        ax.set_xlabel(x_label or parameter)
        ax.yaxis.set_major_formatter(_human())
        if log_x:
            ax.set_xscale("log")
        if i == 0:
            ax.legend(loc="best")
    reps = f"{replicates} replicates per point; " if replicates else ""
    fig.suptitle(title, fontsize=12, fontweight="bold", x=0.01, ha="left")
    fig.text(0.01, 0.005, f"{reps}line: median over replicates; band: 5-95 % of replicates.",
             fontsize=7.5, color="0.35", ha="left", va="bottom")
    fig.set_layout_engine("tight", rect=(0, 0.03, 1, 0.95))
    return fig


def add_contour(fig: Figure, rows: pd.DataFrame, x: str, y: str, value: str, level: float,
                aggregate: str = "median") -> bool:
    """Draw the line where the aggregated ``value`` crosses ``level`` on a heatmap made by
    :func:`rumorsim.plots.plot_sweep_heatmap` (cells are unit squares in grid order).

    Returns False (and draws nothing) when the level is outside the data's range.
    """
    grid = rows.pivot_table(index=y, columns=x, values=value, aggfunc=aggregate).sort_index()
    grid = grid.reindex(sorted(grid.columns), axis=1)
    z = grid.to_numpy(float)
    if not (np.nanmin(z) < level < np.nanmax(z)) or min(z.shape) < 2:
        return False
    ax = fig.axes[0]
    cx = np.arange(z.shape[1]) + 0.5
    cy = np.arange(z.shape[0]) + 0.5
    ax.contour(cx, cy, z, levels=[level], colors="white", linewidths=2.2, linestyles="--")
    return True


@_styled
def plot_sweep_scatter(points: pd.DataFrame, parameters: Sequence[str], outcomes: Sequence[str], *,
                       title: str, labels: Optional[Dict[str, str]] = None,
                       log_parameters: Sequence[str] = ()) -> Figure:
    """Replicate mean of each outcome (rows) against each parameter (columns); parameters
    in ``log_parameters`` (sampled on a log scale) get a log axis."""
    outcomes = list(outcomes)[:4]
    parameters = list(parameters)[:6]
    labels = labels or {}
    nr, nc = len(outcomes), len(parameters)
    fig = _new_figure(2.9 * nc + 0.6, 2.5 * nr + 0.9)
    ok = points[points["status"] == "ok"]
    for i, o in enumerate(outcomes):
        for j, prm in enumerate(parameters):
            ax = fig.add_subplot(nr, nc, i * nc + j + 1)
            ax.scatter(ok[prm], ok[f"{o}_mean"], s=7, alpha=0.6, color="#1f77b4", lw=0)
            ax.yaxis.set_major_formatter(_human())
            if prm in log_parameters:
                ax.set_xscale("log")
            if i == nr - 1:
                ax.set_xlabel(prm, fontsize=8)
            if j == 0:
                ax.set_ylabel(labels.get(o, o), fontsize=8)
            else:
                ax.tick_params(labelleft=False)
    fig.suptitle(title, fontsize=12, fontweight="bold", x=0.01, ha="left")
    fig.text(0.01, 0.005, "each dot: one point of the design, the mean over its replicates",
             fontsize=7.5, color="0.35", ha="left", va="bottom")
    fig.set_layout_engine("tight", rect=(0, 0.03, 1, 0.95))
    return fig


@_styled
def plot_sensitivity(indices: pd.DataFrame, variance: Optional[pd.DataFrame] = None, *,
                     design: str = "sobol", title: str = "Sensitivity analysis",
                     labels: Optional[Dict[str, str]] = None) -> Figure:
    """Sobol S1/ST (or Morris mu*/sigma) per parameter with confidence intervals, one
    panel per outcome; the panel title says how much variance is replicate noise."""
    outcomes = list(dict.fromkeys(indices["outcome"]))[:MAX_OUTCOMES]
    labels = labels or {}
    params = list(dict.fromkeys(indices["parameter"]))
    n = len(outcomes)
    ncols = 1 if n == 1 else 2
    nrows = (n + ncols - 1) // ncols
    fig = _new_figure(6.2 * ncols, (0.45 * len(params) + 1.4) * nrows + 1.0)
    share = {} if variance is None else dict(zip(variance["outcome"], variance["replicate_share"]))
    ypos = np.arange(len(params))
    if design == "sobol":  # one scale for every panel, whiskers included
        ends = np.r_[(indices["S1"] - indices["S1_conf"]).to_numpy(float),
                     (indices["ST"] - indices["ST_conf"]).to_numpy(float),
                     (indices["S1"] + indices["S1_conf"]).to_numpy(float),
                     (indices["ST"] + indices["ST_conf"]).to_numpy(float)]
        xlim = (min(-0.05, float(np.nanmin(ends)) - 0.02), max(1.05, float(np.nanmax(ends)) + 0.02))
    for i, o in enumerate(outcomes):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        t = indices[indices["outcome"] == o].set_index("parameter").reindex(params)
        if design == "sobol":
            h = 0.38
            ax.barh(ypos - h / 2, t["S1"], h, xerr=t["S1_conf"], color="#1f77b4", label="S1 (first order)",
                    error_kw={"lw": 0.9, "capsize": 2})
            ax.barh(ypos + h / 2, t["ST"], h, xerr=t["ST_conf"], color="#ff7f0e", label="ST (total)",
                    error_kw={"lw": 0.9, "capsize": 2})
            ax.set_xlabel("Sobol index (share of the variance of the replicate means)")
            ax.axvline(0, color="0.3", lw=0.8)
            ax.set_xlim(*xlim)
        else:
            ax.barh(ypos, t["mu_star"], 0.6, xerr=t["mu_star_conf"], color="#1f77b4", label="mu* (mean |effect|)",
                    error_kw={"lw": 0.9, "capsize": 2})
            ax.plot(t["sigma"], ypos, "D", color="#d62728", ms=5, label="sigma (interactions, non-linearity)")
            ax.set_xlabel("elementary effect (outcome units per parameter range)")
            ax.xaxis.set_major_formatter(_human())
        ax.set_yticks(ypos, params, fontsize=8)
        ax.invert_yaxis()
        note = (f"\nreplicate noise: {share[o]:.0%} of its variance" if o in share and np.isfinite(share[o])
                else "")
        ax.set_title(labels.get(o, o) + note, fontsize=9)
        ax.grid(axis="y", visible=False)
        if i == 0:
            ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(title, fontsize=12, fontweight="bold", x=0.01, ha="left")
    fig.text(0.01, 0.005, "bars: estimates on the means over replicates; whiskers: 95 % bootstrap "
             "confidence intervals (SALib)", fontsize=7.5, color="0.35", ha="left", va="bottom")
    fig.set_layout_engine("tight", rect=(0, 0.03, 1, 0.95))
    return fig


def write_sweep_figures(out: Path) -> List[Path]:
    """Draw the figures that fit the sweep in ``out`` into ``out/figures``; return the files."""
    import yaml

    from .sweepdir import read_sweep

    out = Path(out)
    meta, rows, points = read_sweep(out)
    base = yaml.safe_load((out / "base_scenario.yaml").read_text(encoding="utf-8")) or {}
    resolved = yaml.safe_load((out / "sweep.yaml").read_text(encoding="utf-8")) or {}
    labels = outcome_labels(base, meta["outcomes"])
    params = meta["parameters"]
    plabel = {p: (resolved.get("parameters", {}).get(p, {}) or {}).get("label") or p for p in params}
    outcomes = meta["outcomes"]
    title = meta.get("name") or out.name
    figdir = out / "figures"
    figdir.mkdir(exist_ok=True)
    written: List[Path] = []
    if not len(rows):
        return written
    ok = points[points["status"] == "ok"]
    if meta["design"] == "grid" and len(params) == 1:
        log_x = (resolved.get("parameters", {}).get(params[0], {}) or {}).get("scale") == "log"
        fig = plot_sweep_curves(ok, params[0], outcomes, title=title, labels=labels,
                                replicates=meta.get("replicates"), log_x=log_x, x_label=plabel[params[0]])
        written += save_figure(fig, figdir / "sweep_curves")
    elif meta["design"] == "grid":
        x, y = params[0], params[1]
        contour = meta.get("contour") or {}
        chosen = [contour["outcome"]] if contour.get("outcome") else []
        chosen += [o for o in outcomes if o not in chosen]
        for o in chosen[:4]:
            fig = plot_sweep_heatmap(rows, x, y, o, title=f"{title}: {labels.get(o, o)}")
            fig.axes[0].set_xlabel(plabel[x] if plabel[x] == x else f"{plabel[x]}\n{x}")
            fig.axes[0].set_ylabel(plabel[y] if plabel[y] == y else f"{plabel[y]}\n{y}")
            fig.axes[1].set_ylabel(f"{labels.get(o, o)}, median over replicates")
            if contour.get("outcome") == o:
                drawn = add_contour(fig, rows, x, y, o, float(contour["level"]))
                if drawn:
                    fig.axes[0].set_title(f"dashed line: median = {format_number(float(contour['level']))}",
                                          fontsize=8.5, loc="left", fontweight="normal")
            if len(params) > 2:
                fig.text(0.01, 0.005, f"median over replicates and over {', '.join(params[2:])}",
                         fontsize=7.5, color="0.35")
            written += save_figure(fig, figdir / f"heatmap_{o}")
    else:
        logs = [p for p in params if (resolved.get("parameters", {}).get(p, {}) or {}).get("scale") == "log"]
        fig = plot_sweep_scatter(points, params, outcomes, title=title, labels=labels, log_parameters=logs)
        written += save_figure(fig, figdir / "sweep_scatter")
    return written
