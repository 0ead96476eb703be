"""The Python API: load a scenario, override it, run replicates, compare variants, read runs.

This is the one place that strings the stages together
(scenario -> network -> model -> engine -> results); the CLI and notebooks call it. It
also owns the memory guard: :func:`run` and :func:`build` refuse a scenario that would
not fit before anything is allocated.

Overrides take one form everywhere (:func:`override`, ``load(overrides=)``,
``run(overrides=)``, ``compare(overrides=)``): a mapping ``{dotted.path: value}`` or
``"dotted.path=value"`` strings as ``--set`` gives them. ``seed=`` is an int or a
``numpy.random.SeedSequence``.

Examples
--------
>>> import rumorsim as rs
>>> sc = rs.load("classic/sir", overrides={"population.agents": 2000})
>>> res = rs.run(sc, replicates=10, seed=1)
>>> res.timeseries.head()                                        # doctest: +SKIP
>>> rs.write_run(res, "runs/sir")                               # doctest: +SKIP
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np

from . import __version__
from .catalog import find_scenario, list_scenarios, scenario_dirs  # noqa: F401  (public)
from .engine import default_workers, record_agent_states, run_replicates
from .errors import ScenarioError, did_you_mean
from .memory import check_memory, estimate_run_bytes
from .model import CompiledModel, compile_model
from .network import Network, build_layer, build_network, layer_from_networkx, layer_seed
from .results import Results
from .rundir import read_run, write_run  # noqa: F401  (public)
from .scenario import Overrides, Scenario, load_scenario, override, scenario_yaml  # noqa: F401
from .seeds import SeedLike, as_seed_sequence, check_seed, seed_from_record, seed_record
from .whatif import (Comparison, WhatIfPlan, load_whatifs, make_plan,  # noqa: F401
                     network_key, resolve_replicates_and_seed)

ScenarioLike = Union[Scenario, str, Path]


def load(path: Union[str, Path], overrides: Overrides = None) -> Scenario:
    """Load and validate a scenario file (or a shipped one by name), with overrides.

    ``overrides``: ``{dotted.path: value}`` or ``"dotted.path=value"`` strings
    (see :func:`rumorsim.scenario.override`).
    """
    return load_scenario(find_scenario(path), overrides)


def _resolve(scenario: ScenarioLike, overrides: Overrides) -> Scenario:
    if isinstance(scenario, Scenario):
        return override(scenario, overrides)
    return load(scenario, overrides)


def estimate_memory(scenario: Scenario, *, replicates: int, workers: int) -> Dict[str, int]:
    """Bytes a run would need (network, kernel buffers, outputs): see ``rumorsim.memory``."""
    n_states = int(np.prod([len(s) for s in scenario.traits.values()]))
    ctrs = {(t.induced_by or t.threshold).layer + repr(sorted((t.induced_by or t.threshold).state.items()))
            for t in scenario.transitions if t.kind != "spontaneous"}
    n_thr = sum(t.kind == "threshold" for t in scenario.transitions)
    n_reports = int(scenario.time.until / scenario.time.report_interval) + 2
    n_events = len(scenario.transitions) + len(scenario.interventions)
    return estimate_run_bytes(
        scenario.population.agents, dict(scenario.network.layers),
        n_counters=len(ctrs), n_threshold=n_thr, n_states=n_states, n_reports=n_reports,
        n_events=n_events, n_signals=len(scenario.signals), replicates=replicates,
        workers=workers, base_dir=scenario.base_dir,
    )


def check_fits(scenario: Scenario, *, replicates: int, workers: int) -> None:
    """Refuse (MemoryBudgetError) a run that would not fit in memory, before allocating.

    The one place the memory guard is applied: :func:`run` and :func:`build` call it.
    """
    check_memory(estimate_memory(scenario, replicates=replicates, workers=workers),
                 what=f"scenario `{scenario.name}`")


def network_from_graphs(scenario: Scenario, graphs: Dict[str, "object"], *,
                        seed: Optional[SeedLike] = None) -> Network:
    """A Network whose named layers come from networkx graphs; the others are built from the scenario.

    Every graph must have ``population.agents`` nodes (relabelled 0..n-1 in sorted order).
    """
    root = as_seed_sequence(scenario.run.seed if seed is None else seed)
    unknown = [name for name in graphs if name not in scenario.network.layers]
    if unknown:
        raise ScenarioError(
            f"there is no layer `{unknown[0]}` in the scenario", field="network.layers",
            expected=f"one of {', '.join(scenario.network.layers)}",
            suggestion=did_you_mean(unknown[0], scenario.network.layers),
        )
    n = scenario.population.agents
    layers = []
    for i, (name, spec) in enumerate(scenario.network.layers.items()):
        child = layer_seed(root, i)  # the same layer build_network would make
        if name in graphs:
            layer = layer_from_networkx(name, graphs[name])
            if layer.n_agents != n:
                raise ScenarioError(
                    f"the graph for layer `{name}` has {layer.n_agents} nodes but the scenario has {n} agents",
                    field="population.agents", suggestion=f"Override population.agents={layer.n_agents}",
                )
            layers.append(layer)
        else:
            layers.append(build_layer(name, spec, n, child, base_dir=scenario.base_dir, source=scenario.source))
    return Network(n_agents=n, layers=tuple(layers))


def build(scenario: Scenario, *, seed: Optional[SeedLike] = None, network: Optional[Network] = None,
          check: bool = True, replicates: int = 1, workers: int = 1) -> Tuple[Network, CompiledModel, Dict[str, float]]:
    """Build the network (unless given) and compile the model; return them and timings.

    ``check``: refuse first (MemoryBudgetError) if ``replicates`` replicates on
    ``workers`` threads would not fit in memory.
    """
    timings: Dict[str, float] = {}
    root = as_seed_sequence(scenario.run.seed if seed is None else seed)
    if check:
        check_fits(scenario, replicates=replicates, workers=workers)
    t0 = time.perf_counter()
    if network is None:
        network = build_network(scenario.network, scenario.population.agents, root,
                                base_dir=scenario.base_dir, source=scenario.source)
    elif network.n_agents != scenario.population.agents:
        raise ScenarioError(
            f"the network given has {network.n_agents} agents but the scenario has "
            f"{scenario.population.agents}", field="population.agents",
            suggestion=f"Override population.agents={network.n_agents}",
        )
    timings["network_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = compile_model(scenario, network)
    timings["compile_seconds"] = time.perf_counter() - t0
    return network, model, timings


def run(
    scenario: ScenarioLike,
    *,
    replicates: Optional[int] = None,
    seed: Optional[SeedLike] = None,
    workers: Optional[int] = None,
    overrides: Overrides = None,
    network: Optional[Network] = None,
    graphs: Optional[Dict[str, "object"]] = None,
    progress: bool = False,
    command: Optional[str] = None,
) -> Results:
    """Run a scenario's replicates and return its Results.

    Parameters
    ----------
    scenario : a Scenario, a file path, or a shipped scenario's name.
    replicates : default: the scenario's ``run.replicates``.
    seed : an int or a ``numpy.random.SeedSequence`` (default: the scenario's ``run.seed``);
        replicate ``i`` uses child ``i`` of it.
    workers : threads for replicates (default: all cores); never changes the numbers.
    overrides : ``{dotted.path: value}`` or ``"dotted.path=value"`` strings, as ``--set`` takes.
    network : a prebuilt Network.
    graphs : networkx graphs for some layers by name (the others are built as usual).
    progress : show a progress bar.
    command : what provenance records as the command (default: ``sys.argv``).

    Raises
    ------
    ScenarioError, NetworkError
        Bad scenario or overrides, a graph that does not fit the scenario.
    MemoryBudgetError
        The run would not fit in memory (refused before anything is built).
    """
    sc = _resolve(scenario, overrides)
    reps = sc.run.replicates if replicates is None else int(replicates)
    seed = check_seed(sc.run.seed if seed is None else seed)
    workers = default_workers() if workers is None else int(workers)
    if reps < 1:
        raise ScenarioError("need at least one replicate", field="run.replicates", found=reps)
    check_fits(sc, replicates=reps, workers=workers)
    if graphs:
        network = network_from_graphs(sc, graphs, seed=seed)
    net, model, timings = build(sc, seed=seed, network=network, check=False)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=reps, desc=f"{sc.name[:40]}", unit="rep", leave=False, file=sys.stderr)
    try:
        raw = run_replicates(model, reps, seed, workers=workers, progress=bar.update if bar else None,
                             profile=timings)  # (adds jit_seconds, edge_visits)
    finally:
        if bar is not None:
            bar.close()
    timings["run_seconds"] = raw.wall_seconds
    prov = provenance(sc, seed=seed, replicates=reps, workers=workers, timings=timings,
                      command=command, model=model)
    res = Results(sc, model.info, raw, net.stats(), prov)
    res.network = net  # kept for snapshots; not written to disk
    res.model = model
    return res


def compare(
    whatifs: Union[WhatIfPlan, str, Path],
    *,
    replicates: Optional[int] = None,
    seed: Optional[SeedLike] = None,
    workers: Optional[int] = None,
    overrides: Overrides = None,
    progress: bool = False,
    command: Optional[str] = None,
) -> Comparison:
    """Run every variant of a what-if plan with common random numbers and compare them.

    Parameters
    ----------
    whatifs : a what-if file (or a shipped one by name), or a plan from
        :func:`rumorsim.whatif.make_plan`.
    replicates : per variant (default: the plan's, else the baseline's ``run.replicates``).
    seed : shared by every variant, an int or a SeedSequence (default: the plan's, else
        the baseline's ``run.seed``): replicate ``i`` of every variant uses child ``i``.
    workers : threads per run (default: all cores); never changes the numbers.
    overrides : applied to the baseline and every variant (a what-if file only; give a
        plan's as ``make_plan(..., overrides=)``).
    progress : show a progress bar over variants.

    Examples
    --------
    >>> cmp = rs.compare("wechat_whatifs", replicates=10,
    ...                  overrides={"population.agents": 5000})       # doctest: +SKIP
    >>> print(cmp.markdown())                                        # doctest: +SKIP
    """
    if isinstance(whatifs, WhatIfPlan):
        if _has_overrides(overrides):
            raise ScenarioError(
                "overrides cannot be applied to a plan that is already made", field="overrides",
                suggestion="Pass them to make_plan(..., overrides=...) or load_whatifs(path, overrides)")
        plan = whatifs
    else:
        plan = load_whatifs(find_scenario(whatifs), overrides)
    reps, seed = resolve_replicates_and_seed(plan, replicates, seed)
    seed = check_seed(seed)
    workers = default_workers() if workers is None else int(workers)
    if command is None:
        from_cli = bool(sys.argv) and Path(sys.argv[0]).name == "rumorsim"
        command = (" ".join(["rumorsim"] + sys.argv[1:]) if from_cli
                   else f"rumorsim.compare({plan.source or plan.name!r})")
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(plan.variants), desc="what-ifs", unit="variant", file=sys.stderr)
    # Variants that leave the network alone share one built network (same seed -> the
    # same graph anyway); building it once saves most of the set-up time.
    networks: Dict[str, Network] = {}
    results: Dict[str, Results] = {}
    t0 = time.perf_counter()
    try:
        for v in plan.variants:
            if bar is not None:
                bar.set_postfix_str(v.name)
            key = network_key(v.scenario)
            res = run(v.scenario, replicates=reps, seed=seed, workers=workers,
                      network=networks.get(key), command=command)
            networks.setdefault(key, res.network)
            res.provenance["variant"] = v.name
            res.provenance["variant_overrides"] = list(v.overrides)
            results[v.name] = res
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return Comparison(plan, results, reps, seed, time.perf_counter() - t0)


def _has_overrides(overrides: Overrides) -> bool:
    """Whether ``overrides`` asks for any change."""
    return overrides is not None and len(overrides) > 0


def agent_history(results: Results, replicate: int = 0) -> np.ndarray:
    """Per-agent joint states at every report time for one replicate of a finished run."""
    model = getattr(results, "model", None)
    if model is None:
        raise ScenarioError("agent histories need a run made in this session (not one loaded from disk)")
    return record_agent_states(model, seed_from_record(results.provenance["seed"]), replicate)


def meanfield_of(results: Results, *, method: str = "homogeneous") -> "object":
    """The mean-field curves of a run's scenario, on the run's own network when degrees matter.

    A run made in this session uses its network; one read from disk rebuilds the network
    from its recorded seed (``method="degree"``, or a layer whose mean degree needs it).
    Returns ``rumorsim.meanfield.solve_meanfield``'s table on the run's report times.
    """
    from .meanfield import solve_meanfield

    network = getattr(results, "network", None)
    sc = results.scenario
    if network is None and method == "degree":
        seed = seed_from_record(results.provenance.get("seed", sc.run.seed))
        network = build_network(sc.network, sc.population.agents, as_seed_sequence(seed),
                                base_dir=sc.base_dir, source=sc.source)
    return solve_meanfield(sc, times=np.asarray(results.times, float), method=method, network=network)


def provenance(sc: Scenario, *, seed: SeedLike, replicates: int, workers: int,
               timings: Dict[str, float], command: Optional[str], model: CompiledModel) -> Dict[str, object]:
    """What a run directory records about how the numbers were made."""
    import numba

    return {
        "rumorsim_version": __version__,
        "scenario": sc.name,
        "scenario_file": sc.source,
        "seed": seed_record(seed),
        "replicates": replicates,
        "workers": workers,
        "command": command if command is not None else " ".join(sys.argv),
        "agents": sc.population.agents,
        "represents": sc.population.represents or sc.population.agents,
        "joint_states": model.n_joint,
        "steps": model.n_steps,
        "dt": model.dt,
        "timings": timings,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "platform": platform.platform(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
