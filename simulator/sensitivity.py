"""Sensitivity analysis of a sweep: SALib's indices, and how much is only the seed.

For a ``sobol`` design, :func:`sobol_indices` gives first-order (S1) and total (ST)
indices with bootstrap confidence half-widths (``SALib.analyze.sobol``, Saltelli/Jansen
estimators); for ``morris``, :func:`morris_indices` gives mu* (mean absolute elementary
effect) with its confidence half-width, and sigma. Both are computed on the *replicate
means* of each point: the model is stochastic, and a single replicate per point would
hand SALib noise that looks like parameter effects.

:func:`replicate_share` answers the reviewer's first question: of the variance of an
outcome over the whole sweep (every replicate of every point), how much lies *within*
points (it comes from the seed) rather than *between* them (it comes from the
parameters)? ``replicate_share = mean within-point variance / total variance`` (both
with ``ddof=0``, so the two parts add up to the total). The noise left in a point's
mean is the within-point variance over R; ``mean_noise_share`` says what fraction of
the variance of the means that noise is - when it is large, the indices measure noise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Sequence

import numpy as np
import pandas as pd

from .errors import RumorsimError

SOBOL_COLUMNS = ("outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf")
MORRIS_COLUMNS = ("outcome", "parameter", "mu_star", "mu_star_conf", "sigma")
VARIANCE_COLUMNS = ("outcome", "total_variance", "between_points", "within_points",
                    "replicate_share", "mean_noise_share")
#: Fixed seed of SALib's bootstrap (confidence intervals), so reruns give the same table.
BOOTSTRAP_SEED = 12345


def _problem(names: Sequence[str], bounds: Sequence[Sequence[float]]) -> Dict[str, Any]:
    return {"num_vars": len(names), "names": list(names), "bounds": [list(b) for b in bounds]}


def sobol_indices(names: Sequence[str], bounds: Sequence[Sequence[float]], y: np.ndarray,
                  outcome: str = "y", *, seed: int = BOOTSTRAP_SEED) -> pd.DataFrame:
    """First-order and total Sobol indices of ``y`` (one value per point, SALib's order).

    Parameters
    ----------
    names, bounds : the parameters and the ranges they were sampled over.
    y : the model output at each point of ``SALib.sample.sobol.sample(problem, N,
        calc_second_order=False)``, in that order (N x (D + 2) values).
    outcome : the name written in the ``outcome`` column.
    """
    from SALib.analyze import sobol

    y = np.asarray(y, dtype=float)
    d = len(names)
    if y.size % (d + 2):
        raise RumorsimError(f"a Sobol analysis of {d} parameters needs N x {d + 2} values, got {y.size}")
    if np.ptp(y) == 0:  # a constant outcome: nothing depends on anything
        zeros = np.zeros(d)
        return pd.DataFrame({"outcome": outcome, "parameter": list(names), "S1": zeros,
                             "S1_conf": zeros, "ST": zeros, "ST_conf": zeros})
    si = sobol.analyze(_problem(names, bounds), y, calc_second_order=False, seed=seed)
    return pd.DataFrame({"outcome": outcome, "parameter": list(names),
                         "S1": si["S1"], "S1_conf": si["S1_conf"], "ST": si["ST"], "ST_conf": si["ST_conf"]})


def morris_indices(names: Sequence[str], bounds: Sequence[Sequence[float]], x: np.ndarray, y: np.ndarray,
                   outcome: str = "y", *, levels: int = 4, seed: int = BOOTSTRAP_SEED) -> pd.DataFrame:
    """Morris screening: mu*, its confidence half-width and sigma, per parameter.

    ``x`` are the points in the sampler's space (log for log-scaled parameters), in
    the order ``SALib.sample.morris.sample`` returned them; ``y`` the outputs.
    """
    from SALib.analyze import morris

    from .design import numpy_global_state_kept

    with numpy_global_state_kept():  # SALib's morris seeds numpy's global generator
        si = morris.analyze(_problem(names, bounds), np.asarray(x, float), np.asarray(y, float),
                            num_levels=levels, seed=seed)
    return pd.DataFrame({"outcome": outcome, "parameter": list(names), "mu_star": si["mu_star"],
                         "mu_star_conf": si["mu_star_conf"], "sigma": si["sigma"]})


def replicate_share(rows: pd.DataFrame, outcomes: Sequence[str]) -> pd.DataFrame:
    """How much of each outcome's variance is replicate noise (see the module docstring)."""
    out = []
    for o in outcomes:
        v = rows[["point", o]].dropna()
        total = float(np.var(v[o].to_numpy(float)))
        g = v.groupby("point")[o]
        within = float(g.var(ddof=0).mean())
        means = g.mean()
        between = float(np.var(means.to_numpy(float)))
        r = float(g.size().mean())
        out.append({
            "outcome": o, "total_variance": total, "between_points": between, "within_points": within,
            "replicate_share": within / total if total > 0 else float("nan"),
            "mean_noise_share": min(1.0, within / r / between) if between > 0 else float("nan"),
        })
    return pd.DataFrame(out, columns=list(VARIANCE_COLUMNS))


def analyse_sweep(out: Path) -> Dict[str, pd.DataFrame]:
    """``{"indices": ..., "variance": ...}`` for a finished sobol/morris sweep directory."""
    from .sweepdir import read_sweep

    meta, rows, points = read_sweep(out)
    if meta["design"] not in ("sobol", "morris"):
        raise RumorsimError(f"a `{meta['design']}` sweep has no sensitivity indices",
                            file=str(out), suggestion="Use design: sobol or design: morris")
    if (points["status"] != "ok").any():
        bad = points.loc[points["status"] != "ok", "point"].tolist()
        raise RumorsimError(f"{len(bad)} points have no results (first: point {bad[0]}); SALib needs every point",
                            file=str(out), suggestion="Run the same `rumorsim sweep` command again to retry them")
    spec_path = out / "sweep.yaml"
    import yaml

    resolved = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    names = meta["parameters"]
    bounds, logs = [], []
    for n in names:
        p = resolved["parameters"][n]
        log = p.get("scale") == "log"
        logs.append(log)
        bounds.append([np.log(p["low"]), np.log(p["high"])] if log else [p["low"], p["high"]])
    tables = []
    for o in meta["outcomes"]:
        y = points[f"{o}_mean"].to_numpy(float)
        if meta["design"] == "sobol":
            tables.append(sobol_indices(names, bounds, y, o))
        else:
            # Morris needs the sampled trajectories exactly (its steps are differences of
            # them): the sampler's numbers, before log scales are undone and integers rounded.
            samples = out / "samples.csv"
            x = (pd.read_csv(samples)[names].to_numpy(float) if samples.is_file() else
                 np.column_stack([np.log(points[n].to_numpy(float)) if lg else points[n].to_numpy(float)
                                  for n, lg in zip(names, logs)]))
            tables.append(morris_indices(names, bounds, x, y, o, levels=int(resolved.get("morris_levels", 4))))
    return {"indices": pd.concat(tables, ignore_index=True),
            "variance": replicate_share(rows, meta["outcomes"]), "design": meta["design"],
            "name": meta.get("name") or out.name}


def write_sensitivity(out: Path, *, figures: bool = True) -> List[Path]:
    """Write sensitivity.csv, variance.csv (and figures/sensitivity.png/.svg) into ``out``."""
    from .sweepdir import write_frame

    out = Path(out)
    res = analyse_sweep(out)
    written = []
    for name, key in (("sensitivity.csv", "indices"), ("variance.csv", "variance")):
        write_frame(res[key], out / name)
        written.append(out / name)
    if figures:
        from .plots import save_figure
        from .sweepplots import plot_sensitivity

        (out / "figures").mkdir(exist_ok=True)
        import yaml

        from .sweepplots import outcome_labels

        base = yaml.safe_load((out / "base_scenario.yaml").read_text(encoding="utf-8")) or {}
        labels = outcome_labels(base, list(dict.fromkeys(res["indices"]["outcome"])))
        fig = plot_sensitivity(res["indices"], res["variance"], design=res["design"], labels=labels,
                               title=str(res["name"]))
        written += list(save_figure(fig, out / "figures" / "sensitivity"))
    return written
