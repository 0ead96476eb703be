"""The mean-field companion: a scenario's rules as ordinary differential equations.

Every agent-level rule of a scenario has a deterministic shadow. Write ``x[c, s]`` for
the fraction of the agents of *degree class* ``c`` that are in joint state ``s`` (the
joint state over all traits, as the kernel stores it: see ``rumorsim.model``). A
transition ``t`` with hazard ``H`` moves, per unit time, ``x[c, s] * H * p_o`` of them
from ``s`` to the state its outcome ``o`` sets, for every ``s`` matching its ``from``:

- *spontaneous*: ``H = rate``;
- *induced*: ``H = rate * d_in[c] * theta``, the expected number (or weight sum) of
  matching in-neighbours: ``d_in[c]`` is the class's in-degree (in-strength) on the
  layer, ``theta`` the chance that the agent at the other end of an edge matches.

Two closures of ``theta`` are offered (``method=``):

``"homogeneous"``
    One class; every agent has the layer's mean in-degree ``<k>`` (``N - 1`` on a
    complete layer) and ``theta`` is the matching fraction of the whole population:
    the textbook SIR ``di/dt = beta <k> s i - gamma i``.
``"degree"``
    Heterogeneous mean field (Pastor-Satorras & Vespignani 2001): one class per degree
    of the built network (per joint degree across the layers the rules read, binned
    logarithmically when there are many), and ``theta`` weighs a neighbour of degree
    ``k`` by ``k / <k>`` (the friendship paradox: a neighbour is more often a hub).
    When the counted states can never lead back to the transition's ``from`` states
    (non-recurrent spread: SIR, SEIR, Maki–Thompson's telling) on an undirected,
    unweighted layer, the weight is ``(k - 1) / <k>``: the neighbour got its state
    through one of its edges, from someone who is no longer susceptible (Boguñá,
    Pastor-Satorras & Vespignani 2003), which puts SIR's threshold at
    ``beta / gamma = <k> / (<k^2> - <k>)``. This is what matters on heavy-tailed graphs.

The kernel works in steps of ``dt`` (an agent of total hazard ``H`` moves with
probability ``1 - exp(-H dt)``); these equations are its ``dt -> 0`` limit. A per-step
``probability: p`` becomes the hazard ``-log(1 - p) / dt`` the kernel uses, and a sure
move (``p = 1``, or a met threshold without a rate) the rate ``1 / dt`` (the same mean
delay of one step).

Seeds and broadcasts are jumps at their times (random selection moves the same share of
every eligible class and state; ``top_degree`` fills the highest-degree classes first on
``method="degree"`` and is random selection under homogeneous mixing; ``ids`` and
``community`` selections are taken as random selections of the same size); ``scale`` and
``set`` interventions change the hazards between their dates, and the daily activity
profile scales them hour by hour. Between these dates the equations are integrated with
``scipy.integrate.solve_ivp`` (LSODA).

Signals follow the same limit: ``value``, ``count``, ``overload`` and ``ratio`` signals are
evaluated at each instant in file order, a ``flow`` is the firing rate of its transitions,
and a moving ``average`` (half-life h) is one more equation ``dA/dt = (ln 2 / h)(X - A)``;
rates read them through ``modulated_by`` and outcome probabilities through signal
references, as in the kernel. So the flagship WeChat scenario has a mean field too.

Threshold rules (Watts, linear threshold). When a scenario's only rule is one threshold
adoption on an undirected, unweighted layer, Gleeson's degree-based approximation for
monotone binary dynamics on configuration-model graphs is used (Gleeson & Cahalane 2007;
Gleeson 2013, PRX 3:021004): with ``nu`` the chance that a neighbour reached along an
edge is active and ``F(m, k)`` the chance that ``m`` active friends out of ``k`` meet an
agent's threshold, ``drho/dt = r [rho0 + (1 - rho0) sum_k P(k) sum_m B(k, m; nu) F(m, k)
- rho]`` and the same for ``nu`` with ``k P(k) / <k>`` and ``B(k - 1, m; nu)``. Its fixed
point is the cascade condition of Watts (2002); ``method="homogeneous"`` gives every agent
the mean degree. A threshold rule beside other rules gets the *annealed* approximation
(hazard = rate x P(Binomial(k, theta) meets a freshly drawn threshold); on a complete
layer the matching share is theta itself): a first guess, not a theory.

Examples
--------
>>> import rumorsim as rs
>>> from rumorsim.meanfield import solve_meanfield
>>> sc = rs.load("classic/sir")
>>> df = solve_meanfield(sc)                                          # doctest: +SKIP
>>> df[(df.trait == "health") & (df.state == "R")].fraction.iloc[-1]  # doctest: +SKIP
0.893...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from .degreeclasses import DegreeClasses, build_network_for, degree_classes, homogeneous_classes
from .errors import MeanFieldError
from .model import _hazard_of, _JointStates, _schedule, _step_of
from .scenario import Distribution, Scenario, SignalRef

METHODS = ("homogeneous", "degree")
def _scipy():
    try:
        from scipy import integrate, special
    except ModuleNotFoundError as exc:  # pragma: no cover - scipy is in the test extra
        raise MeanFieldError(
            "the mean-field companion needs scipy",
            suggestion='Install it with: pip install "rumorsim[meanfield]"',
        ) from exc
    return integrate, special


# ------------------------------------------------------------------ the equations


def _lone_threshold(sc: Scenario) -> bool:
    """Is the scenario one threshold adoption rule alone (Gleeson's equations apply)?"""
    if len(sc.transitions) != 1 or sc.transitions[0].threshold is None:
        return False
    tr = sc.transitions[0]
    return (len(tr.from_) == 1 and set(tr.from_) == set(tr.threshold.state)
            and len(tr.outcomes) == 1 and not tr.modulated_by)


class _ThresholdTable:
    """P(threshold met) for an agent with k neighbours, each matching with chance theta.

    The *annealed* approximation used for threshold rules beside other rules: the agents
    still waiting are taken as a fresh sample of thresholds and neighbourhoods (exact
    for the first adopters; it overstates later ones, whose thresholds are higher than
    average). A non-integer k mixes the two integers around it.
    """

    def __init__(self, k: np.ndarray, spec, by_fraction: bool, special, *, complete: bool = False) -> None:
        k = np.maximum(np.asarray(k, float), 0.0)
        # On a complete layer every agent sees the population itself: the matching share
        # is theta exactly, not a binomial sample of it.
        self.complete = complete
        self.cdf = _threshold_cdf(spec, special)
        self.k = k
        self.by_fraction = by_fraction
        if complete:
            return
        lo = np.floor(k)
        self.w_hi = k - lo
        # one row per distinct integer degree (many classes share them)
        ks, inverse = np.unique(np.concatenate([lo, lo + 1]), return_inverse=True)
        inverse = inverse.ravel()
        self.row_lo, self.row_hi = inverse[: len(k)], inverse[len(k):]
        kmax = int(ks.max())
        m = np.arange(kmax + 1, dtype=float)[None, :]
        K = ks[:, None]
        cdf = _threshold_cdf(spec, special)
        with np.errstate(divide="ignore", invalid="ignore"):
            F = cdf(np.where(K > 0, m / np.maximum(K, 1), 0.0)) if by_fraction else cdf(m + 0 * K)
        if by_fraction:
            F = np.where(K > 0, F, 0.0)  # no neighbours: a fraction is never met (as the kernel)
        self.F = np.where(m <= K, F, 0.0)
        self.logc = np.where(m <= K, special.gammaln(K + 1) - special.gammaln(m + 1)
                             - special.gammaln(np.maximum(K - m, 0) + 1), -np.inf)
        self.K, self.m = K, m
        self.xlogy = special.xlogy

    def met(self, theta: float) -> np.ndarray:
        th = min(max(theta, 0.0), 1.0)
        if self.complete:
            return np.broadcast_to(self.cdf(np.asarray(th if self.by_fraction else th * self.k)),
                                   self.k.shape).astype(float)
        b = np.exp(self.logc + self.xlogy(self.m, th) + self.xlogy(np.maximum(self.K - self.m, 0), 1 - th))
        p = (b * self.F).sum(axis=1)
        return (1 - self.w_hi) * p[self.row_lo] + self.w_hi * p[self.row_hi]


class _Signals:
    """The scenario's signals in the ``dt -> 0`` limit, evaluated in file order as the kernel does.

    ``value``, ``count``, ``overload`` and ``ratio`` are instantaneous; a ``flow`` is the
    firing rate of its transitions (per unit time, agents or people); an ``average``
    (the kernel's per-step exponential moving average, half-life h) becomes an extra
    equation dA/dt = (ln 2 / h) (X - A), starting at 0 like the kernel's. Transitions read
    them through ``modulated_by`` (rate x prod max(0, 1 + gain x signal)) and through
    outcome probabilities (clipped to [0, 1]; ``rest`` takes what is left, and fixed
    shares above 1 are scaled down, as in the kernel).
    """

    def __init__(self, sc: Scenario, js: _JointStates, classes: DegreeClasses) -> None:
        self.names = list(sc.signals)
        self.specs = list(sc.signals.values())
        ppa = sc.population.people_per_agent
        n = sc.population.agents
        t_names = [t.name for t in sc.transitions]
        self.scale = np.array([n * (ppa if g.per == "people" else 1.0) for g in self.specs])
        self.mask = [js.mask(g.state).astype(float) if g.kind == "count" else None for g in self.specs]
        self.flow_of = [[t_names.index(x) for x in g.transitions] if g.kind == "flow" else []
                        for g in self.specs]
        idx = {name: i for i, name in enumerate(self.names)}
        self.ref = [(idx.get(g.capacity or g.numerator or g.of or "", -1),
                     idx.get(g.demand or g.denominator or "", -1)) for g in self.specs]
        self.averages = [i for i, g in enumerate(self.specs) if g.kind == "average"]
        self.decay = np.array([np.log(2) / self.specs[i].half_life for i in self.averages])
        mods = [(t, idx[m.signal], m.gain) for t, tr in enumerate(sc.transitions) for m in tr.modulated_by]
        self.mod_t = np.array([m[0] for m in mods], np.int64)
        self.mod_g = np.array([m[1] for m in mods], np.int64)
        self.mod_gain = np.array([m[2] for m in mods], np.float64)
        self.n_transitions = len(sc.transitions)
        self.outcomes = [[(o.p if not isinstance(o.p, SignalRef) else (idx[o.p.signal], o.p.complement))
                          for o in t.outcomes] for t in sc.transitions]
        self.signal_outcomes = {t for t, outs in enumerate(self.outcomes)
                                if any(isinstance(o, tuple) for o in outs)}
        self._fixed_probs: Dict[int, List[float]] = {t: self._probs(t, np.zeros(len(self.names))) for t in range(len(self.outcomes))
                             if t not in self.signal_outcomes}
        self.needs_flow = any(self.flow_of)
        self.any = bool(self.names)
        self.order, self.cyclic = self._plan(sc)

    def _plan(self, sc: Scenario) -> Tuple[List[int], bool]:
        """An evaluation order in which every signal comes after the ones it needs at the
        same instant (a flow needs the signals modulating its transitions); ``cyclic`` when
        there is none (a flow feeding back on itself without an average in between)."""
        idx = {name: i for i, name in enumerate(self.names)}
        deps: List[set] = []
        for g, spec in enumerate(self.specs):
            if spec.kind == "flow":
                deps.append({idx[m.signal] for t in self.flow_of[g] for m in sc.transitions[t].modulated_by})
            elif spec.kind in ("overload", "ratio"):
                deps.append({r for r in self.ref[g] if r >= 0})
            else:
                deps.append(set())  # values, counts, and averages (state variables)
        order: List[int] = []
        state = [0] * len(deps)  # 0 new, 1 on the path, 2 done

        def visit(g: int) -> bool:
            if state[g] == 1:
                return False
            if state[g] == 2:
                return True
            state[g] = 1
            ok = all(visit(d) for d in sorted(deps[g]))
            state[g] = 2
            order.append(g)
            return ok

        acyclic = all(visit(g) for g in range(len(deps)))
        return (order if acyclic else list(range(len(deps)))), not acyclic

    def evaluate(self, x: np.ndarray, avg: np.ndarray, values: np.ndarray, prob: np.ndarray,
                 firing: "callable") -> np.ndarray:
        """All signals at one instant. ``firing(sig, ts)`` gives the total firing rate (share
        of agents per unit time) of transitions ``ts`` under signals ``sig``; flows read it.
        Signals are evaluated in dependency order; a flow that feeds back on itself without
        an average in between is an algebraic loop, settled by three passes."""
        share = prob @ x                                  # (J,) share of agents per joint state
        sig = np.zeros(len(self.names))
        sig[self.averages] = avg
        for _ in range(3 if self.cyclic else 1):
            for g in self.order:
                spec = self.specs[g]
                kind = spec.kind
                if kind == "value":
                    v = values[g]
                elif kind == "count":
                    v = float(share @ self.mask[g]) * self.scale[g]
                elif kind == "flow":
                    v = float(firing(sig, self.flow_of[g]).sum()) * self.scale[g]
                elif kind == "overload":
                    cap, dem = sig[self.ref[g][0]], sig[self.ref[g][1]]
                    v = 1.0 - cap / dem if dem > 0 and cap < dem else 0.0
                elif kind == "ratio":
                    den = sig[self.ref[g][1]]
                    v = sig[self.ref[g][0]] / den if den != 0 else 0.0
                else:
                    continue  # averages are state variables
                sig[g] = v
        return sig

    def multiplier(self, sig: np.ndarray) -> np.ndarray:
        """Each transition's rate factor prod max(0, 1 + gain x signal)."""
        mult = np.ones(self.n_transitions)
        if len(self.mod_t):
            np.multiply.at(mult, self.mod_t, np.maximum(0.0, 1.0 + self.mod_gain * sig[self.mod_g]))
        return mult

    def outcome_probs(self, t: int, sig: np.ndarray) -> List[float]:
        """The outcome probabilities of transition ``t`` under signals ``sig``."""
        return self._fixed_probs[t] if t in self._fixed_probs else self._probs(t, sig)

    def _probs(self, t: int, sig: np.ndarray) -> List[float]:
        ps: List[float] = []
        for spec in self.outcomes[t]:
            if spec == "rest":
                ps.append(0.0)
            elif isinstance(spec, tuple):
                v = min(max(sig[spec[0]], 0.0), 1.0)
                ps.append(1.0 - v if spec[1] else v)
            else:
                ps.append(float(spec))
        fixed = sum(ps)
        if fixed > 1.0:
            ps = [p / fixed for p in ps]
            fixed = 1.0
        return [max(1.0 - fixed, 0.0) if spec == "rest" else p for spec, p in zip(self.outcomes[t], ps)]

    def average_rhs(self, sig: np.ndarray, avg: np.ndarray) -> np.ndarray:
        of = np.array([self.ref[i][0] for i in self.averages], np.int64)
        return self.decay * (sig[of] - avg) if len(self.averages) else np.zeros(0)


def _sure_rate(h: np.ndarray, dt: float) -> np.ndarray:
    """Infinite hazards (sure at the next step) as the rate with a mean delay of one step."""
    return np.where(np.isinf(h), 1.0 / dt, h)


def _reaches(src: np.ndarray, dst: np.ndarray, edges: np.ndarray) -> bool:
    """Can any joint state in ``src`` reach one in ``dst`` along ``edges`` (J x J bool)?"""
    seen = src.copy()
    frontier = src.copy()
    while frontier.any():
        nxt = edges[frontier].any(axis=0) & ~seen
        seen |= nxt
        frontier = nxt
    return bool((seen & dst).any())


@dataclass(frozen=True)
class _Rule:
    """One (transition, outcome) pair: who moves and where."""

    t: int
    o: int              # outcome index (its probability may follow a signal)
    src: np.ndarray     # joint states that move (match, target differs)
    dst: np.ndarray     # their targets
    counter: int        # -1: spontaneous


def _rules(sc: Scenario, js: _JointStates, classes: DegreeClasses):
    """Rules, neighbour counters (layer index, matched mask, edge weight per class) and flags."""
    J = js.n
    edges = np.zeros((J, J), bool)
    matches = []
    for tr in sc.transitions:
        m = js.mask(tr.from_).astype(bool)
        matches.append(m)
        for oc in tr.outcomes:
            tgt = js.target(oc.state)
            edges[np.nonzero(m)[0], tgt[m]] = True
    np.fill_diagonal(edges, False)
    counters: List[Tuple[int, bytes]] = []
    ctr_mask: List[np.ndarray] = []
    ctr_weight: List[np.ndarray] = []
    rules: List[_Rule] = []
    for t, tr in enumerate(sc.transitions):
        c = -1
        spec = tr.induced_by or tr.threshold
        if spec is not None:
            layer = classes.layers.index(spec.layer)
            mask = js.mask(spec.state).astype(bool)
            corrected = (tr.induced_by is not None and bool(classes.exact[layer])
                         and not _reaches(mask, matches[t], edges))
            key = (layer, mask.tobytes() + bytes([corrected]))
            if key not in counters:
                counters.append(key)
                ctr_mask.append(mask)
                out = classes.d_out[:, layer]
                w = np.maximum(out - 1.0, 0.0) if corrected else out
                total = float(classes.prob @ out)
                ctr_weight.append(classes.prob * w / total if total > 0 else np.zeros_like(out))
            c = counters.index(key)
        for o, oc in enumerate(tr.outcomes):
            tgt = js.target(oc.state)
            src = np.nonzero(matches[t] & (tgt != np.arange(J)))[0]
            rules.append(_Rule(t, o, src, tgt[src], c))
    ctr_layer = np.array([k[0] for k in counters], np.int64)
    return rules, ctr_layer, ctr_mask, ctr_weight


def _hazards(sc: Scenario) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Segment start times, per-segment hazards and value signals (the kernel's own
    schedule), and the transitions that follow the daily activity profile."""
    dt = sc.time.dt
    base = np.array([
        _hazard_of(t.probability if t.probability is not None else (t.rate if t.rate is not None else np.inf),
                   t.probability is not None, dt) if not (t.threshold is not None and t.rate is None
                                                          and t.probability is None) else np.inf
        for t in sc.transitions], np.float64)
    values = np.array([g.value if g.kind == "value" else 0.0 for g in sc.signals.values()], np.float64)
    starts, seg_hazard, seg_value = _schedule(sc, base, values, [t.name for t in sc.transitions],
                                              list(sc.signals))
    activity = np.array([t.daily_activity and sc.time.daily_activity is not None
                         for t in sc.transitions], bool)
    return starts * dt, _sure_rate(seg_hazard, dt), seg_value, activity


def _activity_at(sc: Scenario, t: float) -> float:
    hpu = sc.time.hours_per_unit
    start = sc.time.start
    h0 = start.hour + start.minute / 60 if start is not None else 0.0
    return float(sc.time.daily_activity[int(np.floor(h0 + t * hpu + 1e-9)) % 24])


def _hour_boundaries(sc: Scenario, end: float) -> List[float]:
    if sc.time.daily_activity is None:
        return []
    hpu = sc.time.hours_per_unit
    start = sc.time.start
    h0 = start.hour + start.minute / 60 if start is not None else 0.0
    first = np.floor(h0) + 1
    hours = np.arange(first, h0 + end * hpu + 1e-9, 1.0)
    return list((hours - h0) / hpu)


# ---------------------------------------------------------------- seeds, broadcasts


@dataclass(frozen=True)
class _Jump:
    """A seed or broadcast as the ODE sees it: at ``time``, a share of eligible agents moves."""

    time: float
    among: np.ndarray                 # (J,) eligible joint states
    count: Optional[float]            # agents wanted (capped at the eligible), or None
    share: Optional[float]            # share of the eligible (fraction, or Bernoulli reach)
    top_layer: Optional[int]          # fill the highest-degree classes first on this layer
    top_agents: Optional[float]       # ... over this many agents
    effects: Tuple[Tuple[np.ndarray, np.ndarray, float], ...]   # (from mask, target, p)


def _jumps(sc: Scenario, js: _JointStates, classes: DegreeClasses, degree: bool) -> List[_Jump]:
    dt = sc.time.dt
    n = sc.population.agents
    everyone = np.ones(js.n, bool)
    layers = list(sc.network.layers)
    out: List[Tuple[float, int, _Jump]] = []

    def add(at: float, order: int, among, count, share, effects, top: Optional[Tuple[str, float]] = None) -> None:
        mask = everyone if among is None else js.mask(among).astype(bool)
        top_layer = top_agents = None
        if top is not None and degree:
            top_layer = layers.index(top[0]) if top[0] else 0
            top_agents = top[1]
        out.append((_step_of(at, dt) * dt, order, _Jump(_step_of(at, dt) * dt, mask, count, share,
                                                        top_layer, top_agents, tuple(effects))))

    seeds = [(s, 0) for s in sc.seed] + [(iv.as_seed(name), 1)
                                          for name, iv in sc.interventions.items() if iv.kind == "seed"]
    for s, order in seeds:
        eff = [(everyone, js.target(s.state), 1.0)]
        if s.strategy == "ids":
            add(s.at, order, s.among, float(len(s.ids)), None, eff)
        elif s.strategy == "top_degree":
            k = s.count if s.count is not None else int(round(s.fraction * n))
            add(s.at, order, s.among, float(k), None, eff, top=(s.layer, float(k)))
        elif s.strategy == "community":
            size = _community_share(sc, s.layer, s.community) * n
            count = s.count if s.count is not None else s.fraction * size
            add(s.at, order, s.among, float(min(count, size)), None, eff)
        else:
            add(s.at, order, s.among, None if s.count is None else float(s.count), s.fraction, eff)
    for name, iv in sc.interventions.items():
        if iv.kind != "broadcast":
            continue
        times = [iv.at]
        if iv.every is not None:
            end = iv.until if iv.until is not None else sc.time.until
            times = list(np.arange(iv.at, end + 1e-9, iv.every))
        eff = [(js.mask(e.from_).astype(bool), js.target(e.to), e.p) for e in iv.effects]
        among = iv.state if iv.select == "in_state" else None
        for at in times:
            if iv.select == "top_degree":
                # As the kernel does: the top reach x N agents by degree, every one reached.
                if degree:
                    add(at, 1, among, None, 1.0, eff, top=(iv.layer, iv.reach * n))
                else:
                    add(at, 1, among, None, iv.reach, eff)
            elif iv.select == "community":
                add(at, 1, among, None, iv.reach * _community_share(sc, iv.layer, iv.community), eff)
            else:
                add(at, 1, among, None, iv.reach, eff)
    out.sort(key=lambda x: (x[0], x[1]))
    return [j for _, _, j in out]


def _community_share(sc: Scenario, layer: Optional[str], community: Optional[int]) -> float:
    for name, spec in sc.network.layers.items():
        if (layer is None or name == layer) and spec.blocks is not None:
            if community is not None and 0 <= community < len(spec.blocks):
                return float(spec.blocks[community])
    return 0.0


def _apply_jump(x: np.ndarray, jump: _Jump, classes: DegreeClasses, n: int) -> np.ndarray:
    """The state after a seed or broadcast: x is (C, J), rows summing to 1."""
    C = x.shape[0]
    listed = np.ones(C)  # share of each class that is on the event's list
    if jump.top_layer is not None:
        order = np.argsort(-classes.d_in[:, jump.top_layer], kind="stable")
        left = jump.top_agents / n
        listed = np.zeros(C)
        for c in order:
            take = min(classes.prob[c], left)
            listed[c] = take / classes.prob[c] if classes.prob[c] > 0 else 0.0
            left -= take
            if left <= 0:
                break
    elig = x * jump.among[None, :] * listed[:, None]          # (C, J) eligible share of each class
    mass = float(classes.prob @ elig.sum(axis=1))             # eligible share of all agents
    if mass <= 0:
        return x
    if jump.count is not None:
        q = min(jump.count / n, mass) / mass
    else:
        q = min(jump.share, 1.0)
    chosen = elig * q
    new = x.copy()
    done = np.zeros(x.shape[1], bool)
    for from_mask, target, p in jump.effects:
        for s in np.nonzero(from_mask & ~done)[0]:
            moved = chosen[:, s] * p
            new[:, s] -= moved
            new[:, target[s]] += moved
        done |= from_mask
    return new


# ------------------------------------------------------------------ integration


def _default_times(sc: Scenario) -> np.ndarray:
    dt = sc.time.dt
    n_steps = sc.time.n_steps
    every = max(1, int(round(sc.time.report_interval / dt)))
    steps = np.arange(0, n_steps + 1, every)
    if steps[-1] != n_steps:
        steps = np.append(steps, n_steps)
    return steps * dt


def _tidy(sc: Scenario, js: _JointStates, times: np.ndarray, joint: np.ndarray) -> pd.DataFrame:
    """(time, joint-state share) -> long table of trait marginals."""
    people = float(sc.population.represents or sc.population.agents)
    frames = []
    for k, (trait, states) in enumerate(sc.traits.items()):
        for i, state in enumerate(states):
            # clipped: the integrator may undershoot an emptied state by ~1e-12
            frac = np.clip(joint[:, js.table[:, k] == i].sum(axis=1), 0.0, 1.0)
            frames.append(pd.DataFrame({"time": times, "trait": trait, "state": state,
                                        "fraction": frac, "people": frac * people}))
    df = pd.concat(frames, ignore_index=True)
    return df.sort_values(["time", "trait"], kind="stable").reset_index(drop=True)


def solve_meanfield(scenario: Scenario, *, times: Optional[Sequence[float]] = None,
                    method: str = "homogeneous", network: "object" = None) -> pd.DataFrame:
    """Integrate the scenario's mean-field equations.

    Parameters
    ----------
    scenario : a validated Scenario (``rumorsim.load``).
    times : output times in the scenario's unit (default: its reporting grid, 0 to ``until``).
    method : ``"homogeneous"`` (every agent has the layers' mean degrees) or ``"degree"``
        (heterogeneous mean field over the degree classes of the built network).
    network : a built ``rumorsim.network.Network`` to take degrees from (default: the one
        the scenario's seed builds, when degrees are needed).

    Returns
    -------
    DataFrame with columns ``time, trait, state, fraction, people``: per trait, the share
    of agents in each state and the real people it stands for (``population.represents``).

    Raises
    ------
    MeanFieldError
        An unknown ``method``, bad ``times``, or a lone threshold rule on a layer
        Gleeson's equations do not cover (directed or weighted).
    """
    if method not in METHODS:
        raise MeanFieldError(f"unknown mean-field method `{method}`", field="method",
                             found=method, expected=" or ".join(METHODS))
    sc = scenario
    t_out = _default_times(sc) if times is None else np.asarray(times, np.float64)
    if t_out.ndim != 1 or len(t_out) == 0 or (t_out < 0).any() or (np.diff(t_out) < 0).any():
        raise MeanFieldError("`times` must be a non-empty increasing list of times >= 0",
                             field="times")
    js = _JointStates(sc.traits)
    if _lone_threshold(sc):
        joint = _solve_threshold(sc, js, t_out, method, network)
    else:
        classes = degree_classes(sc, network) if method == "degree" else homogeneous_classes(sc, network)
        joint = _integrate(sc, js, classes, t_out, degree=method == "degree")
    df = _tidy(sc, js, t_out, joint)
    df.attrs["method"] = method  # for legends (a CSV keeps only the columns)
    return df


def _integrate(sc: Scenario, js: _JointStates, classes: DegreeClasses, t_out: np.ndarray,
               *, degree: bool) -> np.ndarray:
    integrate, _ = _scipy()
    n = sc.population.agents
    C, J = classes.n, js.n
    rules, ctr_layer, ctr_mask, ctr_weight = _rules(sc, js, classes)
    seg_t, seg_h, seg_v, follows_day = _hazards(sc)
    sigs = _Signals(sc, js, classes)
    jumps = _jumps(sc, js, classes, degree)
    end = float(t_out[-1])
    cuts = sorted({0.0, end, *[float(s) for s in seg_t if s < end], *[j.time for j in jumps if j.time < end],
                   *[b for b in _hour_boundaries(sc, end) if b < end]})
    ctr_mask_a = np.array(ctr_mask, np.float64).reshape(len(ctr_mask), J)
    ctr_w = np.array(ctr_weight).reshape(len(ctr_weight), C)
    ctr_d_in = classes.d_in[:, ctr_layer] if len(ctr_layer) else np.zeros((C, 0))
    prob = classes.prob
    T = len(sc.transitions)
    match = np.array([js.mask(t.from_) for t in sc.transitions], np.float64).reshape(T, J)
    counter_of = np.array([next((r.counter for r in rules if r.t == t), -1) for t in range(T)])
    A = len(sigs.averages)

    # Each rule's moves as a (moved states x J) matrix: -1 where an agent leaves, +1 where it lands.
    # All rules' moves stacked: entry e moves agents of state src[e] by rule rule_of[e];
    # moves[e] is -1 where they leave and +1 where they land, so dx = flows @ moves.
    rule_of = np.concatenate([np.full(len(r.src), i) for i, r in enumerate(rules)] + [np.zeros(0, int)])
    all_src = np.concatenate([r.src for r in rules] + [np.zeros(0, int)]).astype(np.int64)
    all_dst = np.concatenate([r.dst for r in rules] + [np.zeros(0, int)]).astype(np.int64)
    moves = np.zeros((len(all_src), J))
    moves[np.arange(len(all_src)), all_src] -= 1.0
    moves[np.arange(len(all_src)), all_dst] += 1.0
    rule_t = np.array([r.t for r in rules], np.int64)
    rule_o = np.array([r.o for r in rules], np.int64)
    live_signal_rules = [i for i, r in enumerate(rules) if r.t in sigs.signal_outcomes]
    rule_p = np.array([sigs.outcome_probs(r.t, np.zeros(len(sigs.names)))[r.o] for r in rules])

    _, special = _scipy()
    thresholds = {}
    for t, tr in enumerate(sc.transitions):
        if tr.threshold is not None:
            layer = classes.layers.index(tr.threshold.layer)
            by_fraction = tr.threshold.fraction is not None
            thresholds[t] = _ThresholdTable(
                classes.d_in[:, layer],  # neighbours (in-strength on weighted layers)
                tr.threshold.fraction if by_fraction else tr.threshold.count, by_fraction, special,
                complete=sc.network.layers[tr.threshold.layer].generator == "complete")

    induced = np.array([c >= 0 and t not in thresholds for t, c in enumerate(counter_of)])
    ind_t = np.nonzero(induced)[0]
    ind_c = counter_of[ind_t]

    def per_class_rates(theta: np.ndarray, pressure: np.ndarray, h: np.ndarray,
                        mult: np.ndarray) -> np.ndarray:
        """(T, C) hazard of each transition for an agent of each class that matches it."""
        out = np.repeat((h * mult)[:, None], C, axis=1)
        out[ind_t] *= pressure[:, ind_c].T
        for t, table in thresholds.items():
            out[t] *= table.met(theta[counter_of[t]])
        return out

    def rhs(_t: float, y: np.ndarray, h: np.ndarray, values: np.ndarray) -> np.ndarray:
        x = y[: C * J].reshape(C, J)
        avg = y[C * J:]
        # theta[k]: chance that the agent at the end of an edge matches counter k
        theta = np.einsum("kc,cj,kj->k", ctr_w, x, ctr_mask_a)
        pressure = ctr_d_in * theta  # (C, K) expected matching neighbours per class
        if sigs.any:
            def firing(sig: np.ndarray, ts: List[int]) -> np.ndarray:  # agents' share per unit time
                haz = per_class_rates(theta, pressure, h, sigs.multiplier(sig))[ts]
                return np.einsum("tc,c,cj,tj->t", haz, prob, x, match[ts])

            sig = sigs.evaluate(x, avg, values, prob, firing)
            mult = sigs.multiplier(sig)
        else:
            sig = np.zeros(0)
            mult = np.ones(T)
        haz = per_class_rates(theta, pressure, h, mult)
        p = rule_p
        if live_signal_rules:
            p = rule_p.copy()
            probs = {t: sigs.outcome_probs(t, sig) for t in sigs.signal_outcomes}
            for i in live_signal_rules:
                p[i] = probs[rule_t[i]][rule_o[i]]
        coef = haz[rule_t] * p[:, None]                   # (rules, C)
        dx = (x[:, all_src] * coef[rule_of].T) @ moves    # (C, J)
        return np.concatenate([dx.ravel(), sigs.average_rhs(sig, avg) if A else np.zeros(0)])

    x = np.zeros((C, J))
    x[:, 0] = 1.0  # everyone starts in the first state of every trait
    avg = np.zeros(A)  # moving averages start at 0, as in the kernel
    out = np.full((len(t_out), C, J), np.nan)
    jump_i = 0
    for a, b in zip(cuts, cuts[1:] + [np.inf]):
        while jump_i < len(jumps) and jumps[jump_i].time <= a + 1e-12:
            x = _apply_jump(x, jumps[jump_i], classes, n)
            jump_i += 1
        seg = max(int(np.searchsorted(seg_t, a + 1e-12, side="right")) - 1, 0)
        h = seg_h[seg].copy()
        if follows_day.any():
            h[follows_day] *= _activity_at(sc, a)
        here = (t_out >= a - 1e-12) & (t_out < b - 1e-12) if np.isfinite(b) else (t_out >= a - 1e-12)
        if not np.isfinite(b):
            out[here] = x
            break
        t_eval = np.append(np.clip(t_out[here], a, b), b)
        sol = integrate.solve_ivp(rhs, (a, b), np.concatenate([x.ravel(), avg]), method="LSODA",
                                  args=(h, seg_v[seg]), t_eval=t_eval, rtol=1e-8, atol=1e-11)
        if not sol.success:  # pragma: no cover - LSODA on these bounded systems
            raise MeanFieldError(f"the mean-field integration failed: {sol.message}")
        out[here] = sol.y[: C * J, :-1].T.reshape(-1, C, J)
        x = sol.y[: C * J, -1].reshape(C, J)
        avg = sol.y[C * J:, -1]
    # weight the classes: shares of all agents per joint state
    return np.einsum("c,tcj->tj", classes.prob, out)


# ------------------------------------------------------------------ threshold rules


def _threshold_cdf(spec, special) -> "callable":
    """P(threshold <= v) for the rule's per-agent threshold (with the kernel's tolerance)."""
    if not isinstance(spec, Distribution):
        value = float(spec)
        return lambda v: (v >= value - 1e-9).astype(float)
    d = spec.distribution
    if d == "fixed":
        return lambda v: (v >= spec.value - 1e-9).astype(float)
    if d == "uniform":
        if spec.high == spec.low:
            return lambda v: (v >= spec.low - 1e-9).astype(float)
        return lambda v: np.clip((v - spec.low) / (spec.high - spec.low), 0.0, 1.0)
    if d == "normal":
        if spec.sd == 0:
            return lambda v: (v >= spec.mean - 1e-9).astype(float)
        return lambda v: special.ndtr((v - spec.mean) / spec.sd)
    return lambda v: np.where(v > 0, special.ndtr((np.log(np.maximum(v, 1e-300)) - spec.mean)
                                                  / max(spec.sd, 1e-300)), 0.0)


def _solve_threshold(sc: Scenario, js: _JointStates, t_out: np.ndarray, method: str,
                     network) -> np.ndarray:
    """Gleeson's monotone-dynamics equations for the scenario's one threshold rule."""
    integrate, special = _scipy()
    tr = sc.transitions[0]
    thr = tr.threshold
    layer_spec = sc.network.layers[thr.layer]
    if layer_spec.directed or layer_spec.weight != 1.0 or layer_spec.weighted:
        raise MeanFieldError(
            "Gleeson's threshold approximation needs an undirected, unweighted layer",
            file=sc.source, field=f"network.layers.{thr.layer}",
        )
    n = sc.population.agents
    late = [s for _, s in sc.all_seeds() if s.at > 0]
    if late or any(iv.kind == "broadcast" for iv in sc.interventions.values()):
        raise MeanFieldError(
            "Gleeson's threshold approximation takes initial seeds only (no later seeds or "
            "broadcasts)", file=sc.source, field="interventions",
        )
    # degree distribution
    if method == "degree":
        net = network if network is not None else build_network_for(sc)
        deg = net.layer(thr.layer).degree()
        ks, counts = np.unique(deg, return_counts=True)
        pk = counts / counts.sum()
    else:
        mean = homogeneous_classes(sc, network).d_in[0, list(sc.network.layers).index(thr.layer)]
        lo = int(np.floor(mean))
        ks = np.array([lo, lo + 1])
        pk = np.array([lo + 1 - mean, mean - lo])
    # seeds: the active share at t = 0 (random choice)
    trait = next(iter(tr.from_))
    states = sc.traits[trait]
    active = states.index(tr.outcomes[0].state[trait])
    counted = thr.state[trait]
    counted = [counted] if isinstance(counted, str) else list(counted)
    if [states[active]] != counted:
        raise MeanFieldError("Gleeson's threshold approximation needs the rule to count the "
                             "state it moves agents to", file=sc.source, field="transitions[0].threshold.state")
    rho0 = 0.0
    for _, s in sc.all_seeds():
        if s.state.get(trait) == states[active]:
            k = s.count if s.count is not None else (len(s.ids) if s.ids else s.fraction * n * (1 - rho0))
            rho0 += k / n
    rho0 = min(rho0, 1.0)
    cdf = _threshold_cdf(thr.fraction if thr.fraction is not None else thr.count, special)
    by_fraction = thr.fraction is not None
    kmax = int(ks.max())
    m = np.arange(kmax + 1)

    def F(k: int, mm: np.ndarray) -> np.ndarray:
        if by_fraction:
            return cdf(mm / k) if k > 0 else np.zeros(len(mm))
        return cdf(mm.astype(float))

    z = float(pk @ ks)
    rate = float(_hazards(sc)[1][0, 0])
    # Binomial weights B(k, m; nu) for every class on one (class, m) grid:
    # log C(k, m) once, then m log nu + (k - m) log(1 - nu) per evaluation.
    gammaln, xlogy = special.gammaln, special.xlogy
    K = ks.astype(np.float64)[:, None]
    M = m.astype(np.float64)[None, :]
    F_km = np.array([np.pad(F(int(k), m[: int(k) + 1]), (0, kmax - int(k))) for k in ks])
    valid = M <= K                      # m <= k
    valid1 = M <= K - 1                 # m <= k - 1 (the edge we came along excluded)
    logc = np.where(valid, gammaln(K + 1) - gammaln(M + 1) - gammaln(np.maximum(K - M, 0) + 1), -np.inf)
    logc1 = np.where(valid1, gammaln(K) - gammaln(M + 1) - gammaln(np.maximum(K - 1 - M, 0) + 1), -np.inf)
    w_nu = ks * pk / z if z > 0 else np.zeros_like(pk)

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        rho, nu = y
        nu = min(max(nu, 0.0), 1.0)
        b = np.exp(logc + xlogy(M, nu) + xlogy(np.maximum(K - M, 0), 1 - nu))
        b1 = np.exp(logc1 + xlogy(M, nu) + xlogy(np.maximum(K - 1 - M, 0), 1 - nu))
        g_rho = pk @ (b * F_km).sum(axis=1)
        g_nu = w_nu @ (b1 * F_km).sum(axis=1)
        return [rate * (rho0 + (1 - rho0) * g_rho - rho), rate * (rho0 + (1 - rho0) * g_nu - nu)]

    sol = integrate.solve_ivp(rhs, (0.0, float(t_out[-1]) or 1e-9), [rho0, rho0], method="LSODA",
                              t_eval=t_out, rtol=1e-8, atol=1e-11)
    rho = np.clip(sol.y[0], 0.0, 1.0)
    joint = np.zeros((len(t_out), js.n))
    stride = js.strides[js.names.index(trait)]
    joint[:, 0] = 1.0 - rho
    joint[:, active * stride] = rho
    return joint
