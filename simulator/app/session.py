"""What the classroom app computes: one run, its band, its theory curve, its export.

Everything here is plain Python over the public API (no web framework), so it is tested
without a browser. The server (``server.py``) turns requests into :class:`Settings` and
returns what :func:`simulate` gives as JSON.

How a run is played. The kernel runs whole replicates, so the app does not step the
kernel: it runs the scenario once with ``BAND_REPLICATES`` replicates of one seed,
records every agent's joint state at every report time for replicate 0 (the run on
screen, :func:`rumorsim.agent_history`), and the browser plays those frames back. The
other replicates of the same seed draw the faint band. ``rumorsim run`` of the exported
file makes the same replicates, so the exported file reproduces the screen exactly.

Clicks and intervention buttons. A click on an agent adds a ``seed`` intervention
(``strategy: ids``) at the current time; an intervention button brings that intervention
forward to the current time (or, if it already happened, fires a copy now). Either way
the whole run is recomputed from t = 0 with the same seed, and the browser continues
from the current time. Is the past (t < now) then identical to what was on screen? It
is not guaranteed by construction - the kernel draws firing steps from rates that
depend on the schedule - so it was checked: for clicks, broadcasts and rate/capacity
changes on the WeChat classroom case (rules that read signals) and for clicks on SIR,
the frames before "now" come out bit-identical (``tests/test_app.py``). The page still
compares the frames it had with the new ones after every re-run and says on screen
whether the past replayed exactly or changed, so a case where it does not is shown,
not hidden.

Sliders. Every rate and per-step probability of a transition, every broadcast's reach
and effect probability, the number of agents, each generated layer's mean degree (or
``m``) and its tie, rewiring or triangle probabilities is a :class:`Parameter`, addressed by its ``--set`` path; a slider moved in
the browser becomes one more override, so the export is the file plus those overrides.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time as _time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..api import agent_history, find_scenario, list_scenarios, load, run as run_scenario, scenario_yaml
from ..errors import RumorsimError, ScenarioError, did_you_mean
from ..plots import _distinct_colors, _edges
from ..results import BAND_PERCENTILES
from ..scenario import Scenario

#: The most agents the app draws (a spring layout of more takes too long to wait for).
MAX_AGENTS = 3000
#: Agents used when a scenario file asks for more than MAX_AGENTS.
DEFAULT_AGENTS = 2000
#: Replicates behind the band (replicate 0 is the run on screen).
BAND_REPLICATES = 20
#: The scenario the app opens with when none is given.
DEFAULT_SCENARIO = "classic/sir"
#: Folders of shipped scenarios offered in the picker.
PICKER_FOLDERS = ("classroom/", "classic/")


# ------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Click:
    """A seed placed by clicking an agent: ``agent`` goes to ``{trait: state}`` at ``at``."""

    agent: int
    trait: str
    state: str
    at: float


@dataclass(frozen=True)
class Settings:
    """Everything that decides what the app shows: the scenario, the seed and what was changed.

    Attributes
    ----------
    scenario : a shipped scenario's name (``classic/sir``) or a file path.
    seed : the run's seed (network and replicates).
    params : ``(--set path, value)`` for every slider that was moved.
    clicks : agents seeded by clicks, in order.
    fired : ``(intervention, time)`` for every press of an intervention's button, in order.
    layer : the layer drawn (default: the first).
    """

    scenario: str
    seed: int = 0
    params: Tuple[Tuple[str, float], ...] = ()
    clicks: Tuple[Click, ...] = ()
    fired: Tuple[Tuple[str, float], ...] = ()
    layer: Optional[str] = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Settings":
        """Settings from the browser's JSON (user input: checked, ScenarioError if malformed)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("scenario"), str):
            raise ScenarioError("the request names no scenario", field="scenario")
        try:
            seed = int(data.get("seed", 0))
            params = tuple((str(k), float(v)) for k, v in dict(data.get("params") or {}).items())
            clicks = tuple(Click(int(c["agent"]), str(c["trait"]), str(c["state"]), float(c["at"]))
                           for c in data.get("clicks") or [])
            fired = tuple((str(k), float(v)) for k, v in data.get("fired") or [])
        except (TypeError, ValueError, KeyError) as exc:
            raise ScenarioError(f"malformed app settings: {exc}") from None
        if seed < 0:
            raise ScenarioError("the seed must be >= 0", field="seed", found=seed)
        if any(not math.isfinite(v) for _, v in params):
            raise ScenarioError("a slider value is not a finite number", field="params")
        layer = data.get("layer")
        return cls(data["scenario"], seed, params, clicks, fired, str(layer) if layer else None)


