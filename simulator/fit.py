"""Fit a scenario to an observed series: an ABC-SMC posterior and a posterior predictive forecast.

The method is approximate Bayesian computation with sequential Monte Carlo (ABC-SMC,
Beaumont et al. 2009; Del Moral et al. 2012), run by pyABC (``pip install
"rumorsim[fit]"``). Why pyABC rather than neural posterior estimation (sbi): it needs
no torch and no GPU, its weighted particles *are* the posterior (no network to train
and validate per data set), it works with any simulator that returns a series, and a
fit of a few thousand simulations takes about a minute on two cores. Its price is
that the posterior is approximate at the final tolerance; the calibration check in
``tests/test_fit.py`` measures how well the intervals cover the truth.

How one fit runs:

1. The base scenario's network is built once (the follower graph is part of the
   model, not a parameter) and kept; each simulation overrides the parameters on the
   frozen scenario (the ``--set`` machinery, without YAML), compiles it and runs one
   replicate of the kernel: about 10 ms for a repost cascade of a few hundred people.
2. Parameters are sampled on the unit cube (a uniform prior on ``[low, high]`` or on
   ``[log low, log high]``, or the population prior of past cascades:
   :mod:`rumorsim.fitprior`) and mapped to their values; each simulation runs to
   ``forecast_until``; the distance between a simulation and the data is the root mean
   square of the differences of ``log(1 + count)`` over the observations in the fit
   window (counts from 1 to thousands weigh alike in relative terms).
3. Each generation's tolerance is the median distance of the previous one (pyABC's
   ``MedianEpsilon``); the fit stops when the simulation budget is spent (a generation
   that would overrun it is dropped: the posterior is the last complete generation;
   the first generation always completes, so a tiny budget may be overrun by it).
4. The posterior predictive is the weighted set of the last generation's accepted
   simulations, each continued past the fit window by its own run: median and 90 % band
   per time are weighted quantiles. Why not fresh runs of the posterior's parameters:
   a fresh run forgets what the accepted one matched (how far this cascade had got by
   the end of the window, a chance early repost by a hub), so its future is centred on
   the average cascade with those parameters, not on this one, and the chance of the
   first hours is counted twice in its spread. The accepted simulations are draws of
   (parameters, path) given the data, so their futures are draws of the forecast given
   the data, at the ABC tolerance. ``predictive`` of them are drawn by weight for
   :attr:`FitResult.trajectories` (no further simulations).

What the 90 % band accounts for, and what not. It holds the parameters' uncertainty
(the posterior), the cascade's own chance from the end of the fit window on (each
accepted path continues by its own random run) and the ABC tolerance (accepted paths
are within the final epsilon of the data, not on it). No count-noise model is added on
top: the data count people (the post and each repost), as the model does, with no
sampling between them, so the model's own randomness *is* the noise of the count. It
does not hold the model's misspecification: a cascade that grows for reasons the model
lacks (a hub reposting it the next morning, a trending list) falls outside. Parameters
the fit window cannot pin down are where a wide uniform prior hurts most: their
posterior is then the prior cut by what the early data rule out, and the forecast
averages over futures no real cascade of the platform shows; a population prior
(:mod:`rumorsim.fitprior`, learned from other cascades' whole histories) puts there what
the platform's cascades did. ``benchmarks/fit_forecast.md`` scores both on cascades the
fit never saw.

Randomness and parallelism: simulations run in batches of fixed size, each batch with
its own seed from the fit's ``SeedSequence``, on the sweep's executors
(:class:`rumorsim.workers.Workers`: local processes, or a Dask cluster with
``scheduler=``); batches are taken in order, so the particles, the posterior and the
forecast are the same at any number of workers. pyABC draws its proposals from
numpy's global generator; each batch seeds it and restores the caller's state after,
so nothing outside the fit sees a change (a lock keeps two threads of one process,
e.g. a Dask worker's, from interleaving: start Dask workers with ``--nthreads 1``).
Local workers are forked processes: they inherit the built network and the compiled
kernel, so a fit's workers start in milliseconds (the parent runs no threads).

Why not :func:`rumorsim.sweep.run_points` itself: it returns one number per outcome and
replicate, and a fit needs the whole observed series of each simulation; both run their
tasks on the same executors.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
import pandas as pd

from .errors import RumorsimError
from .fitfile import FitSpec, Observed, load_fit
from .scenario import Scenario, _Tree, apply_override
from .workers import Workers, apply

PathLike = Union[str, "os.PathLike[str]"]

#: Share of the posterior predictive inside the band: 90 %, from the 5th to the 95th percentile.
BAND = (5.0, 95.0)
#: Most simulations per batch (each batch has its own seed; see the module docstring).
BATCH = 16


def batch_size(particles: int) -> int:
    """Simulations per batch: small for small populations (less work thrown away when a
    generation completes mid-flight), fixed by the fit file alone (never by the workers)."""
    return int(min(BATCH, max(2, particles // 10)))
# Spawn keys of the fit's SeedSequence: one branch for the ABC batches, one for the forecast.
_ABC_BRANCH, _PREDICTIVE_BRANCH = 1, 2


class FitError(RumorsimError):
    """A fit cannot run (the optional dependency is missing, the simulator cannot follow the data)."""


def _require_pyabc() -> Any:
    try:
        import pyabc
    except ImportError:
        raise FitError(
            "fitting needs pyABC, an optional dependency",
            suggestion='Install it with: pip install "rumorsim[fit]"',
        ) from None
    return pyabc


# ------------------------------------------------------------------ the simulator


class CascadeModel:
    """The base scenario as a function of the fitted parameters, on one fixed network.

    Parameters
    ----------
    base : the base scenario (with the fit file's ``set`` applied).
    spec : the fit.
    observed : the observed series (its clock start, if any, becomes ``time.start``).
    """

    def __init__(self, base: Scenario, spec: FitSpec, observed: Observed) -> None:
        from .network import build_network

        self.spec = spec
        self.observed = observed
        self.names: List[str] = list(spec.parameters)
        self.priors = [spec.parameters[n] for n in self.names]
        clock = [f"time.start={observed.start.isoformat()}"] if observed.start is not None else []
        #: the base scenario on the series' clock: what the fitted scenario.yaml is made of
        self.resolved_base = _override(base, clock)
        # simulations report every step, so any observation time can be read off
        self.base = _override(self.resolved_base, [f"time.report_every={base.time.dt!r}"])
        # the network the scenario's own seed builds: `rumorsim run` on the fitted
        # scenario rehearses on the very graph the fit used
        self.network = build_network(self.base.network, self.base.population.agents,
                                     np.random.SeedSequence(self.base.run.seed),
                                     base_dir=self.base.base_dir, source=self.base.source)
        self._dump = self.base.model_dump(mode="python", by_alias=True, exclude_none=True)

    # -- parameters
    def values(self, unit: Sequence[float]) -> Dict[str, float]:
        """Parameter values for a point of the unit cube."""
        return {n: float(p.from_unit(u)) for n, p, u in zip(self.names, self.priors, unit)}

    def scenario(self, values: Dict[str, float], until: Optional[float] = None, *,
                 resolved: bool = False) -> Scenario:
        """The base scenario with ``values`` (and, if given, ``time.until`` in data units).

        ``resolved``: the scenario as a user runs it (its own reporting grid), not the
        one the fit simulates (a report every step).
        """
        assignments = [f"{k}={float(v)!r}" for k, v in values.items()]
        if until is not None:
            assignments.append(f"time.until={self._horizon(until)!r}")
        if resolved:
            return _override(self.resolved_base, assignments)
        return _override(self.base, assignments, dump=self._dump)

    def _horizon(self, until_data: float) -> float:
        dt = self.base.time.dt
        t = until_data * self.observed.to_scenario
        return max(dt, math.ceil(t / dt - 1e-9) * dt)

    # -- simulation
    def simulate(self, values: Dict[str, float], seed: int, times: np.ndarray) -> np.ndarray:
        """The observed quantity (people) at ``times`` (data units) in one replicate."""
        from .engine import run_replicates
        from .model import compile_model

        times = np.asarray(times, float)
        sc = self.scenario(values, until=float(times.max()))
        model = compile_model(sc, self.network)
        raw = run_replicates(model, 1, int(seed), workers=1)
        series = _observed_series(model.info, raw, self.spec, sc.population.people_per_agent)[0]
        rt = np.asarray(model.info.report_times, float)
        idx = np.searchsorted(rt, times * self.observed.to_scenario - 1e-9)
        return series[np.minimum(idx, len(rt) - 1)]


def _override(sc: Scenario, assignments: Sequence[str], dump: Optional[dict] = None) -> Scenario:
    """``--set`` overrides applied to a frozen scenario without a YAML round trip (~1 ms).

    The paths were checked against the base scenario when the fit file was loaded.
    """
    import copy

    data = copy.deepcopy(dump if dump is not None else
                         sc.model_dump(mode="python", by_alias=True, exclude_none=True))
    tree = _Tree(data, {}, sc.source or "<scenario>")
    for a in assignments:
        apply_override(tree, a)
    return Scenario.model_validate(tree.data).model_copy(update={"source": sc.source})


def _observed_series(info: Any, raw: Any, spec: FitSpec, people_per_agent: float) -> np.ndarray:
    """(replicates, report times) of the observed quantity, in people."""
    obs = spec.observe
    if obs.state is not None:
        mask = info.matching_joint_states(dict(obs.state))
        values = raw.counts[:, :, mask].sum(axis=2, dtype=np.int64)
    else:
        names = list(info.event_names)
        idx = [names.index(n) for n in obs.fired]
        values = raw.fired[:, :, idx].sum(axis=2, dtype=np.int64)
    return values * people_per_agent


def log_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Root mean square difference of log(1 + count): the ABC distance."""
    return float(np.sqrt(np.mean((np.log1p(np.asarray(x, float)) - np.log1p(np.asarray(y, float))) ** 2)))


# --------------------------------------------------------------- batch execution


_GLOBAL_RNG_LOCK = threading.Lock()


class _SeededRepeat:
    """Run ``fn()`` ``size`` times with numpy's global generator seeded by the task's seed
    words (pyABC draws its proposals from it), restoring the caller's state after."""

    def __init__(self, fn: Callable[[], Any], size: int) -> None:
        self.fn, self.size = fn, size

    def __call__(self, seed_words: np.ndarray) -> List[Any]:
        # one batch at a time per process: threads (a Dask worker's) share the generator
        with _GLOBAL_RNG_LOCK:
            saved = np.random.get_state()
            np.random.seed(np.asarray(seed_words, np.uint32))
            try:
                return [self.fn() for _ in range(self.size)]
            finally:
                np.random.set_state(saved)


def _batch_seeds(seed: int, *key: int) -> Iterator[np.ndarray]:
    """Seed words of batch 0, 1, 2, ... under spawn key ``key`` of the fit's seed."""
    root = np.random.SeedSequence(seed)
    b = 0
    while True:
        yield np.random.SeedSequence(root.entropy, spawn_key=(*key, b)).generate_state(4)
        b += 1


def _make_sampler(pyabc: Any, pool: Any, seed: int, budget: int, batch: int) -> Any:
    """A pyABC sampler that runs fixed-size seeded batches in order (worker-count independent)
    and stops a generation after the first when the fit's simulation budget is spent."""

    class BatchSampler(pyabc.sampler.Sampler):
        def __init__(self) -> None:
            super().__init__()
            self.used = 0
            self.calls = 0

        def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf,
                                    all_accepted=False, ana_vars=None):
            sample = self._create_empty_sample()
            self.calls += 1
            evaluated = 0
            done = False
            for _, out in pool.map(apply, _SeededRepeat(simulate_one, batch),
                                   _batch_seeds(seed, _ABC_BRANCH, self.calls), name="rumorsim-fit"):
                for particle in out:
                    # the calibration sample and the first generation always complete
                    # (without them there is no posterior); later ones stop at the budget
                    if (t >= 1 and self.used >= budget) or evaluated >= max_eval:
                        done = True
                        break
                    self.used += 1
                    evaluated += 1
                    sample.append(particle)
                    if sample.n_accepted >= n:
                        done = True
                        break
                if done:
                    break
            self.nr_evaluations_ = evaluated
            if sample.n_accepted < n:
                sample.ok = False
            return sample

    return BatchSampler()


