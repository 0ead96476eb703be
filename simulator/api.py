"""The Python API: load a scenario, override it, run replicates, get Results.

This is the one place that strings the stages together
(scenario -> network -> model -> engine -> results); the CLI and notebooks call it.

Examples
--------
>>> import rumorsim.api as rs
>>> sc = rs.load("scenarios/classic/sir.yaml", overrides=["population.agents=2000"])
>>> res = rs.run(sc, replicates=10, seed=1)
>>> res.timeseries.head()                                        # doctest: +SKIP
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import __version__
from .engine import default_workers, record_agent_states, run_replicates
from .errors import ScenarioError, did_you_mean
from .memory import check_memory, estimate_run_bytes
from .model import CompiledModel, compile_model
from .network import Network, build_layer, build_network, layer_from_networkx, layer_seed
from .results import Results
from .scenario import Scenario, load_scenario, parse_scenario

ScenarioLike = Union[Scenario, str, Path]

#: Where shipped scenarios live: the source tree's scenarios/ or the installed copy.
_HERE = Path(__file__).resolve().parent


def scenario_dirs() -> List[Path]:
    """Folders searched for shipped scenarios (the working tree's first)."""
    dirs = [Path.cwd() / "scenarios", _HERE.parent / "scenarios", _HERE / "scenarios"]
    try:  # installed wheel: rumorsim.scenarios is a data package
        import importlib.resources as ir

        dirs.append(Path(str(ir.files("rumorsim.scenarios"))))
    except (ModuleNotFoundError, TypeError):
        pass
    seen, out = set(), []
    for d in dirs:
        if d.is_dir() and d.resolve() not in seen:
            seen.add(d.resolve())
            out.append(d)
    return out


def list_scenarios() -> List[Dict[str, str]]:
    """Shipped scenarios: ``name`` (what ``find_scenario`` accepts), ``path``, ``title``, ``description``."""
    import yaml

    found: Dict[str, Dict[str, str]] = {}
    for d in scenario_dirs():
        for p in sorted(d.rglob("*.yaml")):
            name = p.relative_to(d).with_suffix("").as_posix()
            if name in found or "data/" in name:
                continue
            try:
                data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError:
                continue
            if not isinstance(data, dict):
                continue
            kind = "what-if" if "variants" in data else "fit" if "observe" in data else "scenario"
            desc = " ".join(str(data.get("description", "")).split())
            found[name] = {"name": name, "path": str(p), "title": str(data.get("name", name)),
                           "description": desc, "kind": kind}
    return list(found.values())


def find_scenario(name_or_path: Union[str, Path]) -> Path:
    """A path as given if it exists, else a shipped scenario by name (``classic/sir``)."""
    p = Path(name_or_path)
    if p.exists():
        return p
    key = str(name_or_path).removesuffix(".yaml").removeprefix("scenarios/")
    for s in list_scenarios():
        if s["name"] == key or s["name"].split("/")[-1] == key:
            return Path(s["path"])
    names = [s["name"] for s in list_scenarios()]
    raise ScenarioError(
        "no such scenario file or shipped scenario", file=str(name_or_path),
        suggestion=did_you_mean(key, names) or "`rumorsim scenarios` lists the shipped ones",
    )


def load(path: Union[str, Path], overrides: Sequence[str] = ()) -> Scenario:
    """Load and validate a scenario file (or a shipped one by name), with ``--set``-style overrides."""
    return load_scenario(find_scenario(path), list(overrides))


def override(scenario: Scenario, **assignments: object) -> Scenario:
    """A copy of ``scenario`` with dotted-path overrides, re-validated.

    Keyword names use ``__`` for dots: ``override(sc, population__agents=5000,
    transitions__telling__rate=2e-4)``.
    """
    return with_overrides(scenario, [f"{k.replace('__', '.')}={_yaml_value(v)}" for k, v in assignments.items()])


def _yaml_value(v: object) -> str:
    import yaml

    return yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()


def with_overrides(scenario: Scenario, overrides: Sequence[str]) -> Scenario:
    """A copy of ``scenario`` with ``dotted.path=value`` overrides applied and re-validated."""
    if not overrides:
        return scenario
    text = scenario_yaml(scenario)
    sc = parse_scenario(text, scenario.source or "<scenario>", list(overrides))
    return sc.model_copy(update={"source": scenario.source})


def scenario_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML (what a run directory records)."""
    import yaml

    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _resolve(scenario: ScenarioLike, overrides: Sequence[str]) -> Scenario:
    if isinstance(scenario, Scenario):
        return with_overrides(scenario, overrides)
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


def network_from_graphs(scenario: Scenario, graphs: Dict[str, "object"], *, seed: Optional[int] = None) -> Network:
    """A Network whose named layers come from networkx graphs; the others are built from the scenario.

    Every graph must have ``population.agents`` nodes (relabelled 0..n-1 in sorted order).
    """
    seed = scenario.run.seed if seed is None else seed
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
        child = layer_seed(seed, i)  # the same layer build_network would make
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


def build(scenario: Scenario, *, seed: Optional[int] = None, network: Optional[Network] = None,
          check: bool = True, replicates: int = 1, workers: int = 1) -> Tuple[Network, CompiledModel, Dict[str, float]]:
    """Build the network (unless given) and compile the model; return them and timings."""
    timings: Dict[str, float] = {}
    seed = scenario.run.seed if seed is None else seed
    if check:
        check_memory(estimate_memory(scenario, replicates=replicates, workers=workers),
                     what=f"scenario `{scenario.name}`")
    t0 = time.perf_counter()
    if network is None:
        network = build_network(scenario.network, scenario.population.agents,
                                np.random.SeedSequence(seed), base_dir=scenario.base_dir,
                                source=scenario.source, check_memory=False)
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
    seed: Optional[int] = None,
    workers: Optional[int] = None,
    overrides: Sequence[str] = (),
    network: Optional[Network] = None,
    graphs: Optional[Dict[str, "object"]] = None,
    progress: bool = False,
    command: Optional[str] = None,
) -> Results:
    """Run a scenario's replicates and return its Results.

    Parameters
    ----------
    scenario : a Scenario, a file path, or a shipped scenario's name.
    replicates, seed : default to the scenario's ``run`` section.
    workers : threads for replicates (default: all cores); never changes the numbers.
    overrides : ``dotted.path=value`` strings, as ``--set`` takes.
    network : a prebuilt Network.
    graphs : networkx graphs for some layers by name (the others are built as usual).
    progress : show a progress bar.
    """
    sc = _resolve(scenario, overrides)
    reps = sc.run.replicates if replicates is None else int(replicates)
    seed = sc.run.seed if seed is None else int(seed)
    workers = default_workers() if workers is None else int(workers)
    if reps < 1:
        raise ScenarioError("need at least one replicate", field="run.replicates", found=reps)
    if graphs:
        network = network_from_graphs(sc, graphs, seed=seed)
    net, model, timings = build(sc, seed=seed, network=network, replicates=reps, workers=workers)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=reps, desc=f"{sc.name[:40]}", unit="rep", leave=False, file=sys.stderr)
    try:
        raw = run_replicates(model, reps, seed, workers=workers, progress=bar.update if bar else None)
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


def agent_history(results: Results, replicate: int = 0) -> np.ndarray:
    """Per-agent joint states at every report time for one replicate of a finished run."""
    model = getattr(results, "model", None)
    if model is None:
        raise ScenarioError("agent histories need a run made in this session (not one loaded from disk)")
    return record_agent_states(model, results.provenance["seed"], replicate)


def provenance(sc: Scenario, *, seed: int, replicates: int, workers: int,
               timings: Dict[str, float], command: Optional[str], model: CompiledModel) -> Dict[str, object]:
    """What a run directory records about how the numbers were made."""
    import numba

    return {
        "rumorsim_version": __version__,
        "scenario": sc.name,
        "scenario_file": sc.source,
        "seed": seed,
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
