"""The figure of a fit: data, fit window, posterior predictive band, posterior marginals.

A pure function of a :class:`rumorsim.fit.FitResult` (data in, figure out), drawn with
the conventions of :mod:`rumorsim.plots` (Agg canvas, no pyplot, legends off the data).
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from matplotlib.ticker import NullFormatter

from .formatting import format_number
from .plots import _human, _new_figure, _styled

_DATA = "#222222"
_FIT = "#1f77b4"
_WINDOW = "#ffd37a"


@_styled
def plot_fit(fit: Any) -> Figure:
    """Observed counts, the fit window shaded, the posterior predictive median and 90 %
    band to the forecast horizon; below, each parameter's posterior against its prior range."""
    pred = fit.predictive
    obs = fit.observed
    names = list(fit.spec.parameters)
    k = len(names)
    ncols = max(3, k)
    fig = _new_figure(max(9.0, 2.6 * ncols), 6.6)
    gs = fig.add_gridspec(2, ncols, height_ratios=[2.3, 1.0])
    ax = fig.add_subplot(gs[0, :])
    t = pred["time"].to_numpy(float)
    ax.axvspan(0, obs.until, color=_WINDOW, alpha=0.35, lw=0,
               label=f"fit window (0-{obs.until:g} {obs.unit})")
    ax.fill_between(t, pred["low"], pred["high"], color=_FIT, alpha=0.22, lw=0,
                    label="posterior predictive, 90 % band")
    ax.plot(t, pred["median"], color=_FIT, lw=2.0, label="posterior predictive median")
    seen = obs.time <= t[-1] + 1e-9
    fit_pts = seen & obs.fit_mask
    ax.plot(obs.time[fit_pts], obs.value[fit_pts], "o", ms=3.2, color=_DATA,
            label="observed (fitted)")
    later = seen & ~obs.fit_mask
    if later.any():
        ax.plot(obs.time[later], obs.value[later], "o", ms=3.2, mfc="white", mec=_DATA,
                label="observed (not used by the fit)")
    ax.set_xlim(0, t[-1])
    top = float(np.nanmax([pred["high"].max(), np.nanmax(obs.value[seen])]))
    ax.set_ylim(0, top * 1.08 + 1)
    ax.yaxis.set_major_formatter(_human())
    ax.set_xlabel(f"time since the start of the series ({obs.unit})")
    what = fit.spec.observe
    if what.label:
        ylabel = f"{what.label} (people)"
    elif what.state is not None:
        ylabel = "people in " + ", ".join(
            f"{tr}: {v if isinstance(v, str) else ' | '.join(v)}" for tr, v in what.state.items())
    else:
        ylabel = "people who " + " | ".join(what.fired or [])
    ax.set_ylabel(textwrap.fill(ylabel, 40))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8.5)
    f = fit.summary["forecast"]
    n = format_number
    ax.set_title(f"Forecast at {f['time']:g} {obs.unit}: {n(f['median'])} "
                 f"(90 %: {n(f['low'])} to {n(f['high'])})"
                 + (f"; observed {n(f['observed'])}" if "observed" in f else ""),
                 fontsize=10, loc="left")

    w = fit.posterior["weight"].to_numpy(float)
    for i, name in enumerate(names):
        pax = fig.add_subplot(gs[1, i])
        prior = fit.spec.parameters[name]
        v = fit.posterior[name].to_numpy(float)
        if prior.scale == "log":
            bins = np.geomspace(prior.low, prior.high, 31)
            pax.set_xscale("log")
            pax.xaxis.set_minor_formatter(NullFormatter())  # no crowded 3x10^-2 labels
        else:
            bins = np.linspace(prior.low, prior.high, 31)
        pax.hist(v, bins=bins, weights=w, color=_FIT, alpha=0.7)
        p = fit.summary["parameters"][name]
        pax.axvline(p["median"], color=_DATA, lw=1.2)
        pax.set_xlim(prior.low, prior.high)
        pax.set_yticks([])
        label = prior.label or name
        pax.set_xlabel(textwrap.fill(label, 34), fontsize=8)
        pax.set_title(f"{_g(p['median'])}  [{_g(p['low'])} to {_g(p['high'])}]", fontsize=8.5)
    fig.suptitle(f"{fit.scenario.name} fitted to series {obs.cascade}", fontsize=12,
                 fontweight="bold", x=0.01, ha="left")
    b = fit.summary["budget"]
    prior = fit.summary.get("prior", {})
    under = ("" if prior.get("kind") != "population" else
             f" under a population prior ({prior.get('cascades') or 'a sample of'} past cascades)")
    fig.supxlabel(textwrap.fill(
        f"ABC-SMC (pyABC){under}: {b['abc_simulations']:,} simulations, {b['generations']} "
        f"generation{'s' if b['generations'] != 1 else ''} of {b['particles']} particles; band = weighted 5-95 % of the "
        f"{b['predictive_paths']} accepted simulations' paths (posterior predictive). Bottom: posterior of each parameter over its prior range "
        "(line: median; title: median [90 % interval]).", 150),
        fontsize=7.5, color="0.35", x=0.01, ha="left")
    return fig


def _g(x: float) -> str:
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    return f"{x:.2g}" if abs(x) < 0.01 or abs(x) >= 1000 else f"{x:.3g}"