# ------------------------------------------------------------------------ results


@dataclass
class FitResult:
    """A finished fit: posterior, posterior predictive, summary, the fitted scenario.

    Attributes
    ----------
    spec : the fit.
    observed : the data.
    posterior : one row per particle: a column per parameter (its path) and ``weight``.
    predictive : ``time`` (data's unit), ``observed`` (NaN where none), ``median``,
        ``low``, ``high`` (the 90 % band of the posterior predictive), ``in_fit``.
    trajectories : (predictive, times) simulated counts behind ``predictive``.
    summary : what ``summary.json`` holds.
    scenario : the base scenario at the posterior median (what ``scenario.yaml`` holds).
    """

    spec: FitSpec
    observed: Observed
    posterior: pd.DataFrame
    predictive: pd.DataFrame
    trajectories: np.ndarray
    summary: Dict[str, Any]
    scenario: Scenario
    generations: List[Dict[str, float]] = field(default_factory=list)

    def write(self, out: PathLike, *, overwrite: bool = False, figures: bool = True) -> Path:
        """Write the fit directory atomically: posterior.csv, predictive.csv, summary.json,
        scenario.yaml, fit.png/.svg."""
        from .outputs import write_directory_atomically, write_json
        from .scenario import scenario_yaml

        def fill(d: Path) -> None:
            self.posterior.to_csv(d / "posterior.csv", index=False)
            self.predictive.to_csv(d / "predictive.csv", index=False)
            write_json(d / "summary.json", self.summary)
            header = (f"# {self.scenario.name}, fitted to series {self.observed.cascade} by "
                      f"`rumorsim fit` (posterior median; see summary.json)\n")
            (d / "scenario.yaml").write_text(header + scenario_yaml(self.scenario), encoding="utf-8")
            if figures:
                from .fitplots import plot_fit
                from .plots import save_figure

                fig = plot_fit(self)
                save_figure(fig, d / "fit", atomic=False)
                import matplotlib.pyplot as plt

                plt.close(fig)

        return write_directory_atomically(Path(out), fill, overwrite=overwrite,
                                          what="fit directory")

    def __repr__(self) -> str:
        med = ", ".join(f"{k}={v['median']:.3g}" for k, v in self.summary["parameters"].items())
        return f"<FitResult {self.observed.cascade}: {med}>"


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Quantiles ``q`` (0..1) of weighted samples (inverse of the weighted CDF, midpoint rule)."""
    v = np.asarray(values, float)
    w = np.asarray(weights, float)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(np.asarray(q, float), cdf, v)


# -------------------------------------------------------------------------- the fit


def run_fit(
    spec: FitSpec,
    base: Scenario,
    observed: Observed,
    *,
    workers: Optional[int] = None,
    scheduler: Any = None,
    progress: bool = False,
) -> FitResult:
    """Fit ``spec``'s parameters to ``observed`` and forecast (see the module docstring).

    Parameters
    ----------
    spec, base, observed : as :func:`rumorsim.fitfile.load_fit` returns them.
    workers : local processes (default: all cores); the numbers do not depend on it.
    scheduler : a Dask scheduler address or ``distributed.Client``.
    progress : print one line per ABC generation to standard error.

    Examples
    --------
    >>> import rumorsim as rs
    >>> spec, base, obs = rs.load_fit("scenarios/fit_weibo.yaml")   # doctest: +SKIP
    >>> fit = rs.run_fit(spec, base, obs)                           # doctest: +SKIP
    >>> fit.summary["forecast"]                                     # doctest: +SKIP
    """
    pyabc = _require_pyabc()
    import logging

    for name in ("ABC", "Sampler", "Epsilon", "History", "Distance", "Acceptor", "Adaptation"):
        logging.getLogger(f"ABC.{name}" if name != "ABC" else "ABC").setLevel(
            logging.INFO if progress else logging.WARNING)
    logging.getLogger("pyabc").setLevel(logging.WARNING)

    t_start = time.perf_counter()
    model = CascadeModel(base, spec, observed)
    t_built = time.perf_counter()
    fit_y = observed.value[observed.fit_mask]
    horizon = float(spec.forecast_until if spec.forecast_until is not None else observed.time[-1])
    grid = _forecast_grid(observed, horizon)
    in_window = np.searchsorted(grid, observed.time[observed.fit_mask] - 1e-9)
    keys = [f"p{i}" for i in range(len(model.names))]

    def simulate(par: Dict[str, float]) -> Dict[str, np.ndarray]:
        # each simulation runs to the horizon: an accepted one's future is a draw of the
        # posterior predictive (see the module docstring)
        seed = int(np.random.randint(0, 2**62))  # from the batch's seeded stream
        values = model.values([par[k] for k in keys])
        path = model.simulate(values, seed, grid)
        return {"y": path[in_window], "path": path}

    def distance(x: Dict[str, np.ndarray], x0: Dict[str, np.ndarray]) -> float:
        return log_distance(x["y"], x0["y"])

    prior: Any = pyabc.Distribution(**{k: pyabc.RV("uniform", 0.0, 1.0) for k in keys})
    if spec.population is not None:  # empirical Bayes: see rumorsim.fitprior
        from .fitprior import PyabcPrior

        prior = [PyabcPrior(spec.population.density(), keys)]
    from .engine import default_workers

    # forked local workers inherit pyABC's closures and the built network (this process
    # runs no threads); on Dask they are pickled once per generation
    pool = Workers(default_workers() if workers is None else workers, scheduler, start="fork")
    sampler = _make_sampler(pyabc, pool, spec.seed, spec.simulations, batch_size(spec.particles))
    db_dir = tempfile.mkdtemp(prefix="rumorsim-fit-")
    saved = np.random.get_state()
    try:
        np.random.seed(np.random.SeedSequence(spec.seed).generate_state(4))
        abc = pyabc.ABCSMC(simulate, prior, distance, population_size=spec.particles,
                           sampler=sampler, eps=pyabc.MedianEpsilon())
        abc.new("sqlite:///" + os.path.join(db_dir, "abc.db"), {"y": fit_y})
        history = abc.run(max_total_nr_simulations=spec.simulations)
        if history.max_t < 0:
            raise FitError(
                f"the budget ({spec.simulations} simulations) did not complete one "
                f"generation of {spec.particles} particles",
                suggestion="Raise `simulations` or lower `population_size`")
        particles = history.get_population(t=history.max_t).particles
        pops = history.get_all_populations()
        generations = [{"t": int(r.t), "epsilon": float(r.epsilon), "simulations": int(r.samples)}
                       for r in pops.itertuples() if r.t >= 0]
        n_sims_abc = int(sampler.used)
    finally:
        np.random.set_state(saved)
        shutil.rmtree(db_dir, ignore_errors=True)
    t_abc = time.perf_counter()

    pool.close()
    unit = np.array([[pt.parameter[k] for k in keys] for pt in particles], float)
    paths = np.array([np.asarray(pt.sum_stat["path"], float) for pt in particles])
    w = np.array([pt.weight for pt in particles], float)
    w = w / w.sum()
    values = np.column_stack([p.from_unit(unit[:, i]) for i, p in enumerate(model.priors)])
    posterior = pd.DataFrame(values, columns=model.names)
    posterior["weight"] = w

    # posterior predictive: the accepted simulations' own futures, by weight; `predictive`
    # of them drawn for the figure and FitResult.trajectories
    pred_rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(_PREDICTIVE_BRANCH,)))
    trajectories = paths[pred_rng.choice(len(w), size=spec.predictive, replace=True, p=w)]
    t_pred = time.perf_counter()

    predictive = _predictive_table(observed, grid, paths, w)
    med = {n: float(weighted_quantile(values[:, i], w, [0.5])[0]) for i, n in enumerate(model.names)}
    fitted = _portable(model.scenario(med, until=horizon, resolved=True))
    summary = _summary(spec, observed, model, values, w, predictive, paths, horizon,
                       generations, n_sims_abc,
                       {"build_seconds": t_built - t_start, "abc_seconds": t_abc - t_built,
                        "predictive_seconds": t_pred - t_abc,
                        "total_seconds": t_pred - t_start},
                       None if pool.dask else pool.workers,
                       scheduler is not None)
    return FitResult(spec=spec, observed=observed, posterior=posterior, predictive=predictive,
                     trajectories=trajectories, summary=summary, scenario=fitted,
                     generations=generations)


def _portable(sc: Scenario) -> Scenario:
    """The scenario with its edge-list paths made absolute, so the fitted scenario.yaml
    runs from the fit directory (which has no copy of the data)."""
    from .edgelist import resolve_path

    moves = [f"network.layers.{name}.path={resolve_path(ly.path, sc.base_dir).resolve()}"
             for name, ly in sc.network.layers.items() if ly.generator == "edgelist"]
    return _override(sc, moves) if moves else sc


def _forecast_grid(observed: Observed, horizon: float) -> np.ndarray:
    """Observation times up to the horizon, continued at the data's typical spacing."""
    t = observed.time[observed.time <= horizon + 1e-9]
    if t[0] > 0:
        t = np.concatenate([[0.0], t])
    if t[-1] < horizon - 1e-9:
        step = float(np.median(np.diff(observed.time))) if len(observed.time) > 1 else horizon
        extra = np.arange(t[-1] + step, horizon + 1e-9, step)
        t = np.concatenate([t, extra, [] if extra.size and extra[-1] >= horizon - 1e-9 else [horizon]])
    return t