@dataclass(frozen=True)
class Parameter:
    """One slider: a ``--set`` path, its label, its range and how it moves."""

    path: str
    label: str
    group: str
    scale: str  # "log" (rates), "linear" (probabilities, shares), "int" (counts)
    min: float
    max: float
    value: float


# ------------------------------------------------------------- the scenarios


@lru_cache(maxsize=8)
def picker_scenarios(extra: Optional[str] = None) -> List[Dict[str, Any]]:
    """The scenarios offered in the picker: the classroom and classic ones, and ``extra``.

    Each is loaded (validated) once per process: the list is asked for on every page load.
    """
    names = [s["name"] for s in list_scenarios()
             if s["kind"] == "scenario" and s["name"].startswith(PICKER_FOLDERS)]
    names.sort(key=lambda n: (not n.startswith("classroom/"), n))
    if extra is not None and extra not in names:
        names.insert(0, extra)
    out = []
    for n in names:
        sc = load(n)
        out.append({"name": n, "title": sc.name, "seed": sc.run.seed})
    return out


def _base(settings: Settings) -> Tuple[Path, Scenario, List[str]]:
    """The file, the file's scenario at a drawable size, and the override doing that."""
    path = find_scenario(settings.scenario)
    sc = load(path)
    fixes = []
    if sc.population.agents > MAX_AGENTS:
        fixes = [f"population.agents={DEFAULT_AGENTS}"]
        sc = load(path, fixes)
    return path, sc, fixes


def _click_overrides(sc: Scenario, clicks: Sequence[Click]) -> List[str]:
    out = []
    for k, c in enumerate(clicks, 1):
        if c.trait not in sc.traits:
            raise ScenarioError(f"there is no trait `{c.trait}`", field="clicks",
                                suggestion=did_you_mean(c.trait, sc.traits))
        if not 0 <= c.agent < sc.population.agents:
            raise ScenarioError(f"there is no agent {c.agent}", field="clicks",
                                expected=f"0..{sc.population.agents - 1}")
        spec = {"kind": "seed", "at": min(max(c.at, 0.0), sc.time.until), "strategy": "ids",
                "ids": [c.agent], "state": {c.trait: c.state}, "label": f"clicked agent {c.agent}"}
        out.append(f"interventions.clicked_{k}={json.dumps(spec)}")  # JSON is YAML
    return out


def _fired_overrides(sc: Scenario, fired: Sequence[Tuple[str, float]]) -> List[str]:
    """Interventions fired by their buttons.

    Fired before its planned time, an intervention is brought forward (its ``at`` moves
    to now, its duration kept): "debunk at hour 1 instead of 3.5". Fired after it has
    happened (or fired again), a copy happens now (``<name>_fired_<k>``): what is on
    screen before now stays as it was.
    """
    out, moved = [], set()
    for k, (name, at) in enumerate(fired, 1):
        iv = sc.interventions.get(name)
        if iv is None:
            raise ScenarioError(f"there is no intervention `{name}`", field="fired",
                                suggestion=did_you_mean(name, sc.interventions))
        at = min(max(at, 0.0), sc.time.until)
        until = None if iv.until is None else min(at + iv.until - iv.at, sc.time.until)
        if name not in moved and at <= iv.at:
            moved.add(name)
            out.append(f"interventions.{name}.at={at!r}")
            if until is not None:
                out.append(f"interventions.{name}.until={until!r}")
        else:
            spec = iv.model_dump(mode="json", by_alias=True, exclude_none=True)
            spec.update(at=at, label=f"{iv.label or name} (fired at {at:g})")
            if until is not None:
                spec["until"] = until
            out.append(f"interventions.{name}_fired_{k}={json.dumps(spec)}")
    return out


def _is_count(path: str) -> bool:
    return path == "population.agents" or path.endswith(".m")


def overrides_for(settings: Settings) -> Tuple[Path, List[str]]:
    """The scenario file and the ``--set`` overrides that make ``settings`` from it."""
    path, sc, fixes = _base(settings)
    over = list(fixes)
    over += [f"{p}={int(round(v))}" if _is_count(p) else f"{p}={v!r}" for p, v in settings.params]
    over += _fired_overrides(sc, settings.fired)
    over += _click_overrides(sc, settings.clicks)
    over += [f"run.seed={settings.seed}", f"run.replicates={BAND_REPLICATES}"]
    return path, over


def resolve(settings: Settings) -> Scenario:
    """The scenario the app runs for ``settings`` (validated: ScenarioError on a bad value)."""
    path, over = overrides_for(settings)
    sc = load(path, over)
    if sc.population.agents > MAX_AGENTS:
        raise ScenarioError(f"the app draws at most {MAX_AGENTS:,} agents", field="population.agents",
                            found=sc.population.agents)
    return sc


