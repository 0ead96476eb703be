"""Running sweeps: points in, one tidy table out, on local processes or a Dask cluster.

Two entry points:

- :func:`run_points` - in memory: a base scenario, a list of points (``{dotted.path:
  value}``), replicates and a seed -> a DataFrame with one row per (point, replicate).
  For code that drives its own search (a fit, an optimiser) in batches.
- :func:`run_sweep` - on disk, for a sweep file: every finished point is committed
  atomically to ``DIR/points/``, a killed sweep resumes where it stopped, a failing
  point is recorded and the others go on, and the tables, figures and (for Sobol and
  Morris designs) the sensitivity analysis are written at the end.

Seeds. One ``SeedSequence`` decides everything. With common random numbers (the
default) every point is run with the sweep's own seed, so replicate ``r`` of every
point uses the same child stream (and the same network, when no network parameter is
swept): a 1-D sweep draws a smooth curve and the difference between two points is not
drowned in replicate noise. Without them, point ``i`` gets the seed
``point_seed(seed, i)``, a child of the sweep's seed. Either way the ``seed`` column is
the point's run seed: ``rumorsim run BASE --set PATH=VALUE ... --seed SEED --reps R``
gives the same rows. Nothing depends on the number of workers, their order, or the
scheduler.

Throughput. A task carries the base scenario as YAML text plus the bytes of its
edge-list files (:class:`BasePayload`; no shared file system is assumed), sent once per
worker process (an initializer locally, ``Client.scatter`` on Dask). Each worker parses
the base once, keeps the compiled kernel (numba's cache, loaded once per process) and
keeps the last networks it built, keyed by the network section, the number of agents,
the seed and the base: a network is rebuilt only when a swept parameter changes it.

Executors (:mod:`rumorsim.workers`, shared with the fit): ``workers=1`` (the default)
runs points one after another in this process, each point's replicates on threads over
all cores (as ``rumorsim run`` does); ``workers=N`` starts N worker processes (from a
fork server, each with cores / N threads); ``scheduler="tcp://host:port"`` (or a
``dask.distributed`` Client or LocalCluster) sends the points to a Dask cluster, one
thread per task.

A lab's cluster. Any Dask scheduler will do; the workers need ``pip install
"rumorsim[sweep]"`` (the same version) but no shared file system::

    dask scheduler                                   # on one machine: tcp://HOST:8786
    dask worker tcp://HOST:8786 --nthreads 1         # on each machine (or each core)
    rumorsim sweep my_sweep.yaml --scheduler tcp://HOST:8786

On SLURM or PBS, ``dask-jobqueue`` submits the workers as jobs; pass its cluster object
from Python (or give ``--scheduler`` its ``cluster.scheduler_address``)::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=1, memory="4GB", walltime="02:00:00")
    cluster.scale(jobs=20)
    rs.run_sweep(rs.load_sweep("my_sweep.yaml"), "runs/my_sweep", scheduler=cluster)
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import platform
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from .errors import RumorsimError, ScenarioError
from .outputs import write_json, write_text_atomic
from .scenario import Scenario
from .sweepdir import (SWEEP_FORMAT, build_rows, commit_point, load_point_results, prepare_directory,
                       write_frame, write_tables)

PathLike = Union[str, os.PathLike]

#: spawn_key branch of the sweep seed that per-point seeds come from (no common random numbers).
POINT_KEY = 2**31 - 3
#: Networks a worker keeps (the last ones built); large graphs make more pointless.
NETWORK_CACHE = 2


class SweepError(RumorsimError):
    """Some points of a sweep failed (their messages are in ``failures``)."""

    def __init__(self, message: str, failures: Optional[Dict[int, str]] = None, **kw: Any) -> None:
        self.failures = dict(failures or {})
        super().__init__(message, **kw)


# ------------------------------------------------------------------ seeds


def point_seed(seed: int, point: int, common_random_numbers: bool = True) -> int:
    """The run seed of point ``point``: the sweep's seed, or (without common random
    numbers) a 63-bit child of it, so that ``rumorsim run --seed`` takes it."""
    if common_random_numbers:
        return int(seed)
    words = np.random.SeedSequence(int(seed), spawn_key=(POINT_KEY, int(point))).generate_state(2, np.uint32)
    return int((int(words[0]) << 32 | int(words[1])) & (2**63 - 1))


# -------------------------------------------------------------- payloads


@dataclass(frozen=True)
class BasePayload:
    """The base scenario as a worker receives it: YAML text and edge-list bytes.

    ``text`` is the resolved scenario with every edge-list path replaced by a local file
    name, and ``files`` holds those files' bytes; a worker writes them to a private
    temporary folder and parses the text there. ``key`` identifies the payload.
    """

    key: str
    name: str
    text: str
    files: Tuple[Tuple[str, bytes], ...] = ()


def make_payload(base: Scenario) -> BasePayload:
    """Pack a resolved scenario (and its edge-list files) for a worker."""
    import yaml

    data = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    files: List[Tuple[str, bytes]] = []
    for i, (lname, layer) in enumerate(base.network.layers.items()):
        if layer.generator != "edgelist":
            continue
        p = Path(layer.path)
        p = p if p.is_absolute() else base.base_dir / p
        local = f"edges_{i}{''.join(p.suffixes[-2:])}"
        files.append((local, p.read_bytes()))
        data["network"]["layers"][lname]["path"] = local
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    h = hashlib.sha256(text.encode("utf-8"))
    for n, b in files:
        h.update(n.encode())
        h.update(hashlib.sha256(b).digest())
    stem = Path(base.source).stem if base.source else "scenario"
    return BasePayload(key=h.hexdigest()[:20], name=stem, text=text, files=tuple(files))


# Per-process worker state: the parsed base scenarios (and their plain data, to which
# each point's overrides are applied), and the last networks built.
_BASES: Dict[str, Scenario] = {}
_BASE_DATA: Dict[str, Dict[str, Any]] = {}
_NETWORKS: "OrderedDict[str, Any]" = OrderedDict()
_DIRS: List[str] = []
# A Dask worker with several threads runs several points in one process: one builds a base
# or a network while the others wait for it (and then share it) rather than build it twice.
_CACHE_LOCK = threading.Lock()


def _cleanup_dirs() -> None:
    for d in _DIRS:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup_dirs)


def forget_cached() -> None:
    """Drop this process's cached base scenarios and networks (they are rebuilt on demand)."""
    with _CACHE_LOCK:
        _BASES.clear()
        _BASE_DATA.clear()
        _NETWORKS.clear()


