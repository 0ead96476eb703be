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
   ``[log low, log high]``) and mapped to their values; the distance between a
   simulation and the data is the root mean square of the differences of
   ``log(1 + count)`` over the observations in the fit window (counts from 1 to
   thousands weigh alike in relative terms).
3. Each generation's tolerance is the median distance of the previous one (pyABC's
   ``MedianEpsilon``); the fit stops when the simulation budget is spent (a generation
   that would overrun it is dropped: the posterior is the last complete generation;
   the first generation always completes, so a tiny budget may be overrun by it).
4. The posterior predictive: ``predictive`` particles drawn by weight, each simulated
   to ``forecast_until`` with a fresh seed; median and 90 % band per time.

Randomness and parallelism: simulations run in batches of fixed size, each batch with
its own seed from the fit's ``SeedSequence``; batches are taken in order, so the
particles, the posterior and the forecast are the same at any number of workers (local
processes, or a Dask cluster with ``scheduler=``). pyABC draws its proposals from
numpy's global generator; each batch seeds it and restores the caller's state after,
so nothing outside the fit sees a change (a lock keeps two threads of one process,
e.g. a Dask worker's, from interleaving: start Dask workers with ``--nthreads 1``).
Local workers are forked processes: they inherit the built network and the compiled
kernel, so a fit's workers start in milliseconds (the parent runs no threads).

Why not the sweep runner (:func:`rumorsim.sweep.run_points`): it returns one number per
outcome and replicate, and a fit needs the whole observed series of each simulation;
the executors here follow the same rules (seeded tasks, results in a fixed order, local
processes or a Dask ``scheduler``).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Union

import numpy as np
import pandas as pd

from .errors import RumorsimError
from .fitfile import FitSpec, Observed, load_fit
from .scenario import Scenario, _Tree, apply_override

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


_PAYLOAD: Any = None  # what a forked worker process runs (set by the pool's initializer)
_GLOBAL_RNG_LOCK = threading.Lock()


def _set_payload(payload: Any) -> None:
    global _PAYLOAD
    _PAYLOAD = payload


def _call(arg: Any, payload: Any = None) -> Any:
    """Run one task: ``payload(arg)``, the payload given or the one a worker inherited."""
    return (payload if payload is not None else _PAYLOAD)(arg)


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


class _InProcess:
    """An executor that runs each task at once, in this process (workers = 1)."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload

    def submit(self, fn: Callable, arg: Any) -> Future:
        f: Future = Future()
        f.set_result(fn(arg, payload=self.payload))
        return f


class _DaskExecutor:
    def __init__(self, client: Any, payload: Any) -> None:
        self.client = client
        [self.payload] = client.scatter([payload], broadcast=True)

    def submit(self, fn: Callable, arg: Any) -> Any:
        return self.client.submit(fn, arg, payload=self.payload, pure=False)


class Runner:
    """Where tasks run: this process, local worker processes, or a Dask cluster.

    Parameters
    ----------
    workers : local processes (default: all cores); 1 runs in this process.
    scheduler : a Dask scheduler address (``tcp://host:8786``) or a
        ``distributed.Client``; overrides ``workers``.
    """

    def __init__(self, workers: Optional[int] = None, scheduler: Any = None) -> None:
        from .engine import default_workers

        self.workers = default_workers() if workers is None else max(1, int(workers))
        self.client = None
        self._own_client = False
        if scheduler is not None:
            try:
                from distributed import Client
            except ImportError:
                raise FitError("a Dask scheduler needs dask.distributed",
                               suggestion='Install it with: pip install "rumorsim[sweep]"') from None
            if isinstance(scheduler, Client):
                self.client = scheduler
            else:
                try:
                    self.client = Client(str(scheduler), timeout=30)
                except (OSError, TimeoutError, ValueError) as exc:
                    raise FitError(f"cannot reach the Dask scheduler `{scheduler}`: {exc}",
                                   suggestion="Check the address (tcp://host:8786) and that "
                                   "the scheduler is running") from None
                self._own_client = True
            self.workers = max(1, sum(self.client.nthreads().values()))
        self.tasks_run = 0

    def _executor(self, payload: Any) -> Any:
        if self.client is not None:
            return _DaskExecutor(self.client, payload)
        if self.workers == 1:
            return _InProcess(payload)
        # fork: the workers inherit the payload (network, compiled kernel) without pickling
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_set_payload, initargs=(payload,))

    def map(self, payload: Callable[[Any], Any], args: Iterable[Any]) -> Iterator[Any]:
        """``payload(arg)`` for each arg, in order, lazily: at most ``2 x workers`` tasks
        are in flight, and stopping early cancels the rest."""
        ex = self._executor(payload)
        pending: List[Any] = []
        args = iter(args)
        try:
            while True:
                while len(pending) < 2 * self.workers:
                    arg = next(args, _END)
                    if arg is _END:
                        break
                    pending.append(ex.submit(_call, arg))
                if not pending:
                    return
                out = pending.pop(0).result()
                self.tasks_run += 1
                yield out
        finally:
            for f in pending:
                f.cancel()
            if isinstance(ex, ProcessPoolExecutor):
                ex.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        if self.client is not None and self._own_client:
            self.client.close()
        self.client = None


_END = object()


def _batch_seeds(seed: int, *key: int) -> Iterator[np.ndarray]:
    """Seed words of batch 0, 1, 2, ... under spawn key ``key`` of the fit's seed."""
    root = np.random.SeedSequence(seed)
    b = 0
    while True:
        yield np.random.SeedSequence(root.entropy, spawn_key=(*key, b)).generate_state(4)
        b += 1


def _make_sampler(pyabc: Any, runner: Runner, seed: int, budget: int, batch: int) -> Any:
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
            for out in runner.map(_SeededRepeat(simulate_one, batch),
                                    _batch_seeds(seed, _ABC_BRANCH, self.calls)):
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
    fit_t = observed.time[observed.fit_mask]
    fit_y = observed.value[observed.fit_mask]
    horizon = float(spec.forecast_until if spec.forecast_until is not None else observed.time[-1])
    keys = [f"p{i}" for i in range(len(model.names))]

    def simulate(par: Dict[str, float]) -> Dict[str, np.ndarray]:
        seed = int(np.random.randint(0, 2**62))  # from the batch's seeded stream
        values = model.values([par[k] for k in keys])
        return {"y": model.simulate(values, seed, fit_t)}

    def distance(x: Dict[str, np.ndarray], x0: Dict[str, np.ndarray]) -> float:
        return log_distance(x["y"], x0["y"])

    prior = pyabc.Distribution(**{k: pyabc.RV("uniform", 0.0, 1.0) for k in keys})
    runner = Runner(workers, scheduler)
    sampler = _make_sampler(pyabc, runner, spec.seed, spec.simulations, batch_size(spec.particles))
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
        df, w = history.get_distribution(m=0, t=history.max_t)
        pops = history.get_all_populations()
        generations = [{"t": int(r.t), "epsilon": float(r.epsilon), "simulations": int(r.samples)}
                       for r in pops.itertuples() if r.t >= 0]
        n_sims_abc = int(sampler.used)
    finally:
        np.random.set_state(saved)
        shutil.rmtree(db_dir, ignore_errors=True)
    t_abc = time.perf_counter()

    unit = df[keys].to_numpy(float)
    w = np.asarray(w, float) / np.sum(w)
    values = np.column_stack([p.from_unit(unit[:, i]) for i, p in enumerate(model.priors)])
    posterior = pd.DataFrame(values, columns=model.names)
    posterior["weight"] = w

    # posterior predictive: particles by weight, each one replicate to the horizon
    grid = _forecast_grid(observed, horizon)
    pred_rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(_PREDICTIVE_BRANCH,)))
    picks = pred_rng.choice(len(w), size=spec.predictive, replace=True, p=w)
    sim_seeds = pred_rng.integers(0, 2**62, size=spec.predictive)
    trajectories = _predict(model, runner, values[picks], sim_seeds, grid)
    runner.close()
    t_pred = time.perf_counter()

    predictive = _predictive_table(observed, grid, trajectories)
    med = {n: float(weighted_quantile(values[:, i], w, [0.5])[0]) for i, n in enumerate(model.names)}
    fitted = _portable(model.scenario(med, until=horizon, resolved=True))
    summary = _summary(spec, observed, model, values, w, predictive, trajectories, horizon,
                       generations, n_sims_abc,
                       {"build_seconds": t_built - t_start, "abc_seconds": t_abc - t_built,
                        "predictive_seconds": t_pred - t_abc,
                        "total_seconds": t_pred - t_start},
                       runner.workers if runner.client is None else None,
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


def _predict(model: CascadeModel, runner: Runner, params: np.ndarray, seeds: np.ndarray,
             grid: np.ndarray) -> np.ndarray:
    """Simulate each parameter row with its own seed; (rows, grid) counts, in row order
    (the same at any number of workers: each row's seed is fixed in advance)."""
    n = len(params)
    chunks = [list(range(i, min(n, i + BATCH))) for i in range(0, n, BATCH)]
    out = np.zeros((n, len(grid)), float)
    task = _RowSimulator(model, params, seeds, grid)
    for chunk, res in zip(chunks, runner.map(task, chunks)):
        out[chunk] = res
    return out


class _RowSimulator:
    def __init__(self, model: CascadeModel, params: np.ndarray, seeds: np.ndarray, grid: np.ndarray):
        self.model, self.params, self.seeds, self.grid = model, params, seeds, grid

    def __call__(self, rows: Sequence[int]) -> np.ndarray:
        m = self.model
        return np.stack([m.simulate(dict(zip(m.names, self.params[r])), int(self.seeds[r]), self.grid)
                         for r in rows])


def _predictive_table(observed: Observed, grid: np.ndarray, traj: np.ndarray) -> pd.DataFrame:
    lo, med, hi = np.percentile(traj, [BAND[0], 50.0, BAND[1]], axis=0)
    obs = np.full(len(grid), np.nan)
    idx = np.searchsorted(observed.time, grid - 1e-9)
    ok = (idx < len(observed.time))
    ok[ok] &= np.abs(observed.time[idx[ok]] - grid[ok]) < 1e-9
    obs[ok] = observed.value[idx[ok]]
    return pd.DataFrame({"time": grid, "observed": obs, "median": med, "low": lo, "high": hi,
                         "in_fit": grid <= observed.until + 1e-9})


def _summary(spec: FitSpec, observed: Observed, model: CascadeModel, values: np.ndarray,
             w: np.ndarray, predictive: pd.DataFrame, traj: np.ndarray, horizon: float,
             generations: List[Dict[str, float]], n_abc: int, timings: Dict[str, float],
             workers: Optional[int], dask: bool) -> Dict[str, Any]:
    params = {}
    for i, n in enumerate(model.names):
        lo, med, hi = weighted_quantile(values[:, i], w, [BAND[0] / 100, 0.5, BAND[1] / 100])
        prior = spec.parameters[n]
        params[n] = {"median": med, "low": lo, "high": hi, "prior_low": prior.low,
                     "prior_high": prior.high, "scale": prior.scale, "label": prior.label}
    final = traj[:, -1]
    forecast = {"time": horizon, "unit": observed.unit, "median": float(np.median(final)),
                "low": float(np.percentile(final, BAND[0])), "high": float(np.percentile(final, BAND[1]))}
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
        "parameters": params,
        "forecast": forecast,
        "score": {"fit_window": score(in_fit), "after_fit_window": score(held),
                  "final_epsilon": generations[-1]["epsilon"] if generations else None},
        "budget": {"simulations": spec.simulations, "abc_simulations": n_abc,
                   "predictive_simulations": int(len(traj)), "particles": spec.particles,
                   "generations": len(generations), "workers": workers, "dask": dask},
        "generations": generations,
        "timings": timings,
        "seed": spec.seed,
    }


def fit_file(path: PathLike, *, data: Optional[PathLike] = None, cascade: Optional[str] = None,
             until: Optional[float] = None, workers: Optional[int] = None, scheduler: Any = None,
             progress: bool = False) -> FitResult:
    """Load a fit file (with the CLI's overrides) and run it: ``rumorsim fit`` in Python."""
    spec, base, observed = load_fit(path, data=data, cascade=cascade, until=until)
    return run_fit(spec, base, observed, workers=workers, scheduler=scheduler, progress=progress)