# ------------------------------------------------------------------ sliders


def _log_range(v: float) -> Tuple[float, float]:
    return v / 10.0, v * 10.0


def parameters(base: Scenario, current: Scenario) -> List[Parameter]:
    """Sliders for ``current``: ranges from the file (``base``), values from ``current``."""
    out: List[Parameter] = [Parameter("population.agents", "agents", "network", "int", 50,
                                      MAX_AGENTS, current.population.agents)]
    for name, spec in base.network.layers.items():
        cur = current.network.layers[name]
        if spec.mean_degree is not None:
            out.append(Parameter(f"network.layers.{name}.mean_degree", f"{name}: mean degree",
                                 "network", "linear", 1.0, max(30.0, 3 * spec.mean_degree),
                                 cur.mean_degree))
        for field, what in (("p_in", "tie probability inside a block"), ("p_out", "tie probability between blocks")):
            v = getattr(spec, field)
            if v:
                out.append(Parameter(f"network.layers.{name}.{field}", f"{name}: {what}", "network", "log",
                                     v / 10.0, min(1.0, v * 10.0), getattr(cur, field)))
        for field, what in (("rewire", "rewiring probability"), ("triangle_prob", "triangle probability")):
            if getattr(spec, field) is not None:
                out.append(Parameter(f"network.layers.{name}.{field}", f"{name}: {what}", "network",
                                     "linear", 0.0, 1.0, getattr(cur, field)))
        if spec.m is not None:
            out.append(Parameter(f"network.layers.{name}.m", f"{name}: links per newcomer (m)",
                                 "network", "int", 1, max(12, 3 * spec.m), cur.m))
    for t in base.transitions:
        cur = current.transition(t.name)
        label = t.label or t.name.replace("_", " ")
        if t.rate is not None:
            lo, hi = _log_range(t.rate) if t.rate > 0 else (0.0, 1.0)
            per = " (per neighbour)" if t.kind == "induced" else ""
            out.append(Parameter(f"transitions.{t.name}.rate", f"{label}: rate{per}", "rates",
                                 "log" if t.rate > 0 else "linear", lo, hi, cur.rate))
        elif t.probability is not None:
            out.append(Parameter(f"transitions.{t.name}.probability", f"{label}: probability per step",
                                 "rates", "linear", 0.0, 1.0, cur.probability))
    for name, iv in base.interventions.items():
        cur = current.interventions[name]
        label = iv.label or name.replace("_", " ")
        if iv.kind == "broadcast":
            out.append(Parameter(f"interventions.{name}.reach", f"{label}: reach", "interventions",
                                 "linear", 0.0, 1.0, cur.reach))
            for k, e in enumerate(iv.effects or []):
                what = ", ".join(f"{s if isinstance(s, str) else '/'.join(s)}" for s in e.from_.values())
                out.append(Parameter(f"interventions.{name}.effects.{k}.p",
                                     f"{label}: persuades {what}", "interventions", "linear",
                                     0.0, 1.0, cur.effects[k].p))
    return out


# ------------------------------------------------------------------- layout


_LAYOUTS: "OrderedDict[Tuple[Any, ...], np.ndarray]" = OrderedDict()
_LAYOUT_LOCK = threading.Lock()


def layout(layer: Any, key: Tuple[Any, ...]) -> np.ndarray:
    """Positions (n, 2) in [0, 1] of a layer's agents, computed once per network.

    Fruchterman-Reingold by igraph (compiled, with a grid for the repulsion: about a
    second for 2,000 agents, where networkx's pure-numpy spring layout takes tens), from
    seeded starting points, so the same network always gets the same picture; a
    complete layer is a filled disc. Cached by ``key`` (the network's spec, size and seed),
    so moving a rate slider keeps the picture still and only a new network redraws it.
    """
    with _LAYOUT_LOCK:
        if key in _LAYOUTS:
            _LAYOUTS.move_to_end(key)
            return _LAYOUTS[key]
    n = int(layer.n_agents)
    if layer.complete:
        # everyone sees everyone: no edges to draw, so fill a disc evenly (Vogel's
        # sunflower spiral) where a circle of 2,000 would pile the agents on each other
        i = np.arange(n) + 0.5
        r, a = np.sqrt(i / max(n, 1)), i * np.pi * (3.0 - np.sqrt(5.0))
        pos = np.c_[r * np.cos(a), r * np.sin(a)]
    else:
        import random

        import igraph

        g = igraph.Graph(n=n, edges=_edges(layer).tolist())
        start = np.random.default_rng(0).uniform(-1.0, 1.0, (n, 2)).tolist()
        with _LAYOUT_LOCK:
            # igraph draws from one module-wide generator (Python's `random` by default):
            # give it a private seeded one for this call, then hand the default back.
            igraph.set_random_number_generator(random.Random(0))
            try:
                pos = np.array(g.layout_fruchterman_reingold(seed=start, niter=100).coords, dtype=float)
            finally:
                igraph.set_random_number_generator(random)
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    pos = (pos - lo) / np.where(hi > lo, hi - lo, 1.0)
    with _LAYOUT_LOCK:
        _LAYOUTS[key] = pos
        while len(_LAYOUTS) > 16:
            _LAYOUTS.popitem(last=False)
    return pos