def _base_scenario(payload: BasePayload) -> Scenario:
    with _CACHE_LOCK:
        return _base_scenario_locked(payload)


def _base_scenario_locked(payload: BasePayload) -> Scenario:
    sc = _BASES.get(payload.key)
    if sc is None:
        from .scenario import parse_scenario

        d = tempfile.mkdtemp(prefix="rumorsim-sweep-")
        _DIRS.append(d)
        for n, b in payload.files:
            Path(d, n).write_bytes(b)
        sc = parse_scenario(payload.text, str(Path(d) / f"{payload.name}.yaml"))
        _BASES[payload.key] = sc
        _BASE_DATA[payload.key] = sc.model_dump(mode="json", by_alias=True, exclude_none=True)
    return sc


def _point_scenario(payload: BasePayload, overrides: Sequence[str]) -> Scenario:
    """The base with a point's overrides, validated as ``--set`` would (without YAML text)."""
    from .scenario import scenario_from_data

    base = _base_scenario(payload)
    if not overrides:
        return base
    return scenario_from_data(_BASE_DATA[payload.key], base.source or "<scenario>", list(overrides))


def _network_for(sc: Scenario, seed: int, payload_key: str) -> Tuple[Any, bool]:
    """The network of ``sc`` at ``seed``, from the cache if it was built before."""
    key = json.dumps([sc.network.model_dump(mode="json"), sc.population.agents, int(seed), payload_key],
                     sort_keys=True)
    with _CACHE_LOCK:
        return _network_locked(sc, seed, key)


def _network_locked(sc: Scenario, seed: int, key: str) -> Tuple[Any, bool]:
    from .network import build_network

    net = _NETWORKS.get(key)
    if net is not None:
        _NETWORKS.move_to_end(key)
        return net, False
    net = build_network(sc.network, sc.population.agents, np.random.SeedSequence(int(seed)),
                        base_dir=sc.base_dir, source=sc.source)
    _NETWORKS[key] = net
    while len(_NETWORKS) > NETWORK_CACHE:
        _NETWORKS.popitem(last=False)
    return net, True


def _override_text(path: str, value: Any) -> str:
    from .scenario import yaml_value as _yaml_value
    from .sweepfile import _plain

    if isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(value, bool):
        value = _plain(float(value))
    return f"{path}={_yaml_value(value)}"


def point_overrides(point: Mapping[str, Any]) -> List[str]:
    """The ``--set`` strings of a point (what ``rumorsim run`` needs to reproduce it)."""
    return [_override_text(k, v) for k, v in point.items()]


