"""Population priors: what past cascades say about the parameters a new one cannot pin down.

The first hours of a cascade measure how readily people repost, but say little about
how fast attention fades or how much of it lasts: with a wide uniform prior those stay
wide, and the forecast inherits whatever part of the prior the early data happens to
favour. Cascades on one platform are alike in ways their first hours do not show, so
the principled fix is empirical Bayes (a hierarchical model, fitted in two steps):

1. fit past cascades on their *whole* history (``rumorsim fit ... --until 1440``),
   each under the fit file's uniform prior: their posteriors say where each of them lies;
2. the population distribution of the parameters is estimated as the equal-weight
   mixture of those posteriors, smoothed by a Gaussian kernel density estimate
   (:class:`scipy.stats.gaussian_kde`, Scott's bandwidth) in the unbounded coordinates
   ``logit(u)``, where ``u`` in (0, 1) is the position in the fit file's range (on a log
   scale for ``scale: log`` parameters);
3. a new cascade is fitted on its first hours under that prior (the fit file's
   ``prior:`` or ``rumorsim fit --prior-from``).

Why the mixture of posteriors rather than a parametric population model: it needs no
second level of inference, keeps the correlations between parameters (a short
half-life with a large lasting share, say) and is, if anything, a little wider than the
population itself (each past posterior adds its own uncertainty), which errs on the side
of honest intervals. A cascade must never be its own prior: :func:`read_population`
refuses a file that holds the very series being fitted (its future would leak into the
forecast).

What ``prior:`` accepts:

- a CSV file with one column per fitted parameter (its ``--set`` path, as in
  ``posterior.csv``), optionally ``weight`` (normalised within each cascade) and
  ``cascade_id`` (which past cascade a row comes from; each cascade weighs alike; without
  it the file is one sample);
- a folder: every ``posterior.csv`` under it that sits beside a ``summary.json`` (one
  ``rumorsim fit`` output directory per past cascade; the cascade id comes from the summary).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import ScenarioError, did_you_mean

PathLike = Union[str, "os.PathLike[str]"]

#: Positions closer than this to an end of a range are moved in (logit(0) is infinite).
_EDGE = 1e-6


@dataclass(frozen=True)
class Population:
    """Posterior samples of past cascades, on the unit cube of the fit's parameters.

    Attributes
    ----------
    source : where they were read from.
    names : the fitted parameters (the fit file's order).
    unit : (samples, parameters) positions in (0, 1) of each parameter's prior range.
    weights : per sample, summing to 1 (each cascade has the same total).
    cascades : the past cascades' ids (empty when the file does not say).
    """

    source: str
    names: Tuple[str, ...]
    unit: np.ndarray
    weights: np.ndarray
    cascades: Tuple[str, ...]

    def density(self) -> "PopulationDensity":
        """The smoothed population distribution (see the module docstring)."""
        return PopulationDensity(self.unit, self.weights)


class PopulationDensity:
    """A Gaussian KDE in ``logit(u)``: density and samples on the unit cube.

    The kernel's covariance is scipy's (``gaussian_kde``: Scott's rule with the weights'
    effective size); evaluation and sampling are done here on precomputed Cholesky
    factors, because pyABC asks for one point at a time (about 30 us a call, against
    milliseconds through ``gaussian_kde``). ``pdf`` includes the Jacobian of
    ``u -> logit(u)``, so it is a density on (0, 1)^k and zero outside; ``sample`` draws
    from numpy's global generator (pyABC seeds it per batch: see :mod:`rumorsim.fit`).
    """

    def __init__(self, unit: np.ndarray, weights: np.ndarray) -> None:
        from scipy.stats import gaussian_kde

        z = _logit(np.asarray(unit, float))  # (samples, parameters)
        w = np.asarray(weights, float)
        self.points, self.weights = z, w / w.sum()
        self.dims = z.shape[1]
        cov = np.atleast_2d(gaussian_kde(z.T, weights=self.weights).covariance)
        self.chol = np.linalg.cholesky(cov)
        self.chol_inv = np.linalg.inv(self.chol)
        self.norm = 1.0 / ((2 * np.pi) ** (self.dims / 2) * np.prod(np.diag(self.chol)))
        self.cdf = np.cumsum(self.weights)
        self.white = z @ self.chol_inv.T  # the samples in the kernel's whitened coordinates

    def pdf(self, u: np.ndarray) -> np.ndarray:
        """Density at points ``u`` (..., parameters) of the unit cube."""
        u = np.atleast_2d(np.asarray(u, float))
        inside = np.all((u > 0) & (u < 1), axis=1)
        out = np.zeros(len(u))
        for k in np.flatnonzero(inside):
            v = u[k]
            d = self.white - _logit(v) @ self.chol_inv.T
            kde = self.norm * float(self.weights @ np.exp(-0.5 * np.einsum("ij,ij->i", d, d)))
            out[k] = kde / np.prod(v * (1 - v))
        return out

    def sample(self, size: int) -> np.ndarray:
        """``size`` points (size, parameters) of the unit cube."""
        pick = np.minimum(np.searchsorted(self.cdf, np.random.random_sample(int(size)) * self.cdf[-1]),
                          len(self.cdf) - 1)
        z = self.points[pick] + np.random.standard_normal((int(size), self.dims)) @ self.chol.T
        return 1.0 / (1.0 + np.exp(-z))


def _logit(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, _EDGE, 1 - _EDGE)
    return np.log(u) - np.log1p(-u)


class PyabcPrior:
    """The population density as a pyABC prior over the keys ``p0, p1, ...``.

    pyABC needs only ``rvs()`` and ``pdf(parameter)``; the fit passes it in a list
    (one model), so it need not subclass pyABC's ``DistributionBase``.
    """

    def __init__(self, density: PopulationDensity, keys: Sequence[str]) -> None:
        self.density, self.keys = density, list(keys)

    def rvs(self, *args: Any, **kwargs: Any) -> Any:
        from pyabc import Parameter

        u = self.density.sample(1)[0]
        return Parameter({k: float(x) for k, x in zip(self.keys, u)})

    def pdf(self, x: Mapping[str, float]) -> float:
        return float(self.density.pdf(np.array([[x[k] for k in self.keys]]))[0])


# ------------------------------------------------------------------------ reading


def read_population(path: PathLike, priors: Mapping[str, Any], *, fitting: Optional[str] = None,
                    field: Optional[str] = None, file: Optional[str] = None,
                    line: Optional[int] = None) -> Population:
    """Read past cascades' posterior samples for the fit's parameters.

    Parameters
    ----------
    path : a CSV file or a folder of fit directories (see the module docstring).
    priors : the fit file's parameters (``--set`` path -> :class:`PriorSpec`); the
        samples are mapped onto their ranges.
    fitting : the id of the series being fitted: refused if the population holds it.
    field, file, line : where ``path`` was given, for errors.

    Raises
    ------
    ScenarioError
        The file or folder is missing or unreadable, lacks a parameter, holds values
        outside a parameter's range, or holds the series being fitted.
    """
    import pandas as pd

    where = {"field": field, "file": file, "line": line}
    p = Path(path)
    if p.is_dir():
        frames = []
        for post in sorted(p.rglob("posterior.csv")):
            summary = post.parent / "summary.json"
            if not summary.is_file():
                continue
            try:
                cid = str(json.loads(summary.read_text(encoding="utf-8"))["cascade"])
                frame = pd.read_csv(post)
            except (OSError, ValueError, KeyError) as exc:
                raise ScenarioError(f"cannot read the fit in `{post.parent}`: {exc}", **where) from None
            frames.append(frame.assign(cascade_id=cid))
        if not frames:
            raise ScenarioError(f"the folder `{p}` holds no fit directories (posterior.csv "
                                "beside summary.json)", **where,
                                expected="`rumorsim fit` output directories of past cascades, "
                                "or a CSV file of posterior samples")
        table = pd.concat(frames, ignore_index=True)
    elif p.is_file():
        try:
            table = pd.read_csv(p, dtype={"cascade_id": str})
        except Exception as exc:  # pandas raises many kinds for a file that is not a CSV
            raise ScenarioError(f"cannot read `{p}` as CSV: {exc}", **where) from None
    else:
        raise ScenarioError(f"the population prior `{p}` does not exist", **where,
                            expected="a CSV file of past cascades' posterior samples, or a "
                            "folder of `rumorsim fit` output directories")

    names = list(priors)
    columns = [str(c) for c in table.columns]
    for n in names:
        if n not in columns:
            raise ScenarioError(f"the population prior `{p}` has no column `{n}`", **where,
                                expected="one column per fitted parameter (as in posterior.csv)",
                                suggestion=did_you_mean(n, columns))
    values = table[names].to_numpy(float)
    weights = (table["weight"].to_numpy(float) if "weight" in columns
               else np.ones(len(table)))
    cascades = (table["cascade_id"].astype(str).to_numpy() if "cascade_id" in columns
                else np.full(len(table), ""))
    ok = np.all(np.isfinite(values), axis=1) & np.isfinite(weights) & (weights >= 0)
    if not ok.all() or len(table) < 2:
        raise ScenarioError(f"the population prior `{p}` has missing, non-numeric or negative "
                            "values, or fewer than two samples", **where)
    unit = np.empty_like(values)
    for j, n in enumerate(names):
        col = values[:, j]
        with np.errstate(invalid="ignore", divide="ignore"):
            u = priors[n].to_unit(np.where(col > 0, col, np.nan) if priors[n].scale == "log" else col)
        outside = ~((u >= -1e-9) & (u <= 1 + 1e-9))
        if outside.any():
            raise ScenarioError(f"the population prior `{p}` has {n} = {col[outside][0]:g}, "
                                "outside the fit file's range", **where,
                                expected=f"values in [{priors[n].low:g}, {priors[n].high:g}]",
                                suggestion="Fit the past cascades with the same parameter ranges")
        unit[:, j] = np.clip(u, 0.0, 1.0)
    ids = sorted(set(cascades) - {""})
    if fitting is not None and str(fitting) in ids:
        raise ScenarioError(f"the population prior `{p}` was learned from series `{fitting}`, "
                            "the one being fitted: its future would leak into the forecast",
                            **where, suggestion="Leave that cascade out of the population, or fit under "
                            "the parameters' own priors (`--prior-from uniform`)")
    # each cascade the same total weight (the rows without an id form one group)
    w = np.zeros(len(table))
    groups = sorted(set(cascades))
    for g in groups:
        m = cascades == g
        total = weights[m].sum()
        if total <= 0:
            raise ScenarioError(f"the samples of cascade `{g}` in `{p}` have zero weight", **where)
        w[m] = weights[m] / total / len(groups)
    keep = w > 0
    return Population(source=str(p), names=tuple(names), unit=unit[keep], weights=w[keep],
                      cascades=tuple(ids))


def describe(pop: Population) -> Dict[str, Any]:
    """What summary.json records of a population prior."""
    return {"source": pop.source, "cascades": len(pop.cascades) or None,
            "samples": int(len(pop.weights))}