# ----------------------------------------------------------------- mean field


_MEANFIELD: "OrderedDict[Tuple[Any, ...], Dict[str, Any]]" = OrderedDict()


def meanfield(settings: Settings) -> Dict[str, Any]:
    """The mean-field curves for ``settings``: ``times``, ``curves`` (trait -> state -> agents)
    or None, and a ``note`` for the screen.

    Asked for by the page after the run is on screen (``/api/meanfield``), so a slow
    integration never delays the network. Degree-based for one trait on generated graphs
    (what matters on heavy-tailed ones: the classic models), homogeneous mixing otherwise:
    several traits make one equation per joint state and degree class, which takes
    minutes (the WeChat case: 3 s homogeneous, over 10 min degree-based here). A
    scenario mean field cannot treat gets None and the reason. Cached per scenario.
    """
    from ..meanfield import solve_meanfield

    sc = resolve(settings)
    complete = all(ly.generator == "complete" for ly in sc.network.layers.values())
    method = "degree" if len(sc.traits) == 1 and not complete else "homogeneous"
    # the network (hence the seed) matters only to the degree-based equations
    key = (sc.model_dump_json(), settings.seed if method == "degree" else None)
    with _LAYOUT_LOCK:
        if key in _MEANFIELD:
            return _MEANFIELD[key]
    t0 = _time.perf_counter()
    try:
        df = solve_meanfield(sc, method=method)  # degrees from the network run.seed builds
    except RumorsimError as exc:
        out: Dict[str, Any] = {"times": [], "curves": None,
                               "note": f"No mean-field curve: {exc.message.rstrip('.')}"}
    else:
        curves: Dict[str, Dict[str, List[float]]] = {}
        times: List[float] = []
        n = sc.population.agents
        for (trait, state), g in df.groupby(["trait", "state"], sort=False):
            times = _rounded(g["time"].to_numpy(float), 6)
            curves.setdefault(str(trait), {})[str(state)] = _rounded(g["fraction"].to_numpy(float) * n)
        kind = "degree-based" if method == "degree" else "homogeneous mixing"
        out = {"times": times, "curves": curves, "note": f"Dashed: mean field ({kind})"}
    out["seconds"] = round(_time.perf_counter() - t0, 3)
    with _LAYOUT_LOCK:
        _MEANFIELD[key] = out
        while len(_MEANFIELD) > 32:
            _MEANFIELD.popitem(last=False)
    return out


# -------------------------------------------------------------------- a run


def _rounded(a: np.ndarray, digits: int = 3) -> List[float]:
    return [round(float(x), digits) for x in np.asarray(a, dtype=float)]


def click_state(sc: Scenario, trait: str) -> str:
    """What a click makes an agent, for one trait: the state others catch it from.

    The state induced or threshold transitions count for this trait (the infected, the
    spreader, the believer), else the state the scenario seeds, else the last state.
    """
    for t in sc.transitions:
        rule = t.induced_by or t.threshold
        if rule is not None and trait in rule.state:
            s = rule.state[trait]
            return s if isinstance(s, str) else s[0]
    for _, s in sc.all_seeds():
        if trait in s.state:
            return s.state[trait]
    return sc.traits[trait][-1]