def run_point(payload: BasePayload, point: int, overrides: Sequence[str], replicates: int, seed: int,
              outcomes: Sequence[str], threads: int = 1) -> Dict[str, Any]:
    """Run one point in this process; never raises for a problem of the point itself.

    Returns ``{"point", "status": "ok", "values": {outcome: [R floats]}, "seconds",
    "network_built", "host"}`` or ``{"point", "status": "failed", "error": message}``.
    """
    t0 = time.perf_counter()
    out: Dict[str, Any] = {"point": int(point), "host": socket.gethostname(), "pid": os.getpid()}
    try:
        from .api import build, check_fits
        from .engine import run_replicates
        from .results import Results

        sc = _point_scenario(payload, overrides)
        check_fits(sc, replicates=int(replicates), workers=threads)  # refused before building
        net, built = _network_for(sc, seed, payload.key)
        _, model, _ = build(sc, seed=seed, network=net, check=False)
        raw = run_replicates(model, int(replicates), int(seed), workers=threads)
        res = Results(sc, model.info, raw)
        out.update(status="ok", values={o: res.outcome_array(o).tolist() for o in outcomes},
                   network_built=built)
    except RumorsimError as exc:
        out.update(status="failed", error=exc.format())
    except MemoryError:
        out.update(status="failed", error="ran out of memory")
    except Exception as exc:  # a bug or a kernel error: recorded, the other points go on
        out.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    out["seconds"] = time.perf_counter() - t0
    return out


# ------------------------------------------------------------- executors


def _point_task(payload: BasePayload, task: Tuple[int, List[str], int, int, int, List[str]]) -> Dict[str, Any]:
    point, overrides, replicates, seed, threads, outcomes = task
    return run_point(payload, point, overrides, replicates, seed, outcomes, threads)


Task = Tuple[int, List[str], int]  # (point, overrides, seed)


def execute(payload: BasePayload, tasks: Sequence[Task], replicates: int, outcomes: Sequence[str], *,
            workers: Optional[int] = None, scheduler: Any = None,
            on_done: Callable[[Dict[str, Any]], None]) -> None:
    """Run ``tasks`` and call ``on_done`` with each point's result as it finishes.

    Parameters
    ----------
    payload : the base scenario, packed.
    tasks : ``(point, overrides, seed)`` triples.
    replicates : per point.
    outcomes : which outcomes to return.
    workers : local processes (1 = this process; default 1).
    scheduler : a Dask scheduler address, Client or cluster object (overrides ``workers``).
    on_done : called in this process, in completion order.

    The points run on :class:`rumorsim.workers.Workers`: with ``workers=1`` one after
    another in this process, each point's replicates on threads over all cores (as
    ``rumorsim run`` does; several points at once on threads measured no faster on 2
    cores: the points' Python set-up then competes for the GIL instead of overlapping
    the kernel); else on worker processes (cores / N threads each) or Dask (one thread
    per task).
    """
    from .workers import TaskFailed, Workers

    if not tasks:
        return
    n = min(1 if workers is None else max(1, int(workers)), len(tasks))
    with Workers(n, scheduler, preload=["rumorsim.sweep", "rumorsim.api", "rumorsim.engine"]) as pool:
        threads = pool.threads_per_task
        args = [(point, list(ovr), int(replicates), seed, threads, list(outcomes))
                for point, ovr, seed in tasks]
        for i, result in pool.map(_point_task, payload, args, ordered=False, window=0,
                                  errors="return", name=f"rumorsim-point-{payload.key}"):
            if isinstance(result, TaskFailed):
                result = {"point": tasks[i][0], "status": "failed", "error": result.message}
            on_done(result)


# ------------------------------------------------------------ in memory