def _band(paths: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(3, times): the weighted 5th percentile, median and 95th percentile per time."""
    q = [BAND[0] / 100, 0.5, BAND[1] / 100]
    return np.column_stack([_weighted_quantile_steps(paths[:, j], w, q) for j in range(paths.shape[1])])


def _weighted_quantile_steps(values: np.ndarray, weights: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Quantiles of a weighted sample without interpolating between counts: the smallest
    value whose weighted CDF reaches q (counts stay whole numbers of people)."""
    order = np.argsort(values, kind="stable")
    v, cdf = values[order], np.cumsum(weights[order])
    cdf = cdf / cdf[-1]
    return v[np.minimum(np.searchsorted(cdf, np.asarray(q) - 1e-12), len(v) - 1)]


def _predictive_table(observed: Observed, grid: np.ndarray, paths: np.ndarray,
                      w: np.ndarray) -> pd.DataFrame:
    lo, med, hi = _band(paths, w)
    obs = np.full(len(grid), np.nan)
    idx = np.searchsorted(observed.time, grid - 1e-9)
    ok = (idx < len(observed.time))
    ok[ok] &= np.abs(observed.time[idx[ok]] - grid[ok]) < 1e-9
    obs[ok] = observed.value[idx[ok]]
    return pd.DataFrame({"time": grid, "observed": obs, "median": med, "low": lo, "high": hi,
                         "in_fit": grid <= observed.until + 1e-9})


def _summary(spec: FitSpec, observed: Observed, model: CascadeModel, values: np.ndarray,
             w: np.ndarray, predictive: pd.DataFrame, paths: np.ndarray, horizon: float,
             generations: List[Dict[str, float]], n_abc: int, timings: Dict[str, float],
             workers: Optional[int], dask: bool) -> Dict[str, Any]:
    params = {}
    for i, n in enumerate(model.names):
        lo, med, hi = weighted_quantile(values[:, i], w, [BAND[0] / 100, 0.5, BAND[1] / 100])
        prior = spec.parameters[n]
        params[n] = {"median": med, "low": lo, "high": hi, "prior_low": prior.low,
                     "prior_high": prior.high, "scale": prior.scale, "label": prior.label}
    lo, med, hi = predictive[["low", "median", "high"]].iloc[-1]
    forecast = {"time": horizon, "unit": observed.unit, "median": float(med),
                "low": float(lo), "high": float(hi)}
    last = predictive.iloc[-1]
    if np.isfinite(last["observed"]):
        forecast["observed"] = float(last["observed"])
        forecast["abs_log_error"] = abs(math.log(forecast["median"] + 1) - math.log(forecast["observed"] + 1))
        forecast["inside_interval"] = bool(forecast["low"] <= forecast["observed"] <= forecast["high"])
    in_fit = predictive[predictive["in_fit"] & predictive["observed"].notna()]
    held = predictive[~predictive["in_fit"] & predictive["observed"].notna()]

    def score(rows: pd.DataFrame) -> Optional[Dict[str, float]]:
        if rows.empty:
            return None
        return {"rms_log_error": log_distance(rows["median"], rows["observed"]),
                "coverage_90": float(np.mean((rows["observed"] >= rows["low"]) &
                                             (rows["observed"] <= rows["high"]))),
                "points": int(len(rows))}

    return {
        "cascade": observed.cascade,
        "fit_until": observed.until,
        "unit": observed.unit,
        "method": spec.method,
        "prior": _prior_summary(spec),
        "parameters": params,
        "forecast": forecast,
        "score": {"fit_window": score(in_fit), "after_fit_window": score(held),
                  "final_epsilon": generations[-1]["epsilon"] if generations else None},
        "budget": {"simulations": spec.simulations, "abc_simulations": n_abc,
                   "predictive_paths": int(len(paths)), "particles": spec.particles,
                   "generations": len(generations), "workers": workers, "dask": dask},
        "generations": generations,
        "timings": timings,
        "seed": spec.seed,
    }


def _prior_summary(spec: FitSpec) -> Dict[str, Any]:
    if spec.population is None:
        return {"kind": "uniform"}
    from .fitprior import describe

    return {"kind": "population", **describe(spec.population)}


def fit_file(path: PathLike, *, data: Optional[PathLike] = None, cascade: Optional[str] = None,
             until: Optional[float] = None, prior: Optional[PathLike] = None,
             workers: Optional[int] = None, scheduler: Any = None,
             progress: bool = False) -> FitResult:
    """Load a fit file (with the CLI's overrides) and run it: ``rumorsim fit`` in Python."""
    spec, base, observed = load_fit(path, data=data, cascade=cascade, until=until, prior=prior)
    return run_fit(spec, base, observed, workers=workers, scheduler=scheduler, progress=progress)