def simulate(settings: Settings) -> Dict[str, Any]:
    """Run ``settings`` and return what the browser draws (JSON-ready).

    Keys: ``scenario`` (facts and labels), ``seed``, ``times``, ``traits`` (names,
    states, colours, click state), ``joint`` (joint state -> state per trait), ``frames``
    (base64 little-endian int16, report times x agents: replicate 0's joint states),
    ``positions`` and ``edges`` of the drawn layer, ``curves`` (per trait and state:
    the run and the band's low/high percentiles, in agents; the mean field comes
    separately from :func:`meanfield`),
    ``interventions`` (buttons), ``marks`` (times of interventions, for the curves),
    ``parameters`` (sliders), ``overrides`` and ``timings``.
    """
    t0 = _time.perf_counter()
    path, base, _ = _base(settings)
    sc = resolve(settings)
    res = run_scenario(sc, replicates=BAND_REPLICATES, seed=settings.seed, command="rumorsim app")
    t_run = _time.perf_counter()
    hist = agent_history(res, 0)
    t_hist = _time.perf_counter()
    net = res.network
    names = [ly.name for ly in net.layers]
    lname = settings.layer if settings.layer in names else names[0]
    layer = net.layers[names.index(lname)]
    key = (str(path), sc.network.model_dump_json(), sc.population.agents, settings.seed, lname)
    pos = layout(layer, key)
    t_layout = _time.perf_counter()
    edges = _edges(layer)
    times = res.times
    lo_p, _, hi_p = BAND_PERCENTILES
    curves: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for trait, states in res.info.traits:
        curves[trait] = {}
        for s in states:
            counts = res.count_array({trait: s})  # (R, T)
            curves[trait][s] = {
                "run": counts[0].tolist(),
                "low": _rounded(np.percentile(counts, lo_p, axis=0), 2),
                "high": _rounded(np.percentile(counts, hi_p, axis=0), 2),
            }
    traits = [{"name": t, "states": list(states), "colors": _distinct_colors(states),
               "click": click_state(sc, t)} for t, states in res.info.traits]
    fired: Dict[str, List[float]] = {}
    for name, at in settings.fired:
        fired.setdefault(name, []).append(at)
    ivs = [{"name": n, "label": iv.label or n.replace("_", " "), "kind": iv.kind,
            "at": sc.interventions[n].at, "scheduled": iv.at, "fired": fired.get(n, [])}
           for n, iv in base.interventions.items()]
    marks = [{"at": iv.at, "label": iv.label or n} for n, iv in sc.interventions.items()
             if not n.startswith("clicked_")]
    _, over = overrides_for(settings)
    t_end = _time.perf_counter()
    return {
        "scenario": {
            "name": sc.name, "description": " ".join(sc.description.split()), "key": settings.scenario,
            "file": str(path), "unit": sc.time.unit, "until": sc.time.until, "dt": sc.time.dt,
            "agents": sc.population.agents, "people_per_agent": sc.population.people_per_agent,
            "file_agents": load(path).population.agents,
        },
        "seed": settings.seed,
        "times": _rounded(times, 6),
        "traits": traits,
        "joint": np.asarray(res.info.joint_states).tolist(),
        "frames": base64.b64encode(np.ascontiguousarray(hist, dtype="<i2").tobytes()).decode("ascii"),
        "layer": lname,
        "layers": names,
        "positions": _rounded(pos.reshape(-1), 4),
        "edges": np.asarray(edges, dtype=np.int64).reshape(-1).tolist(),
        "curves": curves,
        "interventions": ivs,
        "marks": marks,
        "clicks": [c.__dict__ for c in settings.clicks],
        "parameters": [p.__dict__ for p in parameters(base, sc)],
        "overrides": over,
        "timings": {"run_s": round(t_run - t0, 3), "history_s": round(t_hist - t_run, 3),
                    "layout_s": round(t_layout - t_hist, 3), "total_s": round(t_end - t0, 3)},
    }


# ------------------------------------------------------------------- export


def export_yaml(settings: Settings) -> Tuple[str, str]:
    """``(file name, YAML text)``: the scenario as on screen, seed included.

    ``rumorsim run FILE`` runs the same ``BAND_REPLICATES`` replicates of the same seed:
    its replicate 0 is the run on screen, the others the band. Edge-list paths are made
    absolute so the file works from any folder.
    """
    path, over = overrides_for(settings)
    sc = load(path, over)
    for name, ly in sc.network.layers.items():
        if ly.generator == "edgelist" and not Path(ly.path).is_absolute():
            over.append(f"network.layers.{name}.path={(sc.base_dir / ly.path).resolve()}")
    if len(over) > len(overrides_for(settings)[1]):
        sc = load(path, over)
    head = [
        f"# Exported by `rumorsim app` from {Path(path).name} (seed {settings.seed}).",
        f"# `rumorsim run THIS_FILE` reproduces the app's run (replicate 0) and its band",
        f"# (replicates 0-{BAND_REPLICATES - 1}). Changes made in the app, as --set overrides:",
        *[f"#   --set {o}" for o in over],
    ]
    stem = Path(path).stem
    return f"{stem}-seed{settings.seed}.yaml", "\n".join(head) + "\n" + scenario_yaml(sc)