def run_points(
    base: Union[Scenario, str, Path],
    points: Union[Sequence[Mapping[str, Any]], pd.DataFrame],
    replicates: int,
    seed: int,
    outcomes: Optional[Sequence[str]] = None,
    *,
    workers: Optional[int] = None,
    scheduler: Any = None,
    common_random_numbers: bool = True,
    first_point: int = 0,
    on_error: str = "raise",
) -> pd.DataFrame:
    """Run replicates of a scenario at several points and return the tidy table.

    Parameters
    ----------
    base : a Scenario, a scenario file, or a shipped scenario's name.
    points : ``{dotted.path: value}`` maps (or a DataFrame, one column per path); every
        point must set the same paths.
    replicates : per point.
    seed : the run seed of every point with common random numbers; else the root of the
        per-point seeds (``point_seed(seed, first_point + i, False)``).
    outcomes : outcome names (default: all of the base scenario's).
    workers : local processes (default 1: this process, replicates on all cores).
    scheduler : a Dask scheduler address (``tcp://host:8786``), Client or cluster.
    common_random_numbers : share the replicate streams across points (default).
    first_point : number of the first point (batches of one search keep distinct seeds).
    on_error : ``"raise"`` (SweepError naming the failed points) or ``"nan"`` (their rows
        are kept with NaN outcomes; ``df.attrs["failures"]`` holds the messages).

    Returns
    -------
    DataFrame
        Columns ``point, replicate, seed``, one per path, one per outcome; sorted by
        (point, replicate). The same for any ``workers`` or ``scheduler``.

    Examples
    --------
    >>> df = run_points("classic/sir", [{"transitions.infection.rate": 0.2},
    ...                                  {"transitions.infection.rate": 0.4}],
    ...                 replicates=4, seed=1, outcomes=["final_health_R"])   # doctest: +SKIP
    """
    from .api import load
    from .sweepfile import _outcome_names

    sc = base if isinstance(base, Scenario) else load(base)
    table = points.copy() if isinstance(points, pd.DataFrame) else pd.DataFrame(list(points))
    table.index = pd.RangeIndex(first_point, first_point + len(table), name="point")
    known = _outcome_names(sc)
    outcomes = list(known if outcomes is None else outcomes)
    bad = [o for o in outcomes if o not in known]
    if bad:
        raise ScenarioError(f"the scenario has no outcome `{bad[0]}`", field="outcomes",
                            expected=f"one of {', '.join(known)}")
    payload = make_payload(sc)
    seeds = {int(p): point_seed(seed, int(p), common_random_numbers) for p in table.index}
    tasks = [(int(p), point_overrides(table.loc[p].to_dict()), seeds[int(p)]) for p in table.index]
    results: Dict[int, Dict[str, Any]] = {}
    execute(payload, tasks, replicates, outcomes, workers=workers, scheduler=scheduler,
            on_done=lambda r: results.__setitem__(int(r["point"]), r))
    failures = {p: r.get("error", "") for p, r in results.items() if r.get("status") != "ok"}
    if failures and on_error == "raise":
        first = min(failures)
        raise SweepError(f"{len(failures)} of {len(table)} points failed; point {first}: {failures[first]}",
                         failures)
    if failures:
        R = int(replicates)
        for p in failures:
            results[p] = {"status": "ok", "values": {o: [float("nan")] * R for o in outcomes}}
    df = build_rows(table, seeds, results, replicates, outcomes)
    df.attrs["failures"] = failures
    return df


# ------------------------------------------------------------- on disk


@dataclass
class SweepRun:
    """What :func:`run_sweep` did: where, how many points reused, computed, failed."""

    directory: Path
    points: int
    reused: int
    computed: int
    failures: Dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0
    written: List[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def run_sweep(
    spec: "Any",
    out: PathLike,
    *,
    workers: Optional[int] = None,
    scheduler: Any = None,
    overwrite: bool = False,
    progress: Optional[bool] = None,
    command: Optional[str] = None,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
    figures: bool = True,
) -> SweepRun:
    """Run a sweep into a directory, resuming an interrupted one.

    Parameters
    ----------
    spec : a SweepSpec (``rumorsim.sweepfile.load_sweep``).
    out : the sweep directory.
    workers, scheduler : as for :func:`run_points`.
    overwrite : replace a directory that holds a different sweep.
    progress : a tqdm bar (default: when standard error is a terminal); else plain lines.
    command : recorded in provenance.json.
    log : where plain progress lines and the resume message go.
    figures : draw the figures at the end.

    Returns
    -------
    SweepRun
        Failed points are listed in ``failures`` (and ``failures.csv``); the others are
        all in the tables.
    """
    from . import __version__
    from .design import design_points

    out = Path(out)
    t_start = time.perf_counter()
    fingerprint = spec.fingerprint()
    points = design_points(spec)
    resume = prepare_directory(out, fingerprint, overwrite=overwrite)
    (out / "points").mkdir(parents=True, exist_ok=True)
    for stale in out.glob("**/.*.tmp-*"):
        stale.unlink(missing_ok=True)  # left by a kill in the middle of a write
    if not resume:  # the marker first: a sweep killed from here on is resumed, not refused
        write_text_atomic(out / "sweep.json", json.dumps({
            "format": SWEEP_FORMAT, "fingerprint": fingerprint, "name": spec.name,
            "design": spec.design, "parameters": list(spec.paths), "outcomes": list(spec.outcomes),
            "points": len(points), "replicates": spec.replicates, "seed": spec.seed,
            "common_random_numbers": spec.common_random_numbers,
            "contour": ({"outcome": spec.contour_outcome, "level": spec.contour_level}
                        if spec.contour_outcome else None),
        }, indent=2))
    # The rest of the sweep's description is deterministic: (re)written on every run.
    import yaml

    from .scenario import scenario_yaml

    write_text_atomic(out / "sweep.yaml", yaml.safe_dump(spec.to_dict(), sort_keys=False, allow_unicode=True))
    write_text_atomic(out / "base_scenario.yaml", scenario_yaml(spec.base))
    write_frame(points.reset_index(), out / "design.csv")
    if spec.design != "grid":  # the sampler's own numbers (log space, before rounding)
        from .design import unit_samples

        write_frame(pd.DataFrame(unit_samples(spec), columns=list(spec.paths)), out / "samples.csv")

    seeds = {int(p): point_seed(spec.seed, int(p), spec.common_random_numbers) for p in points.index}
    results = {p: r for p, r in load_point_results(out).items() if p in seeds}
    done = {p for p, r in results.items() if r.get("status") == "ok"}
    todo = [int(p) for p in points.index if int(p) not in done]
    if resume:
        log(f"resuming {out}: {len(done)} of {len(points)} points reused, {len(todo)} to compute")
    payload = make_payload(spec.base)
    tasks = [(p, point_overrides(points.loc[p].to_dict()), seeds[p]) for p in todo]

    show_bar = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show_bar and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=spec.name[:40], unit="point", file=sys.stderr)
    state = {"n": 0, "last": time.perf_counter(), "t0": time.perf_counter(), "compute": 0.0}

    def on_done(r: Dict[str, Any]) -> None:
        p = int(r["point"])
        r["seed"] = seeds[p]
        r["parameters"] = {k: float(v) for k, v in points.loc[p].items()}
        commit_point(out, r)
        results[p] = r
        state["n"] += 1
        state["compute"] += float(r.get("seconds", 0.0))
        if bar is not None:
            bar.update(1)
            if r.get("status") != "ok":
                bar.write(f"point {p} failed: {r.get('error')}")
        else:
            now = time.perf_counter()
            if r.get("status") != "ok":
                log(f"point {p} failed: {r.get('error')}")
            if now - state["last"] > 10 or state["n"] == len(todo):
                el = now - state["t0"]
                eta = el / state["n"] * (len(todo) - state["n"])
                log(f"{state['n']}/{len(todo)} points ({el:.0f} s, about {eta:.0f} s left)")
                state["last"] = now

    try:
        execute(payload, tasks, spec.replicates, spec.outcomes, workers=workers, scheduler=scheduler,
                on_done=on_done)
    finally:
        if bar is not None:
            bar.close()
    failures = {p: r.get("error", "") for p, r in results.items() if r.get("status") != "ok"}
    written = write_tables(out, spec, points, seeds, results, failures)
    seconds = time.perf_counter() - t_start
    prov = {
        "rumorsim_version": __version__,
        "format": SWEEP_FORMAT,
        "command": command if command is not None else " ".join(sys.argv),
        "sweep_file": spec.source,
        "base_scenario": spec.base_path,
        "design": spec.design,
        "seed": spec.seed,
        "common_random_numbers": spec.common_random_numbers,
        "points": len(points),
        "replicates": spec.replicates,
        "reused_points": len(done),
        "computed_points": len(todo),
        "failed_points": sorted(failures),
        "workers": workers or 1,
        "scheduler": None if scheduler is None else str(scheduler),
        "timings": {"wall_seconds": round(seconds, 3), "point_seconds_total": round(state["compute"], 3),
                    "point_seconds_mean": round(state["compute"] / max(1, len(todo)), 4)},
        "machine": {"host": socket.gethostname(), "platform": platform.platform(),
                    "python": platform.python_version(), "cpus": os.cpu_count(),
                    "numpy": np.__version__},
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_json(out / "provenance.json", prov)
    written.append(out / "provenance.json")
    if not failures and spec.design in ("sobol", "morris"):
        from .sensitivity import write_sensitivity

        written += write_sensitivity(out, figures=figures)
    if figures:
        from .sweepplots import write_sweep_figures

        written += write_sweep_figures(out)
    return SweepRun(directory=out, points=len(points), reused=len(done), computed=len(todo),
                    failures=failures, seconds=seconds, written=written)


